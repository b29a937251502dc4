"""Posterior markets of fixtures, read from draws of the goal rates.

A fixture's score is two Poisson counts, home goals ``h`` with rate ``λ`` and
away goals ``a`` with rate ``μ``, optionally joined by the correction of Dixon
and Coles (1997, *Applied Statistics* 46(2), 265-280), which multiplies the four
low scorelines by

    tau(0, 0) = 1 - λμρ,  tau(0, 1) = 1 + λρ,  tau(1, 0) = 1 + μρ,  tau(1, 1) = 1 - ρ

and leaves every other scoreline (and both marginal distributions) unchanged.

Every market is the expectation of a settlement weight ``w(h, a)`` over that
distribution, evaluated once per posterior draw, so the spread across draws is
the posterior uncertainty of the probability itself. Each market comes back as
a :class:`MarketEstimate`: posterior mean, credible interval, fair odds and the
per-draw values.

Tail mass
    Markets are evaluated on a grid of ``0..N`` goals a side, with ``N`` at least
    ``max_goals`` and large enough that the Poisson mass beyond it is below
    ``tail_tolerance`` (1e-12 by default) for the largest rate in the chunk of
    fixtures at hand. The grid is renormalised to total one per draw (which is
    also the Dixon-Coles renormalisation), so the outcomes of every market sum
    to one up to rounding, and no probability is off the infinite-grid value by
    more than about the tolerance. A win by 11-10 counts as a home win, not as
    lost mass. Only the displayed grid (:class:`ScorelineGrid`) stops at
    ``max_goals``; it carries the rest explicitly as ``more``.

Lines
    Totals and Asian handicaps take any line in steps of 0.25 and report stake
    shares: the expected fraction of the stake settled as a win, a refund
    (``push``) or a loss. On a half line (2.5) these are plain probabilities and
    ``push`` is zero. On a whole line (3.0) ``over`` is P(total > 3), ``push`` is
    P(total = 3) and ``under`` is P(total < 3). A quarter line (2.25) splits the
    stake over the two neighbouring lines (2.0 and 2.5), so its shares are the
    averages of theirs: a total of 2 is half refunded, half lost. Fair odds of a
    side are the decimal price with zero expected profit, ``1 + lose / win``,
    which is ``1 / p`` on half lines.

Memory
    Nothing of size ``n_draws × n_fixtures × grid`` is ever held: fixtures are
    processed in chunks of about ``chunk_bytes`` and each market keeps only its
    ``(n_draws, n_fixtures)`` per-draw values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Self

import numpy as np
from scipy import special

MAX_RATE = 100.0
"""Largest goal rate accepted; anything above is a broken link function."""

Weights = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class PosteriorEstimate:
    """A posterior quantity per fixture: mean, credible interval and draws.

    Attributes
    ----------
    mean : numpy.ndarray
        Posterior mean, shape ``(n_fixtures,)`` (or ``(n_fixtures, k)``).
    lower, upper : numpy.ndarray
        Equal-tailed credible interval at ``level``, same shape as ``mean``.
    draws : numpy.ndarray
        The value in every posterior draw, shape ``(n_draws, *mean.shape)``.
    level : float
        Credible level of ``lower`` and ``upper`` (0.9 gives the 5 % and 95 %
        quantiles).
    """

    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    draws: np.ndarray = field(repr=False)
    level: float

    @classmethod
    def from_draws(cls, draws: np.ndarray, level: float) -> Self:
        """Summarise per-draw values; the draw axis is the first."""
        lower, upper = np.quantile(draws, _quantiles(level), axis=0)
        arrays = [_frozen(a) for a in (draws.mean(axis=0), lower, upper, draws)]
        return cls(*arrays, level=level)

    def interval(self, level: float) -> tuple[np.ndarray, np.ndarray]:
        """Return the equal-tailed credible interval at another ``level``."""
        quantiles = _quantiles(_check_between(level, "level", 0.0, 1.0))
        lower, upper = np.quantile(self.draws, quantiles, axis=0)
        return lower, upper


@dataclass(frozen=True)
class MarketEstimate(PosteriorEstimate):
    """The posterior probability of a market outcome.

    ``mean`` is the posterior predictive probability; ``fair_odds`` prices it.
    """

    @property
    def fair_odds(self) -> np.ndarray:
        """Decimal odds with zero expected profit, ``1 / mean`` (inf at 0)."""
        with np.errstate(divide="ignore"):
            return 1.0 / self.mean


@dataclass(frozen=True)
class TotalsMarket:
    """Over/under at one goals line, as stake shares (see the module notes).

    Attributes
    ----------
    line : float
        Goals line, a multiple of 0.25.
    over, push, under : MarketEstimate
        Expected fraction of the stake won by over, refunded, and won by
        under; they sum to one per draw.
    """

    line: float
    over: MarketEstimate
    push: MarketEstimate
    under: MarketEstimate

    @property
    def fair_over(self) -> np.ndarray:
        """Zero-profit decimal price of over, ``1 + under / over``."""
        return _fair_price(self.over.mean, self.under.mean)

    @property
    def fair_under(self) -> np.ndarray:
        """Zero-profit decimal price of under, ``1 + over / under``."""
        return _fair_price(self.under.mean, self.over.mean)


@dataclass(frozen=True)
class HandicapMarket:
    """Asian handicap with the home side given ``line`` goals, as stake shares.

    A line of -0.5 means the home side must win; +1.0 means the home side is
    refunded on a one-goal defeat. The away side holds the opposite line.

    Attributes
    ----------
    line : float
        Handicap added to the home side's goals, a multiple of 0.25.
    home, push, away : MarketEstimate
        Expected fraction of the stake won by the home side, refunded, and won
        by the away side; they sum to one per draw.
    """

    line: float
    home: MarketEstimate
    push: MarketEstimate
    away: MarketEstimate

    @property
    def fair_home(self) -> np.ndarray:
        """Zero-profit decimal price of the home side, ``1 + away / home``."""
        return _fair_price(self.home.mean, self.away.mean)

    @property
    def fair_away(self) -> np.ndarray:
        """Zero-profit decimal price of the away side, ``1 + home / away``."""
        return _fair_price(self.away.mean, self.home.mean)


@dataclass(frozen=True)
class ScorelineGrid:
    """Scoreline probabilities up to ``max_goals`` a side, and the rest.

    Attributes
    ----------
    cells : numpy.ndarray
        ``cells[..., h, a]`` = P(home_goals = h, away_goals = a), shape
        ``(..., max_goals + 1, max_goals + 1)``.
    more : numpy.ndarray
        P(either side scores more than ``max_goals``), so that
        ``cells.sum((-2, -1)) + more`` is one.
    """

    cells: np.ndarray
    more: np.ndarray

    @property
    def max_goals(self) -> int:
        """Largest goal count with its own cell."""
        return self.cells.shape[-1] - 1


@dataclass(frozen=True)
class ScorelinePicks:
    """The most likely scorelines of each fixture, most likely first.

    Attributes
    ----------
    home_goals, away_goals : numpy.ndarray
        Integer arrays of shape ``(n_fixtures, k)``.
    probability : MarketEstimate
        Posterior probability of each pick, mean of shape ``(n_fixtures, k)``.
    """

    home_goals: np.ndarray
    away_goals: np.ndarray
    probability: MarketEstimate


@dataclass(frozen=True)
class _Chunk:
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


class MatchMarkets:
    """Every market of ``n_fixtures`` fixtures, from posterior draws of rates.

    Parameters
    ----------
    home_rate, away_rate : array_like
        Expected home and away goals per draw, shape ``(n_draws, n_fixtures)``,
        finite and in ``(0, MAX_RATE]``. NumPy or JAX arrays.
    rho : array_like, optional
        Dixon-Coles dependence per draw, shape ``(n_draws,)`` or
        ``(n_draws, n_fixtures)``; ``None`` for independent Poisson scores.
    max_goals : int, default 10
        Goals a side of the displayed scoreline grid (markets always include
        the tail beyond it).
    level : float, default 0.9
        Credible level of every interval.
    tail_tolerance : float, default 1e-12
        Largest Poisson mass allowed beyond the computation grid.
    chunk_bytes : int, default 64 MiB
        Rough working memory per chunk of fixtures.

    Raises
    ------
    ValueError
        On shapes that disagree, rates that are not finite and positive, or a
        Dixon-Coles ``tau`` below zero (naming the fixture and the value).
    """

    def __init__(
        self,
        home_rate: Any,
        away_rate: Any,
        rho: Any = None,
        *,
        max_goals: int = 10,
        level: float = 0.9,
        tail_tolerance: float = 1e-12,
        chunk_bytes: int = 64 * 2**20,
    ) -> None:
        self._home = _as_rates(home_rate, "home_rate")
        self._away = _as_rates(away_rate, "away_rate")
        if self._away.shape != self._home.shape:
            raise ValueError(
                f"expected away_rate with the shape of home_rate "
                f"{self._home.shape}, got {self._away.shape}"
            )
        self._rho = _as_rho(rho, self._home.shape)
        if self._rho is not None:
            _check_tau(self._home, self._away, self._rho)

        self._max_goals = _check_count(max_goals, "max_goals", minimum=1)
        self._level = _check_between(level, "level", 0.0, 1.0)
        self._tail_tolerance = _check_between(tail_tolerance, "tail_tolerance", 0, 1e-3)
        grid = _grid_goals(self._largest_rate(), max_goals, self._tail_tolerance)
        per_fixture = self.n_draws * (grid + 1) * 8 * 4
        self._chunk_size = max(1, int(chunk_bytes) // per_fixture)

    @classmethod
    def from_rates(cls, rates: Any, **options: Any) -> MatchMarkets:
        """Build from any object with ``home_rate``, ``away_rate`` and ``rho``."""
        return cls(rates.home_rate, rates.away_rate, rates.rho, **options)

    def __repr__(self) -> str:
        return (
            f"MatchMarkets(n_draws={self.n_draws}, n_fixtures={self.n_fixtures}, "
            f"dixon_coles={self._rho is not None}, level={self._level})"
        )

    @property
    def n_draws(self) -> int:
        """Number of posterior draws."""
        return self._home.shape[0]

    @property
    def n_fixtures(self) -> int:
        """Number of fixtures."""
        return self._home.shape[1]

    @property
    def level(self) -> float:
        """Credible level of every interval."""
        return self._level

    @property
    def max_goals(self) -> int:
        """Goals a side of the displayed scoreline grid."""
        return self._max_goals

    @cached_property
    def _result(self) -> tuple[MarketEstimate, ...]:
        draws = self._expect(lambda h, a: np.stack([h > a, h == a, h < a]))
        return tuple(self._market(d) for d in draws)

    @property
    def home_win(self) -> MarketEstimate:
        """P(home side wins)."""
        return self._result[0]

    @property
    def draw(self) -> MarketEstimate:
        """P(draw)."""
        return self._result[1]

    @property
    def away_win(self) -> MarketEstimate:
        """P(away side wins)."""
        return self._result[2]

    @cached_property
    def _btts(self) -> tuple[MarketEstimate, MarketEstimate]:
        yes = (self._expect(lambda h, a: ((h > 0) & (a > 0))[None]))[0]
        return self._market(yes), self._market(1.0 - yes)

    @property
    def btts_yes(self) -> MarketEstimate:
        """P(both teams score)."""
        return self._btts[0]

    @property
    def btts_no(self) -> MarketEstimate:
        """P(at least one side fails to score)."""
        return self._btts[1]

    @cached_property
    def _goals(self) -> tuple[PosteriorEstimate, PosteriorEstimate]:
        draws = self._expect(lambda h, a: np.stack(np.broadcast_arrays(h, a)))
        return tuple(PosteriorEstimate.from_draws(d, self._level) for d in draws)

    @property
    def expected_home_goals(self) -> PosteriorEstimate:
        """Posterior of the expected home goals (the mean of the score model)."""
        return self._goals[0]

    @property
    def expected_away_goals(self) -> PosteriorEstimate:
        """Posterior of the expected away goals."""
        return self._goals[1]

    def totals(self, line: float) -> TotalsMarket:
        """Over/under ``line`` total goals; see the module notes on lines.

        Parameters
        ----------
        line : float
            A multiple of 0.25 at or above zero: 2.5, 3.0, 2.25, 2.75.
        """
        parts = _line_parts(line)
        if line < 0:
            raise ValueError(f"expected a totals line >= 0, got {line}")
        over, push, under = self._expect(lambda h, a: _settle(h + a, -parts))
        return TotalsMarket(float(line), *map(self._market, (over, push, under)))

    def asian_handicap(self, line: float) -> HandicapMarket:
        """Asian handicap giving the home side ``line`` goals.

        Parameters
        ----------
        line : float
            A multiple of 0.25: -1.5, 0.0, -0.25, +0.75.
        """
        parts = _line_parts(line)
        home, push, away = self._expect(lambda h, a: _settle(h - a, parts))
        return HandicapMarket(float(line), *map(self._market, (home, push, away)))

    def correct_score(self, home_goals: int, away_goals: int) -> MarketEstimate:
        """P(the match ends ``home_goals``-``away_goals``)."""
        home = _check_count(home_goals, "home_goals", minimum=0)
        away = _check_count(away_goals, "away_goals", minimum=0)

        def cell(h: np.ndarray, a: np.ndarray) -> np.ndarray:
            return ((h == home) & (a == away))[None]

        draws = self._expect(cell, max(home, away))
        return self._market(draws[0])

    def mean_scorelines(self) -> ScorelineGrid:
        """Posterior mean scoreline grid, cells ``(n_fixtures, G, G)``."""
        size = self._max_goals + 1
        cells = np.empty((self.n_fixtures, size, size))
        for cols in self._column_chunks():
            cells[cols] = self._chunk(cols).mean_cells()[:, :size, :size]
        return ScorelineGrid(_frozen(cells), _frozen(1.0 - cells.sum((-2, -1))))

    def scoreline_draws(
        self, fixtures: Sequence[int], *, max_bytes: int = 2**29
    ) -> ScorelineGrid:
        """Per-draw scoreline grids of some fixtures, cells ``(n_draws, k, G, G)``.

        Parameters
        ----------
        fixtures : sequence of int
            Positions of the fixtures wanted.
        max_bytes : int, default 512 MiB
            Refuse a selection whose grids would take more memory.
        """
        index = self._check_index(fixtures)
        size = self._max_goals + 1
        need = self.n_draws * index.size * size * size * 8
        if need > max_bytes:
            raise ValueError(
                f"expected per-draw grids within {max_bytes} bytes, got {need} for "
                f"{index.size} fixtures; select fewer fixtures or raise max_bytes"
            )
        cells = np.empty((self.n_draws, index.size, size, size))
        for start in range(0, index.size, self._chunk_size):
            cols = slice(start, start + self._chunk_size)
            cells[:, cols] = self._chunk(index[cols]).cells(size)
        return ScorelineGrid(_frozen(cells), _frozen(1.0 - cells.sum((-2, -1))))

    def most_likely_scorelines(self, k: int = 3) -> ScorelinePicks:
        """Return the ``k`` scorelines of highest posterior probability per fixture.

        The search covers the whole computation grid, so a mode above
        ``max_goals`` is still found. Ties go to the fewer home goals, then the
        fewer away goals.
        """
        k = _check_count(k, "k", minimum=1)
        home = np.empty((self.n_fixtures, k), dtype=np.int64)
        away = np.empty_like(home)
        draws = np.empty((self.n_draws, self.n_fixtures, k))
        for cols in self._column_chunks():
            chunk = self._chunk(cols)
            home[cols], away[cols], draws[:, cols] = _top_cells(chunk, k)
        return ScorelinePicks(_frozen(home), _frozen(away), self._market(draws))

    def _largest_rate(self, cols: slice | np.ndarray = slice(None)) -> float:
        return float(max(self._home[:, cols].max(), self._away[:, cols].max()))

    def _column_chunks(self) -> Iterator[slice]:
        for start in range(0, self.n_fixtures, self._chunk_size):
            yield slice(start, min(start + self._chunk_size, self.n_fixtures))

    def _chunk(self, cols: slice | np.ndarray, min_goals: int = 0) -> _Chunk:
        """Marginal pmfs and Dixon-Coles adjustments of the fixtures ``cols``."""
        least = max(self._max_goals, min_goals)
        size = _grid_goals(self._largest_rate(cols), least, self._tail_tolerance)
        home_rate, away_rate = self._home[:, cols], self._away[:, cols]
        home = _poisson_pmf(home_rate, size)
        away = _poisson_pmf(away_rate, size)

        mass = home.sum(0) * away.sum(0)
        low = None
        if self._rho is not None:
            low = _low_cell_shifts(home, away, home_rate, away_rate, self._rho[:, cols])
            mass += low.sum((-2, -1))
        return _Chunk(home, away, low, mass)

    def _expect(self, weights: Weights, min_goals: int = 0) -> np.ndarray:
        """Per-draw expectations ``(m, n_draws, n_fixtures)`` of stacked weights.

        ``weights(h, a)`` gets goal columns ``h`` (N+1, 1) and rows ``a``
        (1, N+1) and returns ``m`` weight grids ``(m, N+1, N+1)``.
        """
        out: np.ndarray | None = None
        for cols in self._column_chunks():
            chunk = self._chunk(cols, min_goals)
            goals = chunk.goals
            stack = np.asarray(weights(goals[:, None], goals[None, :]), dtype=float)
            if out is None:
                out = np.empty((stack.shape[0], self.n_draws, self.n_fixtures))
            for market, weight in enumerate(stack):
                out[market][:, cols] = chunk.expect(weight)
        assert out is not None
        return out

    def _market(self, draws: np.ndarray) -> MarketEstimate:
        return MarketEstimate.from_draws(draws, self._level)

    def _check_index(self, fixtures: Sequence[int]) -> np.ndarray:
        index = np.asarray(fixtures)
        bad = index.ndim != 1 or index.size == 0 or index.dtype.kind not in "iu"
        if bad or index.min() < 0 or index.max() >= self.n_fixtures:
            raise ValueError(
                f"expected fixture positions in 0..{self.n_fixtures - 1}, "
                f"got {np.asarray(fixtures).tolist()}"
            )
        return index


def _quantiles(level: float) -> list[float]:
    return [(1.0 - level) / 2.0, (1.0 + level) / 2.0]


def _frozen(array: np.ndarray) -> np.ndarray:
    """Return a read-only view, leaving the caller's array as it was."""
    view = array.view()
    view.setflags(write=False)
    return view


