"""Out-of-sample evidence the promotion gates read from the store.

The gates of :mod:`registry.policy` judge a version on evidence that other
parts of the store produce. They read it through two relations, tables or
views, so the code that produces the evidence plugs in by creating them in a
migration; until a relation exists its gate finds no evidence.

``version_match_scores``
    One row per (``version_id``, ``match_id``): ``log_score``, the log
    probability the version gave the observed outcome (higher is better), and
    ``rps``, its ranked probability score (lower is better). Several rows for
    one pair are averaged.
``version_drift_checks``
    One row per drift check of a version: ``version_id``, ``checked_at``,
    ``alert`` (true when drift was found) and ``detail`` (one line).

A relation that lacks a named column is ignored, with a logged warning.
"""

from __future__ import annotations

import logging
from typing import Any

import duckdb
import numpy as np

from registry.store import Store

logger = logging.getLogger(__name__)

SCORES_RELATION = "version_match_scores"
DRIFT_RELATION = "version_drift_checks"
_SCORE_COLUMNS = ("version_id", "match_id", "log_score", "rps")
_DRIFT_COLUMNS = ("version_id", "checked_at", "alert", "detail")
_PER_MATCH = (
    f"SELECT match_id, avg(log_score) AS log_score, avg(rps) AS rps "
    f"FROM {SCORES_RELATION} WHERE version_id = ? AND log_score IS NOT NULL "
    "AND rps IS NOT NULL GROUP BY match_id"
)
"""One version's scores, one row per match (several runs averaged)."""


def paired_scores(
    con: duckdb.DuckDBPyConnection, version_id: str, champion: str | None
) -> np.ndarray | None:
    """Return scores of two versions on the matches both were scored on.

    Returns
    -------
    numpy.ndarray or None
        Shape ``(num_matches, 4)``: candidate log score, champion log score,
        candidate RPS, champion RPS, ordered by ``match_id``; None when there
        is no champion or the store has no scores relation.
    """
    if champion is None or not _has_relation(con, SCORES_RELATION, _SCORE_COLUMNS):
        return None
    rows = con.execute(
        f"SELECT c.log_score, b.log_score, c.rps, b.rps FROM ({_PER_MATCH}) c "
        f"JOIN ({_PER_MATCH}) b USING (match_id) ORDER BY match_id",
        [version_id, champion],
    ).fetchall()
    return np.asarray(rows, dtype=float).reshape(-1, 4)


def score_summary(
    con: duckdb.DuckDBPyConnection, version_id: str
) -> dict[str, Any] | None:
    """Return a version's mean out-of-sample scores, or None when it has none.

    Returns
    -------
    dict or None
        ``matches`` scored, mean ``log_score`` (higher is better) and mean
        ``rps`` (lower is better), each match counted once.
    """
    if not _has_relation(con, SCORES_RELATION, _SCORE_COLUMNS):
        return None
    found = con.execute(
        f"SELECT count(*), avg(log_score), avg(rps) FROM ({_PER_MATCH})",
        [version_id],
    ).fetchone()
    if found is None or not found[0]:
        return None
    return {"matches": int(found[0]), "log_score": found[1], "rps": found[2]}


def version_scores(store: Store, version_id: str) -> dict[str, Any] | None:
    """Read `score_summary` of a version from the store."""
    with store.read() as con:
        return score_summary(con, version_id)


def latest_drift_check(
    con: duckdb.DuckDBPyConnection, version_id: str
) -> dict[str, Any] | None:
    """Return the latest drift check of a version, or None when it has none.

    Returns
    -------
    dict or None
        ``checked_at`` (text), ``alert`` (bool) and ``detail``.
    """
    if not _has_relation(con, DRIFT_RELATION, _DRIFT_COLUMNS):
        return None
    found = con.execute(
        f"SELECT checked_at, alert, detail FROM {DRIFT_RELATION} "
        "WHERE version_id = ? ORDER BY checked_at DESC LIMIT 1",
        [version_id],
    ).fetchone()
    if found is None:
        return None
    return {"checked_at": str(found[0]), "alert": bool(found[1]), "detail": found[2]}


def _has_relation(
    con: duckdb.DuckDBPyConnection, name: str, columns: tuple[str, ...]
) -> bool:
    found = {
        column
        for (column,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? "
            "AND schema_name = 'main' AND database_name = current_database()",
            [name],
        ).fetchall()
    }
    if found and not set(columns) <= found:
        logger.warning(
            "%s lacks columns %s; its evidence is ignored",
            name,
            sorted(set(columns) - found),
        )
    return bool(found) and set(columns) <= found
