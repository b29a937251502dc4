"""Posterior estimates of markets: mean, credible interval, draws, fair odds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Self

import numpy as np


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
        lower, upper = np.quantile(draws, quantiles(level), axis=0)
        arrays = [frozen(a) for a in (draws.mean(axis=0), lower, upper, draws)]
        return cls(*arrays, level=level)

    def interval(self, level: float) -> tuple[np.ndarray, np.ndarray]:
        """Return the equal-tailed credible interval at another ``level``."""
        probs = quantiles(check_between(level, "level", 0.0, 1.0))
        lower, upper = np.quantile(self.draws, probs, axis=0)
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
        return fair_price(self.over.mean, self.under.mean)

    @property
    def fair_under(self) -> np.ndarray:
        """Zero-profit decimal price of under, ``1 + over / under``."""
        return fair_price(self.under.mean, self.over.mean)


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
        return fair_price(self.home.mean, self.away.mean)

    @property
    def fair_away(self) -> np.ndarray:
        """Zero-profit decimal price of the away side, ``1 + home / away``."""
        return fair_price(self.away.mean, self.home.mean)


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


def quantiles(level: float) -> list[float]:
    """Return the two probabilities of an equal-tailed interval at ``level``."""
    return [(1.0 - level) / 2.0, (1.0 + level) / 2.0]


def frozen(array: np.ndarray) -> np.ndarray:
    """Return a read-only view, leaving the caller's array as it was."""
    view = array.view()
    view.setflags(write=False)
    return view


def fair_price(side: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Return the zero-profit decimal price ``1 + other / side`` of a stake share."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1.0 + other / side


def check_between(value: float, name: str, low: float, high: float) -> float:
    """Return ``value`` when strictly between ``low`` and ``high``, else raise."""
    if not low < float(value) < high:
        raise ValueError(f"expected {name} in ({low:g}, {high:g}), got {value!r}")
    return float(value)
