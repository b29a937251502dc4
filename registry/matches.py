"""Matches, fixtures, prices, imports and rejected rows in the store.

:func:`import_batch` writes one :class:`~engine.contract.ImportBatch` in one
transaction with set-based SQL over the batch's Arrow frames, so an import is
all or nothing and a re-import of the same or an overlapping file changes
nothing. The ``load_*`` functions return frames with the contract schemas;
:mod:`registry.status` summarises what is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import polars as pl

from engine.contract import (
    FIXTURE_SCHEMA,
    MATCH_SCHEMA,
    PRICE_SCHEMA,
    REJECTED_SCHEMA,
    ImportBatch,
)
from registry.store import Store, StoreError

logger = logging.getLogger(__name__)

PRICE_KEY = ("match_id", "bookmaker", "market", "timing", "outcome", "line")
"""Columns that identify one price; ``line`` (null for 1X2) compares null-safely."""

_MATCH_COLUMNS = ", ".join(MATCH_SCHEMA)
_FIXTURE_COLUMNS = ", ".join(FIXTURE_SCHEMA)
_PRICE_COLUMNS = ", ".join(PRICE_SCHEMA)
_FILES_SCHEMA = {
    "import_id": pl.String(),
    "source": pl.String(),
    "sha256": pl.String(),
    "league": pl.String(),
    "season": pl.Int32(),
    "rows_read": pl.Int64(),
}


@dataclass(frozen=True)
class ImportReport:
    """What one import wrote.

    Attributes
    ----------
    files : int
        Files in the batch.
    rows_read : int
        Data rows read over all files.
    matches_added : int
        Matches new to the store.
    matches_updated : int
        Stored matches whose result, season or kickoff time changed.
    matches_unchanged : int
        Matches of the batch already stored exactly as they are.
    corrections : int
        Updated matches whose result changed (one ``corrections`` row each).
    fixtures_stored : int
        Fixtures added or changed.
    fixtures_played : int
        Stored fixtures removed because their match arrived.
    prices_stored : int
        Prices added or changed.
    rows_rejected : int
        Rows of the batch that broke the contract, stored in
        ``rejected_rows``.
    import_ids : tuple of str
        The ``imports`` id of each file, in the batch's order (text, as the
        store keeps and prints them).
    """

    files: int
    rows_read: int
    matches_added: int
    matches_updated: int
    matches_unchanged: int
    corrections: int
    fixtures_stored: int
    fixtures_played: int
    prices_stored: int
    rows_rejected: int
    import_ids: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready values under the attribute names."""
        return {**asdict(self), "import_ids": list(self.import_ids)}


def import_batch(store: Store, batch: ImportBatch) -> ImportReport:
    """Write a batch of files to the store in one transaction.

    New matches are added; a stored match that arrives with another result is
    updated and the change is written to ``corrections``; an identical one is
    left alone. A match removes the stored fixture with its ``match_id``.
    Prices of stored matches and fixtures are added or updated. The batch's
    rejected rows replace those stored earlier for the same source or the
    same file contents (sha256). Every file gets an ``imports`` row.

    Parameters
    ----------
    store : Store
        The store to write.
    batch : ImportBatch
        Frames with the contract schemas; matches and fixtures unique by
        ``match_id``, prices unique by ``PRICE_KEY``.

    Returns
    -------
    ImportReport
        Counts of what changed.

    Raises
    ------
    StoreError
        When the batch breaks its own contract or the store's constraints;
        nothing is written then.
    """
    _check_batch(batch)
    now = datetime.now(UTC).replace(tzinfo=None)
    try:
        with store.write() as con:
            _register(con, batch)
            ids = _record_imports(con, batch, now)
            _register_origins(con, batch, ids)
            added, updated, corrected = _store_matches(con, now)
            fixtures, played = _store_fixtures(con)
            prices = _store_prices(con)
            rejected = _store_rejected(con)
    except duckdb.ConstraintException as exc:
        raise StoreError(
            f"the batch breaks a rule of the store ({_first_line(exc)}); "
            "nothing was written; check the rows against data/README.md"
        ) from exc
    except duckdb.Error as exc:
        raise StoreError(
            f"could not import into {store.path} ({_first_line(exc)}); nothing "
            "was written; check the store file, or import into a new one with --db"
        ) from exc
    report = ImportReport(
        files=len(batch.files),
        rows_read=sum(parsed.rows_read for parsed in batch.files),
        matches_added=added,
        matches_updated=updated,
        matches_unchanged=batch.matches.height - added - updated,
        corrections=corrected,
        fixtures_stored=fixtures,
        fixtures_played=played,
        prices_stored=prices,
        rows_rejected=rejected,
        import_ids=tuple(ids),
    )
    logger.info("imported %s into %s: %s", len(ids), store.path, report)
    return report


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _check_batch(batch: ImportBatch) -> None:
    frames = {
        "matches": (batch.matches, MATCH_SCHEMA, ("match_id",)),
        "fixtures": (batch.fixtures, FIXTURE_SCHEMA, ("match_id",)),
        "prices": (batch.prices, PRICE_SCHEMA, PRICE_KEY),
        "rejected": (batch.rejected, REJECTED_SCHEMA, ()),
    }
    for name, (frame, schema, key) in frames.items():
        _check_frame(name, frame, schema, key)
    rows = batch.matches.height + batch.fixtures.height + batch.rejected.height
    if rows and not batch.files:
        raise StoreError(
            f"the batch has {rows} rows but no files; build it with "
            "engine.football_data.combine so every row has a source"
        )