def _fair_price(side: np.ndarray, other: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1.0 + other / side


def _settle(margin: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """Stake shares (win, push, lose) of ``margin + part`` split over ``parts``."""
    settled = margin[None] + parts[:, None, None]
    shares = [settled > 0, settled == 0, settled < 0]
    return np.stack([share.mean(axis=0) for share in shares])


def _line_parts(line: float) -> np.ndarray:
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


def _grid_goals(max_rate: float, least: int, tolerance: float) -> int:
    """Smallest ``N >= least`` with P(X > N) <= tolerance / 2 at ``max_rate``."""
    top = int(max_rate + 40.0 * np.sqrt(max_rate) + 60.0)
    candidates = np.arange(least, max(top, least + 1))
    tails = special.pdtrc(candidates, max_rate)
    inside = np.flatnonzero(tails <= tolerance / 2.0)
    return int(candidates[inside[0]] if inside.size else candidates[-1])


def _poisson_pmf(rate: np.ndarray, size: int) -> np.ndarray:
    """P(X = 0..size) for every rate, goal-major: ``(size + 1, *rate.shape)``."""
    pmf = np.empty((size + 1, *rate.shape))
    np.exp(-rate, out=pmf[0])
    for goals in range(1, size + 1):
        np.multiply(pmf[goals - 1], rate, out=pmf[goals])
        pmf[goals] /= goals
    return pmf


def _tau_shifts(
    home_rate: np.ndarray, away_rate: np.ndarray, rho: np.ndarray
) -> dict[tuple[int, int], np.ndarray]:
    """``tau(h, a) - 1`` of Dixon and Coles (1997) for the four low cells."""
    return {
        (0, 0): -home_rate * away_rate * rho,
        (0, 1): home_rate * rho,
        (1, 0): away_rate * rho,
        (1, 1): -rho,
    }


def _low_cell_shifts(
    home: np.ndarray,
    away: np.ndarray,
    home_rate: np.ndarray,
    away_rate: np.ndarray,
    rho: np.ndarray,
) -> np.ndarray:
    """``P(h, a) (tau(h, a) - 1)`` for h, a in {0, 1}, shape ``(..., 2, 2)``."""
    shifts = np.empty((*home_rate.shape, 2, 2))
    for (h, a), shift in _tau_shifts(home_rate, away_rate, rho).items():
        shifts[..., h, a] = home[h] * away[a] * shift
    return shifts


def _top_cells(chunk: _Chunk, k: int) -> tuple[np.ndarray, ...]:
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


def _as_rates(values: Any, name: str) -> np.ndarray:
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


def _as_rho(values: Any, shape: tuple[int, int]) -> np.ndarray | None:
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


def _check_tau(home_rate: np.ndarray, away_rate: np.ndarray, rho: np.ndarray) -> None:
    for (h, a), shift in _tau_shifts(home_rate, away_rate, rho).items():
        tau = 1.0 + np.broadcast_to(shift, home_rate.shape)
        if (tau < 0).any():
            draw, fixture = np.argwhere(tau < 0)[0]
            raise ValueError(
                f"expected Dixon-Coles tau >= 0, got tau({h},{a}) = "
                f"{tau[draw, fixture]:.6g} at fixture {fixture} (draw {draw}, "
                f"rho {rho[draw, fixture]:.6g}); bound rho in the model"
            )


def _check_between(value: float, name: str, low: float, high: float) -> float:
    if not low < float(value) < high:
        raise ValueError(f"expected {name} in ({low:g}, {high:g}), got {value!r}")
    return float(value)


def _check_count(value: int, name: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"expected {name} as an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"expected {name} >= {minimum}, got {value}")
    return int(value)
