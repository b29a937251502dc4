"""Duplicates, fixtures and prices checked across the files of one import."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from engine.contract import (
    FIXTURE_SCHEMA,
    MATCH_SCHEMA,
    PRICE_SCHEMA,
    REJECTED_SCHEMA,
    ImportBatch,
    ParsedFile,
)

CONFLICTING_DUPLICATE = "conflicting duplicate"

COPY_SCHEMA: dict[str, pl.DataType] = {
    **MATCH_SCHEMA,
    "source": pl.String(),
    "line": pl.Int64(),
    "raw": pl.String(),
}
"""A match or fixture row as read, before duplicates are settled.

The match columns (goals null for a fixture) plus where the row came from.
"""

PRICE_KEY = ("match_id", "bookmaker", "market", "timing", "outcome", "line")


@dataclass(frozen=True)
class FootballDataFile(ParsedFile):
    """A :class:`~engine.contract.ParsedFile` that remembers its rows' origins.

    Attributes
    ----------
    copies : polars.DataFrame
        Every match and fixture row accepted from the file, duplicates
        included, with ``COPY_SCHEMA``. :func:`combine` uses it to reject every
        copy of a match whose copies disagree anywhere in a batch, each with
        its own file, line and text.
    """

    copies: pl.DataFrame


@dataclass(frozen=True)
class Settled:
    """Matches, fixtures, prices and rejected rows after duplicates are settled."""

    matches: pl.DataFrame
    fixtures: pl.DataFrame
    prices: pl.DataFrame
    rejected: pl.DataFrame


def settle(
    copies: Sequence[pl.DataFrame],
    prices: Sequence[pl.DataFrame],
    rejected: Sequence[pl.DataFrame],
) -> Settled:
    """Settle duplicates across the parts of one import, given in file order.

    Parameters
    ----------
    copies : sequence of polars.DataFrame
        Per file, its match and fixture rows with ``COPY_SCHEMA``.
    prices : sequence of polars.DataFrame
        Per file, its prices with ``PRICE_SCHEMA``.
    rejected : sequence of polars.DataFrame
        Per file, rows rejected on their own, with ``REJECTED_SCHEMA``.

    Returns
    -------
    Settled
        Matches unique by ``match_id`` (identical copies kept once, the last
        one; copies with different results all rejected as ``conflicting
        duplicate``), fixtures without those that are also played matches,
        prices unique by key (the last wins) for kept matches and fixtures,
        sorted by ``match_id`` and then in the order read, and
        every rejected row ordered by file and line.
    """
    every = _stack(copies, COPY_SCHEMA)
    played = every.filter(pl.col("home_goals").is_not_null())
    results = played.group_by("match_id").agg(
        pl.struct("home_goals", "away_goals").n_unique().alias("results")
    )
    conflicted = results.filter(pl.col("results") > 1)["match_id"]
    clashing = pl.col("match_id").is_in(conflicted.implode())
    matches = _latest(played.filter(~clashing), MATCH_SCHEMA)
    waiting = every.filter(
        pl.col("home_goals").is_null()
        & ~pl.col("match_id").is_in(played["match_id"].implode())
    )
    fixtures = _latest(waiting, FIXTURE_SCHEMA)
    kept = pl.concat([matches["match_id"], fixtures["match_id"]])
    duplicates = played.filter(clashing).select(
        "_file", "source", "line", "raw", reason=pl.lit(CONFLICTING_DUPLICATE)
    )
    return Settled(
        matches=matches,
        fixtures=fixtures,
        prices=_prices(prices, kept),
        rejected=_rejected(rejected, duplicates),
    )


def _stack(frames: Sequence[pl.DataFrame], schema: dict) -> pl.DataFrame:
    """Concatenate ``frames`` with a ``_file`` column giving each one's position."""
    tagged = [
        frame.with_columns(pl.lit(position, pl.Int64()).alias("_file"))
        for position, frame in enumerate(frames)
    ]
    empty = pl.DataFrame(schema={**schema, "_file": pl.Int64()})
    return pl.concat([empty, *tagged], how="vertical_relaxed")


def _latest(frame: pl.DataFrame, schema: dict) -> pl.DataFrame:
    """One row per ``match_id`` (the last), sorted by kickoff then key."""
    return (
        frame.unique("match_id", keep="last")
        .sort("kickoff", "match_id")
        .select(list(schema))
    )


def _prices(frames: Sequence[pl.DataFrame], kept: pl.Series) -> pl.DataFrame:
    """Prices of kept rows, one per key (the last), sorted by ``match_id``.

    Only rows whose key hash repeats go through the exact de-duplication, which
    keeps a large import with few overlapping files fast.
    """
    every = (
        pl.concat([pl.DataFrame(schema=PRICE_SCHEMA), *frames])
        .filter(pl.col("match_id").is_in(kept.implode()))
        .with_row_index("_at")
    )
    repeated = pl.struct(PRICE_KEY).hash().is_duplicated()
    candidates = every.filter(repeated)
    if candidates.height:
        survivors = candidates.unique(list(PRICE_KEY), keep="last")["_at"]
        every = every.filter(~repeated | pl.col("_at").is_in(survivors.implode()))
    return every.sort("match_id", maintain_order=True).select(list(PRICE_SCHEMA))


def _rejected(frames: Sequence[pl.DataFrame], duplicates: pl.DataFrame) -> pl.DataFrame:
    every = pl.concat([_stack(frames, REJECTED_SCHEMA), duplicates], how="diagonal")
    return every.sort("_file", "line", nulls_last=True).select(list(REJECTED_SCHEMA))


def combine(files: Sequence[ParsedFile]) -> ImportBatch:
    """Check the files of one import against each other.

    Parameters
    ----------
    files : sequence of ParsedFile
        Files in the order they were named; later files win among identical
        matches and among prices with the same key.

    Returns
    -------
    ImportBatch
        Matches unique by ``match_id``: copies with different results anywhere
        in the batch are all moved to ``rejected`` as ``conflicting
        duplicate``, identical copies are kept once. Fixtures that are also
        matches in the batch are dropped. Prices are unique by (match_id,
        bookmaker, market, timing, outcome, line), the last one winning, and
        kept only for kept matches and fixtures.

    Notes
    -----
    Files from :func:`read_football_data` carry the line and text of every
    copy. A plain :class:`~engine.contract.ParsedFile` made elsewhere does
    not: its matches and fixtures take part as they are, a conflicting copy
    from it is rejected with a null line and raw text, and its own rejected
    rows are kept as given.
    """
    files = tuple(files)
    parts = [_copies_and_rejected(file) for file in files]
    settled = settle(
        [copies for copies, _ in parts],
        [file.prices for file in files],
        [rejected for _, rejected in parts],
    )
    return ImportBatch(
        files=files,
        matches=settled.matches,
        fixtures=settled.fixtures,
        prices=settled.prices,
        rejected=settled.rejected,
    )


def _copies_and_rejected(file: ParsedFile) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return the rows of ``file`` to settle again and its lone rejections."""
    if isinstance(file, FootballDataFile):
        alone = file.rejected.filter(pl.col("reason") != CONFLICTING_DUPLICATE)
        return file.copies, alone
    where = {
        "source": pl.lit(file.source, pl.String()),
        "line": pl.lit(None, pl.Int64()),
        "raw": pl.lit(None, pl.String()),
    }
    copies = pl.concat(
        [file.matches.with_columns(**where), file.fixtures.with_columns(**where)],
        how="diagonal_relaxed",
    )
    return copies.select(list(COPY_SCHEMA)), file.rejected