def _check_frame(
    name: str, frame: pl.DataFrame, schema: dict, key: tuple[str, ...]
) -> None:
    got = dict(frame.schema)
    if got != schema:
        raise StoreError(
            f"batch {name} has columns {_describe(got)}, expected "
            f"{_describe(schema)}; build the frame with the engine.contract schema"
        )
    if key and frame.height and frame.select(key).is_duplicated().any():
        raise StoreError(
            f"batch {name} repeats a key ({', '.join(key)}); keep one row per "
            "key, as engine.football_data.combine does"
        )


def _describe(schema: dict) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in schema.items()) + "}"


def _register(con: duckdb.DuckDBPyConnection, batch: ImportBatch) -> None:
    """Expose the batch's frames to SQL for the life of the connection."""
    con.register("batch_matches", batch.matches.to_arrow())
    con.register("batch_fixtures", batch.fixtures.to_arrow())
    con.register("batch_prices", batch.prices.to_arrow())
    con.register("batch_rejected", batch.rejected.to_arrow())


def _record_imports(
    con: duckdb.DuckDBPyConnection, batch: ImportBatch, now: datetime
) -> list[str]:
    drawn = con.execute(
        "SELECT nextval('import_id_seq') AS id FROM range(?) ORDER BY id",
        [len(batch.files)],
    ).fetchall()
    ids = [str(value) for (value,) in drawn]
    rows = [
        (import_id, f.source, f.sha256, f.league, f.season, f.rows_read)
        for import_id, f in zip(ids, batch.files, strict=True)
    ]
    files = pl.DataFrame(rows, schema=_FILES_SCHEMA, orient="row")
    first = pl.col("source").is_first_distinct().alias("is_first_of_source")
    con.register("batch_files", files.with_columns(first).to_arrow())
    con.execute(
        "INSERT INTO imports SELECT b.import_id, b.source, b.sha256, b.league, "
        "b.season, b.rows_read, greatest(b.rows_read - coalesce(r.n, 0), 0), "
        "coalesce(r.n, 0), ? FROM batch_files b LEFT JOIN (SELECT source, "
        "count(*) AS n FROM batch_rejected GROUP BY source) r "
        "ON r.source = b.source AND b.is_first_of_source",
        [now],
    )
    return ids


def _register_origins(
    con: duckdb.DuckDBPyConnection, batch: ImportBatch, ids: list[str]
) -> None:
    parts = [
        pl.concat(
            [parsed.matches.select("match_id"), parsed.fixtures.select("match_id")]
        ).with_columns(
            import_id=pl.lit(import_id, pl.String()),
            source=pl.lit(parsed.source, pl.String()),
        )
        for parsed, import_id in zip(batch.files, ids, strict=True)
    ]
    schema = {"match_id": pl.String(), "import_id": pl.String(), "source": pl.String()}
    found = pl.concat([pl.DataFrame(schema=schema), *parts])
    origins = found.unique("match_id", keep="last", maintain_order=True)
    first = pl.DataFrame(
        {"import_id": ids[:1], "source": [p.source for p in batch.files[:1]]},
        schema={"import_id": pl.String(), "source": pl.String()},
    )
    con.register("batch_origins", origins.to_arrow())
    con.register("batch_first", first.to_arrow())


def _origin_sql(alias: str) -> str:
    return (
        f"LEFT JOIN batch_origins o ON o.match_id = {alias}.match_id "
        "CROSS JOIN batch_first f"
    )


