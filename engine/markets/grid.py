"""Scoreline grids per posterior draw: Poisson pmfs, Dixon-Coles cells, lines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

MAX_RATE = 100.0
"""Largest goal rate accepted; anything above is a broken link function."""


@dataclass(frozen=True)
class Chunk:
    """Marginal pmfs of some fixtures on a ``0..N`` grid, per draw.

    The pmfs are goal-major, ``(N+1, n_draws, c)``, so building them and
    reducing over goals run on contiguous memory.
    """

    home_pmf: np.ndarray
    away_pmf: np.ndarray
    low_cells: np.ndarray | None
    mass: np.ndarray

    @property
    def goals(self) -> np.ndarray:
        """Goal counts ``0..N`` of the grid."""
        return np.arange(self.home_pmf.shape[0])

    def expect(self, weight: np.ndarray) -> np.ndarray:
        """Per-draw expectation of a ``(N+1, N+1)`` weight, ``(n_draws, c)``."""
        size = self.home_pmf.shape[0]
        home = self.home_pmf.reshape(size, -1)
        away = self.away_pmf.reshape(size, -1)
        value = np.einsum("ik,ik->k", home, weight @ away).reshape(self.mass.shape)

        if self.low_cells is not None:
            value += np.einsum("dcij,ij->dc", self.low_cells, weight[:2, :2])
        return value / self.mass

    def cells(self, size: int) -> np.ndarray:
        """Per-draw scoreline probabilities up to ``size - 1`` goals a side."""
        home, away = self.home_pmf[:size], self.away_pmf[:size]
        cells = np.einsum("hdc,adc->dcha", home, away)
        if self.low_cells is not None:
            cells[..., :2, :2] += self.low_cells
        return cells / self.mass[..., None, None]

    def mean_cells(self) -> np.ndarray:
        """Posterior mean grid ``(c, N+1, N+1)`` over the whole ``0..N`` range."""
        home = (self.home_pmf / self.mass).transpose(2, 0, 1)
        grid = home @ self.away_pmf.transpose(2, 1, 0) / self.mass.shape[0]
        if self.low_cells is not None:
            grid[:, :2, :2] += (self.low_cells / self.mass[..., None, None]).mean(0)
        return grid


def settle(margin: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """Stake shares (win, push, lose) of ``margin + part`` split over ``parts``."""
    settled = margin[None] + parts[:, None, None]
    shares = [settled > 0, settled == 0, settled < 0]
    return np.stack([share.mean(axis=0) for share in shares])


def line_parts(line: float) -> np.ndarray:
    """Split a quarter line into its two neighbours; other lines stay whole."""
    quarters = float(line) * 4.0
    if not np.isfinite(quarters) or abs(quarters - round(quarters)) > 1e-9:
        raise ValueError(
            f"expected a goals line in steps of 0.25 (2.5, 3.0, 2.25), got {line}"
        )
    q = round(quarters)
    if q % 2:
        return np.array([(q - 1) / 4.0, (q + 1) / 4.0])
    return np.array([q / 4.0])


def grid_goals(max_rate: float, least: int, tolerance: float) -> int:
    """Smallest ``N >= least`` with P(X > N) <= tolerance / 2 at ``max_rate``."""
    top = int(max_rate + 40.0 * np.sqrt(max_rate) + 60.0)
    candidates = np.arange(least, max(top, least + 1))
    tails = special.pdtrc(candidates, max_rate)
    inside = np.flatnonzero(tails <= tolerance / 2.0)
    return int(candidates[inside[0]] if inside.size else candidates[-1])


def poisson_pmf(rate: np.ndarray, size: int) -> np.ndarray:
    """P(X = 0..size) for every rate, goal-major: ``(size + 1, *rate.shape)``."""
    pmf = np.empty((size + 1, *rate.shape))
    np.exp(-rate, out=pmf[0])
    for goals in range(1, size + 1):
        np.multiply(pmf[goals - 1], rate, out=pmf[goals])
        pmf[goals] /= goals
    return pmf


def tau_shifts(
    home_rate: np.ndarray, away_rate: np.ndarray, rho: np.ndarray
) -> dict[tuple[int, int], np.ndarray]:
    """``tau(h, a) - 1`` of Dixon and Coles (1997) for the four low cells."""
    return {
        (0, 0): -home_rate * away_rate * rho,
        (0, 1): home_rate * rho,
        (1, 0): away_rate * rho,
        (1, 1): -rho,
    }


def low_cell_shifts(
    home: np.ndarray,
    away: np.ndarray,
    home_rate: np.ndarray,
    away_rate: np.ndarray,
    rho: np.ndarray,
) -> np.ndarray:
    """``P(h, a) (tau(h, a) - 1)`` for h, a in {0, 1}, shape ``(..., 2, 2)``."""
    shifts = np.empty((*home_rate.shape, 2, 2))
    for (h, a), shift in tau_shifts(home_rate, away_rate, rho).items():
        shifts[..., h, a] = home[h] * away[a] * shift
    return shifts


def top_cells(chunk: Chunk, k: int) -> tuple[np.ndarray, ...]:
    """Goals and per-draw probabilities of the ``k`` likeliest cells per fixture."""
    grid = chunk.mean_cells()
    n_cols, size, _ = grid.shape
    order = np.argsort(-grid.reshape(n_cols, -1), axis=1, kind="stable")[:, :k]
    home, away = np.divmod(order, size)

    cols = np.arange(n_cols)[:, None]
    draws = chunk.home_pmf[home, :, cols] * chunk.away_pmf[away, :, cols]
    draws = draws.transpose(2, 0, 1)
    if chunk.low_cells is not None:
        low = (home < 2) & (away < 2)
        shift = chunk.low_cells[:, cols, np.minimum(home, 1), np.minimum(away, 1)]
        draws += np.where(low, shift, 0.0)
    return home, away, draws / chunk.mass[..., None]


def as_rates(values: Any, name: str) -> np.ndarray:
    """Return ``values`` as a finite, positive ``(n_draws, n_fixtures)`` array."""
    rates = np.asarray(values, dtype=np.float64)
    if rates.ndim != 2 or 0 in rates.shape:
        raise ValueError(
            f"expected {name} of shape (n_draws, n_fixtures), got {rates.shape}; "
            f"a single draw is rates[None, :]"
        )
    bad = ~(np.isfinite(rates) & (rates > 0) & (rates <= MAX_RATE))
    if bad.any():
        draw, fixture = np.argwhere(bad)[0]
        raise ValueError(
            f"expected {name} finite and in (0, {MAX_RATE:g}], got "
            f"{rates[draw, fixture]!r} at fixture {fixture} (draw {draw})"
        )
    return rates


def as_rho(values: Any, shape: tuple[int, int]) -> np.ndarray | None:
    """Return Dixon-Coles ``rho`` broadcast to ``shape``, or None."""
    if values is None:
        return None
    rho = np.asarray(values, dtype=np.float64)
    if rho.shape == shape[:1]:
        rho = rho[:, None]
    elif rho.shape != shape:
        raise ValueError(
            f"expected rho of shape ({shape[0]},) or {shape}, got {rho.shape}"
        )
    if not np.isfinite(rho).all():
        raise ValueError(f"expected finite rho, got {rho[~np.isfinite(rho)][0]!r}")
    return np.broadcast_to(rho, shape)


def check_tau(home_rate: np.ndarray, away_rate: np.ndarray, rho: np.ndarray) -> None:
    """Raise when any Dixon-Coles factor of the four low cells is negative."""
    for (h, a), shift in tau_shifts(home_rate, away_rate, rho).items():
        tau = 1.0 + np.broadcast_to(shift, home_rate.shape)
        if (tau < 0).any():
            draw, fixture = np.argwhere(tau < 0)[0]
            raise ValueError(
                f"expected Dixon-Coles tau >= 0, got tau({h},{a}) = "
                f"{tau[draw, fixture]:.6g} at fixture {fixture} (draw {draw}, "
                f"rho {rho[draw, fixture]:.6g}); bound rho in the model"
            )


def check_count(value: int, name: str, *, minimum: int) -> int:
    """Return ``value`` when an integer of at least ``minimum``, else raise."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"expected {name} as an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"expected {name} >= {minimum}, got {value}")
    return int(value)
