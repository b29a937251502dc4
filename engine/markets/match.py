"""The markets of fixtures, read from draws of the goal rates.

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
from functools import cached_property
from typing import Any

import numpy as np

from engine.markets.estimates import (
    HandicapMarket,
    MarketEstimate,
    PosteriorEstimate,
    ScorelineGrid,
    ScorelinePicks,
    TotalsMarket,
    check_between,
    frozen,
)
from engine.markets.grid import (
    Chunk,
    as_rates,
    as_rho,
    check_count,
    check_tau,
    grid_goals,
    line_parts,
    low_cell_shifts,
    poisson_pmf,
    settle,
    top_cells,
)

Weights = Callable[[np.ndarray, np.ndarray], np.ndarray]


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
        self._home = as_rates(home_rate, "home_rate")
        self._away = as_rates(away_rate, "away_rate")
        if self._away.shape != self._home.shape:
            raise ValueError(
                f"expected away_rate with the shape of home_rate "
                f"{self._home.shape}, got {self._away.shape}"
            )
        self._rho = as_rho(rho, self._home.shape)
        if self._rho is not None:
            check_tau(self._home, self._away, self._rho)

        self._max_goals = check_count(max_goals, "max_goals", minimum=1)
        self._level = check_between(level, "level", 0.0, 1.0)
        self._tail_tolerance = check_between(tail_tolerance, "tail_tolerance", 0, 1e-3)
        grid = grid_goals(self._largest_rate(), max_goals, self._tail_tolerance)
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
        parts = line_parts(line)
        if line < 0:
            raise ValueError(f"expected a totals line >= 0, got {line}")
        over, push, under = self._expect(lambda h, a: settle(h + a, -parts))
        return TotalsMarket(float(line), *map(self._market, (over, push, under)))

    def asian_handicap(self, line: float) -> HandicapMarket:
        """Asian handicap giving the home side ``line`` goals.

        Parameters
        ----------
        line : float
            A multiple of 0.25: -1.5, 0.0, -0.25, +0.75.
        """
        parts = line_parts(line)
        home, push, away = self._expect(lambda h, a: settle(h - a, parts))
        return HandicapMarket(float(line), *map(self._market, (home, push, away)))

    def correct_score(self, home_goals: int, away_goals: int) -> MarketEstimate:
        """P(the match ends ``home_goals``-``away_goals``)."""
        home = check_count(home_goals, "home_goals", minimum=0)
        away = check_count(away_goals, "away_goals", minimum=0)

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
        return ScorelineGrid(frozen(cells), frozen(1.0 - cells.sum((-2, -1))))

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
        return ScorelineGrid(frozen(cells), frozen(1.0 - cells.sum((-2, -1))))

    def most_likely_scorelines(self, k: int = 3) -> ScorelinePicks:
        """Return the ``k`` scorelines of highest posterior probability per fixture.

        The search covers the whole computation grid, so a mode above
        ``max_goals`` is still found. Ties go to the fewer home goals, then the
        fewer away goals.
        """
        k = check_count(k, "k", minimum=1)
        home = np.empty((self.n_fixtures, k), dtype=np.int64)
        away = np.empty_like(home)
        draws = np.empty((self.n_draws, self.n_fixtures, k))
        for cols in self._column_chunks():
            chunk = self._chunk(cols)
            home[cols], away[cols], draws[:, cols] = top_cells(chunk, k)
        return ScorelinePicks(frozen(home), frozen(away), self._market(draws))

    def _largest_rate(self, cols: slice | np.ndarray = slice(None)) -> float:
        return float(max(self._home[:, cols].max(), self._away[:, cols].max()))

    def _column_chunks(self) -> Iterator[slice]:
        for start in range(0, self.n_fixtures, self._chunk_size):
            yield slice(start, min(start + self._chunk_size, self.n_fixtures))

    def _chunk(self, cols: slice | np.ndarray, min_goals: int = 0) -> Chunk:
        """Marginal pmfs and Dixon-Coles adjustments of the fixtures ``cols``."""
        least = max(self._max_goals, min_goals)
        size = grid_goals(self._largest_rate(cols), least, self._tail_tolerance)
        home_rate, away_rate = self._home[:, cols], self._away[:, cols]
        home = poisson_pmf(home_rate, size)
        away = poisson_pmf(away_rate, size)

        mass = home.sum(0) * away.sum(0)
        low = None
        if self._rho is not None:
            low = low_cell_shifts(home, away, home_rate, away_rate, self._rho[:, cols])
            mass += low.sum((-2, -1))
        return Chunk(home, away, low, mass)

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