def _store_matches(
    con: duckdb.DuckDBPyConnection, now: datetime
) -> tuple[int, int, int]:
    con.execute(
        "CREATE TEMP TABLE match_changes AS SELECT b.*, "
        "coalesce(o.import_id, f.import_id) AS import_id, "
        "coalesce(o.source, f.source) AS source, s.match_id IS NULL AS is_new, "
        "s.home_goals AS old_home_goals, s.away_goals AS old_away_goals "
        f"FROM batch_matches b {_origin_sql('b')} "
        "LEFT JOIN matches s ON s.match_id = b.match_id "
        "WHERE s.match_id IS NULL OR b.home_goals <> s.home_goals "
        "OR b.away_goals <> s.away_goals OR b.season <> s.season "
        "OR b.kickoff_time IS DISTINCT FROM s.kickoff_time"
    )
    added = _count(
        con,
        f"INSERT INTO matches SELECT {_MATCH_COLUMNS}, import_id, import_id "
        "FROM match_changes WHERE is_new",
    )
    corrected = _count(
        con,
        "INSERT INTO corrections SELECT match_id, old_home_goals, old_away_goals, "
        "home_goals, away_goals, source, import_id, ? FROM match_changes "
        "WHERE NOT is_new AND (home_goals <> old_home_goals "
        "OR away_goals <> old_away_goals)",
        [now],
    )
    updated = _count(
        con,
        "UPDATE matches SET season = c.season, kickoff_time = c.kickoff_time, "
        "home_goals = c.home_goals, away_goals = c.away_goals, "
        "last_import_id = c.import_id FROM match_changes c "
        "WHERE matches.match_id = c.match_id AND NOT c.is_new",
    )
    return added, updated, corrected


