"""Column schemas of the data contract (see ``data/README.md``).

Every frame that crosses a layer boundary carrying matches, fixtures, prices or
rejected rows has exactly one of these schemas, so the reader, the store and the
models agree on names and types without looking at each other's code.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

MATCH_SCHEMA: dict[str, pl.DataType] = {
    "match_id": pl.String(),
    "league": pl.String(),
    "season": pl.Int32(),
    "kickoff": pl.Date(),
    "kickoff_time": pl.Time(),
    "home_team": pl.String(),
    "away_team": pl.String(),
    "home_goals": pl.Int32(),
    "away_goals": pl.Int32(),
}
"""A played match with its result, one row per ``match_id``."""

FIXTURE_SCHEMA: dict[str, pl.DataType] = {
    key: dtype
    for key, dtype in MATCH_SCHEMA.items()
    if key not in ("home_goals", "away_goals")
}
"""A game still to play: the match columns without goals."""

PRICE_SCHEMA: dict[str, pl.DataType] = {
    "match_id": pl.String(),
    "bookmaker": pl.String(),
    "market": pl.String(),
    "timing": pl.String(),
    "outcome": pl.String(),
    "line": pl.Float64(),
    "price": pl.Float64(),
}
"""Decimal odds in long form; ``line`` is null for the 1X2 market."""

REJECTED_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "line": pl.Int64(),
    "raw": pl.String(),
    "reason": pl.String(),
}
"""A row that broke the contract: where it was, what it said, and why."""

MARKETS = ("1x2", "over_under", "asian_handicap")
TIMINGS = ("opening", "closing")
OUTCOMES = ("home", "draw", "away", "over", "under")


def match_id(league: str, kickoff: str, home_team: str, away_team: str) -> str:
    """Return the stable key of a match or fixture.

    Parameters
    ----------
    league, home_team, away_team : str
        As in the contract.
    kickoff : str
        The kickoff date as ``yyyy-mm-dd``.

    Returns
    -------
    str
        ``<league>-<kickoff>-<home_team>-<away_team>``.
    """
    return f"{league}-{kickoff}-{home_team}-{away_team}"


def empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Return an empty frame with ``schema``."""
    return pl.DataFrame(schema=schema)


@dataclass(frozen=True)
class ParsedFile:
    """One source file read against the contract.

    Attributes
    ----------
    source : str
        The path or URL the bytes came from, as the user named it.
    sha256 : str
        Hex digest of the raw bytes, so a re-import of the same file is known.
    league : str or None
        Division code, from the ``Div`` column or the file name.
    season : int or None
        Starting year, from the site's folder layout or the kickoff dates.
    rows_read : int
        Data rows seen (blank and all-empty lines excluded).
    matches, fixtures, prices, rejected : polars.DataFrame
        Frames with ``MATCH_SCHEMA``, ``FIXTURE_SCHEMA``, ``PRICE_SCHEMA`` and
        ``REJECTED_SCHEMA``.
    """

    source: str
    sha256: str
    league: str | None
    season: int | None
    rows_read: int
    matches: pl.DataFrame
    fixtures: pl.DataFrame
    prices: pl.DataFrame
    rejected: pl.DataFrame


@dataclass(frozen=True)
class ImportBatch:
    """Everything one import command will write, checked across its files.

    Matches are unique by ``match_id``; copies of one match with different
    results anywhere in the batch have moved to ``rejected`` with the reason
    ``conflicting duplicate``; identical copies are kept once. Prices are unique
    by (match_id, bookmaker, market, timing, outcome, line).

    Attributes
    ----------
    files : tuple of ParsedFile
        The files, in the order they were named.
    matches, fixtures, prices, rejected : polars.DataFrame
        The combined frames, with the contract schemas.
    """

    files: tuple[ParsedFile, ...]
    matches: pl.DataFrame
    fixtures: pl.DataFrame
    prices: pl.DataFrame
    rejected: pl.DataFrame
