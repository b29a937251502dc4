"""What the store holds: matches per league and season, fixtures, rejections.

:func:`data_status` reads everything in one short read transaction and returns
a :class:`DataStatus` whose :meth:`~DataStatus.to_dict` keys are stable, for the
CLI's JSON and for the app.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

import duckdb

from registry.store import Store

_EXAMPLES_PER_SOURCE = 3


@dataclass(frozen=True)
class SeasonStatus:
    """Stored matches of one league and season."""

    league: str
    season: int
    matches: int
    first_kickoff: date
    last_kickoff: date
    teams: int

    def to_dict(self) -> dict[str, Any]:
        """Return the row as JSON-ready values, dates as ISO strings."""
        return {
            **asdict(self),
            "first_kickoff": self.first_kickoff.isoformat(),
            "last_kickoff": self.last_kickoff.isoformat(),
        }


@dataclass(frozen=True)
class RejectedExample:
    """One stored rejected row: its line in the file, the raw text and why."""

    line: int | None
    raw: str | None
    reason: str


@dataclass(frozen=True)
class RejectedSource:
    """Rejected rows of one source, with the first few as examples."""

    source: str
    rows: int
    examples: tuple[RejectedExample, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the group as JSON-ready values."""
        examples = [asdict(example) for example in self.examples]
        return {"source": self.source, "rows": self.rows, "examples": examples}


@dataclass(frozen=True)
class DataStatus:
    """What the store holds.

    ``to_dict`` returns these keys, stable for JSON output:

    - ``matches``, ``fixtures``, ``prices``, ``imports``, ``rejected_rows``: counts;
    - ``last_import_at``: ISO timestamp (UTC) of the latest import, or null;
    - ``seasons``: list of ``{league, season, matches, first_kickoff,
      last_kickoff, teams}``, ordered by league then season, dates as ISO
      strings;
    - ``rejected_by_reason``: list of ``{reason, rows}``, most rows first;
    - ``rejected_by_source``: list of ``{source, rows, examples}``, where
      ``examples`` lists up to three ``{line, raw, reason}``.
    """

    matches: int
    fixtures: int
    prices: int
    imports: int
    rejected_rows: int
    last_import_at: datetime | None
    seasons: tuple[SeasonStatus, ...]
    rejected_by_reason: tuple[tuple[str, int], ...]
    rejected_by_source: tuple[RejectedSource, ...]

    @property
    def is_empty(self) -> bool:
        """Whether the store holds no match, fixture or import."""
        return self.matches == 0 and self.fixtures == 0 and self.imports == 0

    def to_dict(self) -> dict[str, Any]:
        """Return the status as JSON-ready values under the documented keys."""
        last = self.last_import_at
        return {
            "matches": self.matches,
            "fixtures": self.fixtures,
            "prices": self.prices,
            "imports": self.imports,
            "rejected_rows": self.rejected_rows,
            "last_import_at": last.isoformat() if last else None,
            "seasons": [season.to_dict() for season in self.seasons],
            "rejected_by_reason": [
                {"reason": reason, "rows": rows}
                for reason, rows in self.rejected_by_reason
            ],
            "rejected_by_source": [
                group.to_dict() for group in self.rejected_by_source
            ],
        }


def data_status(store: Store) -> DataStatus:
    """Summarise what the store holds.

    Parameters
    ----------
    store : Store
        The store to read; a missing one reads as empty and is not created.

    Returns
    -------
    DataStatus
        Counts, per league and season rows, and rejected rows grouped by
        reason and by source.
    """
    with store.read() as con:
        totals = con.execute(
            "SELECT (SELECT count(*) FROM matches), (SELECT count(*) FROM fixtures), "
            "(SELECT count(*) FROM prices), (SELECT count(*) FROM imports), "
            "(SELECT count(*) FROM rejected_rows), "
            "(SELECT max(imported_at) FROM imports)"
        ).fetchone()
        seasons = _season_rows(con)
        by_reason = con.execute(
            "SELECT reason, count(*) AS rows FROM rejected_rows GROUP BY reason "
            "ORDER BY rows DESC, reason"
        ).fetchall()
        by_source = _rejected_sources(con)
    matches, fixtures, prices, imports, rejected, last = totals or (0,) * 6
    return DataStatus(
        matches=matches,
        fixtures=fixtures,
        prices=prices,
        imports=imports,
        rejected_rows=rejected,
        last_import_at=last,
        seasons=seasons,
        rejected_by_reason=tuple((reason, rows) for reason, rows in by_reason),
        rejected_by_source=by_source,
    )


def _season_rows(con: duckdb.DuckDBPyConnection) -> tuple[SeasonStatus, ...]:
    rows = con.execute(
        "WITH teams AS (SELECT league, season, home_team AS team FROM matches "
        "UNION SELECT league, season, away_team FROM matches), "
        "team_counts AS (SELECT league, season, count(*) AS teams FROM teams "
        "GROUP BY league, season) "
        "SELECT m.league, m.season, count(*), min(m.kickoff), max(m.kickoff), "
        "any_value(t.teams) FROM matches m "
        "JOIN team_counts t ON t.league = m.league AND t.season = m.season "
        "GROUP BY m.league, m.season ORDER BY m.league, m.season"
    ).fetchall()
    return tuple(SeasonStatus(*row) for row in rows)


def _rejected_sources(
    con: duckdb.DuckDBPyConnection,
) -> tuple[RejectedSource, ...]:
    counts = con.execute(
        "SELECT source, count(*) AS rows FROM rejected_rows GROUP BY source "
        "ORDER BY source"
    ).fetchall()
    examples = con.execute(
        "SELECT source, line, raw, reason FROM rejected_rows "
        "QUALIFY row_number() OVER (PARTITION BY source ORDER BY line, reason) <= ? "
        "ORDER BY source, line, reason",
        [_EXAMPLES_PER_SOURCE],
    ).fetchall()
    grouped: dict[str, list[RejectedExample]] = {source: [] for source, _ in counts}
    for source, line, raw, reason in examples:
        grouped[source].append(RejectedExample(line, raw, reason))
    return tuple(
        RejectedSource(source, rows, tuple(grouped[source])) for source, rows in counts
    )


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> int:
    row = con.execute(sql, params or []).fetchone()
    return int(row[0]) if row else 0