def _store_fixtures(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    con.execute(
        "CREATE TEMP TABLE fixture_changes AS SELECT b.*, "
        "coalesce(o.import_id, f.import_id) AS import_id, "
        "s.match_id IS NULL AS is_new "
        f"FROM batch_fixtures b {_origin_sql('b')} "
        "LEFT JOIN fixtures s ON s.match_id = b.match_id "
        "ANTI JOIN matches m ON m.match_id = b.match_id "
        "WHERE s.match_id IS NULL OR b.season <> s.season "
        "OR b.kickoff_time IS DISTINCT FROM s.kickoff_time"
    )
    added = _count(
        con,
        f"INSERT INTO fixtures SELECT {_FIXTURE_COLUMNS}, import_id, import_id "
        "FROM fixture_changes WHERE is_new",
    )
    updated = _count(
        con,
        "UPDATE fixtures SET season = c.season, kickoff_time = c.kickoff_time, "
        "last_import_id = c.import_id FROM fixture_changes c "
        "WHERE fixtures.match_id = c.match_id AND NOT c.is_new",
    )
    played = _count(
        con,
        "DELETE FROM fixtures WHERE match_id IN (SELECT match_id FROM batch_matches)",
    )
    return added + updated, played


def _store_prices(con: duckdb.DuckDBPyConnection) -> int:
    con.execute(
        "CREATE TEMP TABLE price_changes AS SELECT b.*, "
        "coalesce(o.import_id, f.import_id) AS import_id, "
        "s.match_id IS NULL AS is_new "
        f"FROM batch_prices b {_origin_sql('b')} "
        "LEFT JOIN prices s ON s.match_id = b.match_id "
        "AND s.bookmaker = b.bookmaker AND s.market = b.market "
        "AND s.timing = b.timing AND s.outcome = b.outcome "
        "AND s.line IS NOT DISTINCT FROM b.line "
        "WHERE (s.match_id IS NULL OR s.price <> b.price) "
        "AND (b.match_id IN (SELECT match_id FROM matches) "
        "OR b.match_id IN (SELECT match_id FROM fixtures))"
    )
    added = _count(
        con,
        "INSERT INTO prices SELECT match_id, bookmaker, market, timing, outcome, "
        "line, price, import_id FROM price_changes WHERE is_new",
    )
    updated = _count(
        con,
        "UPDATE prices SET price = c.price, import_id = c.import_id "
        "FROM price_changes c WHERE NOT c.is_new AND prices.match_id = c.match_id "
        "AND prices.bookmaker = c.bookmaker AND prices.market = c.market "
        "AND prices.timing = c.timing AND prices.outcome = c.outcome "
        "AND prices.line IS NOT DISTINCT FROM c.line",
    )
    return added + updated


def _store_rejected(con: duckdb.DuckDBPyConnection) -> int:
    con.execute(
        "DELETE FROM rejected_rows WHERE source IN (SELECT source FROM batch_files) "
        "OR import_id IN (SELECT i.import_id FROM imports i "
        "JOIN batch_files b ON b.sha256 = i.sha256 "
        "WHERE i.import_id NOT IN (SELECT import_id FROM batch_files))"
    )
    return _count(
        con,
        "INSERT INTO rejected_rows SELECT DISTINCT "
        "coalesce(b.import_id, f.import_id), r.source, r.line, r.raw, r.reason "
        "FROM batch_rejected r CROSS JOIN batch_first f "
        "LEFT JOIN batch_files b ON b.source = r.source AND b.is_first_of_source",
    )


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> int:
    row = con.execute(sql, params or []).fetchone()
    return int(row[0]) if row else 0


def load_matches(
    store: Store,
    *,
    leagues: Sequence[str] | None = None,
    until: date | None = None,
    since: date | None = None,
) -> pl.DataFrame:
    """Return stored matches, ordered by kickoff.

    Parameters
    ----------
    store : Store
        The store to read.
    leagues : sequence of str, optional
        Division codes to keep; all when None.
    until : datetime.date, optional
        Keep matches with a kickoff strictly before this day.
    since : datetime.date, optional
        Keep matches with a kickoff on or after this day.

    Returns
    -------
    polars.DataFrame
        ``MATCH_SCHEMA`` columns, ordered by kickoff, kickoff time and
        ``match_id``.
    """
    where, params = _league_filter(leagues)
    if until is not None:
        where.append("kickoff < ?")
        params.append(_day(until, "until"))
    if since is not None:
        where.append("kickoff >= ?")
        params.append(_day(since, "since"))
    return _frame(
        store,
        f"SELECT {_MATCH_COLUMNS} FROM matches {_where(where)} "
        "ORDER BY kickoff, kickoff_time NULLS FIRST, match_id",
        params,
        MATCH_SCHEMA,
    )


def load_fixtures(
    store: Store,
    *,
    leagues: Sequence[str] | None = None,
    since: date | None = None,
) -> pl.DataFrame:
    """Return stored fixtures, ordered by kickoff.

    Parameters
    ----------
    store : Store
        The store to read.
    leagues : sequence of str, optional
        Division codes to keep; all when None.
    since : datetime.date, optional
        Keep fixtures with a kickoff on or after this day.

    Returns
    -------
    polars.DataFrame
        ``FIXTURE_SCHEMA`` columns.
    """
    where, params = _league_filter(leagues)
    if since is not None:
        where.append("kickoff >= ?")
        params.append(_day(since, "since"))
    return _frame(
        store,
        f"SELECT {_FIXTURE_COLUMNS} FROM fixtures {_where(where)} "
        "ORDER BY kickoff, kickoff_time NULLS FIRST, match_id",
        params,
        FIXTURE_SCHEMA,
    )


def load_prices(store: Store, match_ids: Sequence[str] | None = None) -> pl.DataFrame:
    """Return stored prices, of some matches or fixtures or of all.

    Parameters
    ----------
    store : Store
        The store to read.
    match_ids : sequence of str, optional
        Keys of the matches and fixtures whose prices to return; all when
        None.

    Returns
    -------
    polars.DataFrame
        ``PRICE_SCHEMA`` columns, ``line`` null for the 1X2 market, ordered
        by the price key.
    """
    where, params = [], []
    if match_ids is not None:
        where = ["match_id IN (SELECT unnest(?::VARCHAR[]))"]
        params = [_strings(match_ids, "match_ids")]
    return _frame(
        store,
        f"SELECT {_PRICE_COLUMNS} FROM prices {_where(where)} ORDER BY match_id, "
        "bookmaker, market, timing, outcome, line NULLS FIRST",
        params,
        PRICE_SCHEMA,
    )


def _frame(
    store: Store, sql: str, params: list, schema: dict[str, pl.DataType]
) -> pl.DataFrame:
    with store.read() as con:
        found = con.sql(sql, params=params).pl()
    return found.select([pl.col(name).cast(dtype) for name, dtype in schema.items()])


def _league_filter(leagues: Sequence[str] | None) -> tuple[list[str], list[Any]]:
    if leagues is None:
        return [], []
    return ["list_contains(?, league)"], [_strings(leagues, "leagues")]


def _strings(values: Sequence[str] | str, name: str) -> list[str]:
    items = [values] if isinstance(values, str) else list(values)
    bad = [value for value in items if not isinstance(value, str) or not value]
    if bad:
        raise StoreError(
            f"{name} must be non-empty strings, got {bad[:3]!r}; pass e.g. ['E0']"
        )
    return items


def _day(value: date, name: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if not isinstance(value, date):
        raise StoreError(
            f"{name} must be a date, got {value!r}; pass e.g. date(2024, 1, 31)"
        )
    return value


def _where(conditions: list[str]) -> str:
    return f"WHERE {' AND '.join(conditions)}" if conditions else ""
