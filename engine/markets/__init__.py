"""Posterior markets of fixtures, read from draws of the goal rates.

:class:`MatchMarkets` is the one object from which every market of a list of
fixtures is read (1X2, totals, both teams to score, Asian handicap, correct
score, expected goals), each with its posterior mean, credible interval and
fair odds; :mod:`engine.markets.match` explains the tail mass, line and memory
conventions.
"""

from engine.markets.estimates import (
    HandicapMarket,
    MarketEstimate,
    PosteriorEstimate,
    ScorelineGrid,
    ScorelinePicks,
    TotalsMarket,
)
from engine.markets.grid import MAX_RATE
from engine.markets.match import MatchMarkets

__all__ = [
    "MAX_RATE",
    "HandicapMarket",
    "MarketEstimate",
    "MatchMarkets",
    "PosteriorEstimate",
    "ScorelineGrid",
    "ScorelinePicks",
    "TotalsMarket",
]
