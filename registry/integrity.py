"""Integrity check of the whole store.

:func:`check_integrity` reads everything once and reports what is wrong
rather than raising, so one bad row does not hide the next:

* the schema: applied migrations are a prefix of the known list (none
  unknown, none missing in the middle), and the tables, views and sequences
  each migration creates exist exactly when it is recorded as applied;
* every table reads back whole (every column of every row is read, so DuckDB
  verifies the checksum of every block);
* every model version matches its record digest and its artefact its sha256;
* every alias names an existing version and agrees with the audit row that
  moved it last; every audit row names versions that exist or whose deletion
  is recorded;
* stored matches, fixtures, prices, corrections and rejected rows name
  imports that exist.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

import duckdb

from registry import migrations
from registry.store import Store, StoreError
from registry.versions import fetch_row, verify_row

logger = logging.getLogger(__name__)

_CREATED = re.compile(
    r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(TABLE|VIEW|SEQUENCE)\s+"
    r"(?:IF\s+NOT\s+EXISTS\s+)?\"?(\w+)\"?",
    re.IGNORECASE,
)
_SIZE_FIELDS = (
    "database_size",
    "block_size",
    "total_blocks",
    "used_blocks",
    "free_blocks",
    "wal_size",
)
_IMPORT_REFERENCES = (
    ("matches", "first_import_id"),
    ("matches", "last_import_id"),
    ("fixtures", "first_import_id"),
    ("fixtures", "last_import_id"),
    ("prices", "import_id"),
    ("corrections", "import_id"),
    ("rejected_rows", "import_id"),
)


@dataclass(frozen=True)
class IntegrityReport:
    """What the integrity check found.

    Attributes
    ----------
    path : str
        The store file checked.
    problems : list of str
        One line per problem; empty when the store is sound.
    rows : dict of str to int
        Rows read per table.
    migrations : list of str
        Migrations recorded as applied.
    database_size : dict
        DuckDB's ``PRAGMA database_size`` for the file.
    """

    path: str
    problems: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    migrations: list[str] = field(default_factory=list)
    database_size: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether no problem was found."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready values under stable keys."""
        return {
            "path": self.path,
            "ok": self.ok,
            "problems": list(self.problems),
            "rows": dict(self.rows),
            "migrations": list(self.migrations),
            "database_size": dict(self.database_size),
        }


def check_integrity(store: Store) -> IntegrityReport:
    """Check the whole store and report every problem found.

    Reads only; the store is opened as any reader opens it, which applies
    pending migrations first (a failure to do so is reported as a problem).

    Parameters
    ----------
    store : Store
        The store to check.

    Returns
    -------
    IntegrityReport
    """
    report = IntegrityReport(str(store.path))
    if not store.exists():
        report.problems.append(f"no store at {store.path}; check the --db path")
        return report
    try:
        with store.read() as con:
            _check_all(con, report)
    except StoreError as exc:
        report.problems.append(str(exc).splitlines()[0])
    logger.info("integrity of %s: %d problem(s)", store.path, len(report.problems))
    return report


def _check_all(con: duckdb.DuckDBPyConnection, report: IntegrityReport) -> None:
    report.migrations.extend(migrations.applied(con))
    report.database_size.update(_database_size(con))
    checks = (
        _check_schema,
        _check_tables,
        _check_versions,
        _check_aliases,
        _check_audit,
        _check_imports,
    )
    for check in checks:
        try:
            report.problems.extend(check(con, report))
        except duckdb.Error as exc:
            first = str(exc).strip().splitlines()[0]
            report.problems.append(f"{check.__name__[7:]} check failed: {first}")


def schema_problems(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Return what is wrong with a store's migrations, read as the file is.

    Usable on a read-only connection opened directly, before any pending
    migration is applied, to see the schema a crash left behind.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        An open connection to the store.

    Returns
    -------
    list of str
        One line per problem: unknown migrations, migrations missing before
        applied ones, and migrations whose objects exist without their ledger
        row (half applied) or are missing despite it.
    """
    known = [m.name for m in migrations.MIGRATIONS]
    applied = migrations.applied(con)
    problems = [
        f"migration {name} is applied but unknown to this version of touchline; "
        "upgrade touchline"
        for name in applied
        if name not in known
    ]
    upto = max((known.index(name) for name in applied if name in known), default=0)
    missing = [name for name in known[:upto] if name not in applied]
    if missing:
        problems.append(
            f"migrations {', '.join(missing)} are missing before applied ones"
        )

    present = _objects(con)
    for migration in migrations.MIGRATIONS:
        made = _created_objects(migration)
        if migration.name in applied:
            lost = sorted(made - present)
            if lost:
                problems.append(
                    f"migration {migration.name} is recorded but "
                    f"{', '.join(lost)} do not exist"
                )
        elif made & present:
            problems.append(
                f"migration {migration.name} is not recorded but "
                f"{', '.join(sorted(made & present))} exist (half applied)"
            )
    return problems


def _check_schema(con: duckdb.DuckDBPyConnection, report: IntegrityReport) -> list[str]:
    return schema_problems(con)


def _check_tables(con: duckdb.DuckDBPyConnection, report: IntegrityReport) -> list[str]:
    problems = []
    for (table,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
        "AND database_name = current_database() ORDER BY table_name"
    ).fetchall():
        try:
            row = con.execute(
                f'SELECT count(*), bit_xor(hash(t)) FROM "{table}" AS t'
            ).fetchone()
        except duckdb.Error as exc:
            first = str(exc).strip().splitlines()[0]
            problems.append(f"table {table} cannot be read whole: {first}")
            continue
        report.rows[table] = int(row[0]) if row else 0
    return problems


def _check_versions(
    con: duckdb.DuckDBPyConnection, report: IntegrityReport
) -> list[str]:
    if "model_versions" not in report.rows:
        return []
    problems = []
    ids = con.execute(
        "SELECT version_id FROM model_versions ORDER BY version_id"
    ).fetchall()
    for (version_id,) in ids:
        row = fetch_row(con, version_id, with_artefact=True)
        problems += verify_row(row) if row else [f"{version_id} vanished"]

    twice = con.execute(
        "SELECT version_id FROM version_deletions JOIN model_versions "
        "USING (version_id) ORDER BY version_id"
    ).fetchall()
    problems += [f"model version {v} is both stored and deleted" for (v,) in twice]
    return problems


def _check_aliases(
    con: duckdb.DuckDBPyConnection, report: IntegrityReport
) -> list[str]:
    if "aliases" not in report.rows:
        return []
    problems = [
        f"the {alias} of {scope} names model version {vid}, which does not exist"
        for alias, scope, vid in con.execute(
            "SELECT alias, scope, version_id FROM aliases "
            "WHERE version_id NOT IN (SELECT version_id FROM model_versions) "
            "ORDER BY scope, alias"
        ).fetchall()
    ]
    problems += [
        f"the {alias} of {scope} names {vid} but its last audit row "
        f"({audit_id}) moved it to {logged}"
        for alias, scope, vid, audit_id, logged in con.execute(
            "SELECT a.alias, a.scope, a.version_id, a.audit_id, l.to_version "
            "FROM aliases a LEFT JOIN (SELECT alias, scope, "
            "arg_max(to_version, audit_id) AS to_version, max(audit_id) AS last "
            "FROM audit_log GROUP BY alias, scope) l USING (alias, scope) "
            "WHERE l.to_version IS DISTINCT FROM a.version_id "
            "OR l.last IS DISTINCT FROM a.audit_id ORDER BY a.scope, a.alias"
        ).fetchall()
    ]
    problems += [
        f"the audit log moves the {alias} of {scope} but no alias row exists"
        for alias, scope in con.execute(
            "SELECT DISTINCT alias, scope FROM audit_log "
            "ANTI JOIN aliases USING (alias, scope) ORDER BY scope, alias"
        ).fetchall()
    ]
    return problems


def _check_audit(con: duckdb.DuckDBPyConnection, report: IntegrityReport) -> list[str]:
    if "audit_log" not in report.rows:
        return []
    rows = con.execute(
        "SELECT audit_id, v FROM (SELECT audit_id, from_version AS v FROM audit_log "
        "UNION ALL SELECT audit_id, to_version FROM audit_log) WHERE v IS NOT NULL "
        "AND v NOT IN (SELECT version_id FROM model_versions) "
        "AND v NOT IN (SELECT version_id FROM version_deletions) "
        "ORDER BY audit_id, v"
    ).fetchall()
    return [
        f"audit row {audit_id} names model version {vid}, which neither exists "
        "nor is recorded as deleted"
        for audit_id, vid in rows
    ]


def _check_imports(
    con: duckdb.DuckDBPyConnection, report: IntegrityReport
) -> list[str]:
    if "imports" not in report.rows:
        return []
    problems = []
    for table, column in _IMPORT_REFERENCES:
        if table not in report.rows:
            continue
        row = con.execute(
            f'SELECT count(*) FROM "{table}" WHERE "{column}" NOT IN '
            "(SELECT import_id FROM imports)"
        ).fetchone()
        if row and row[0]:
            problems.append(
                f"{row[0]} row(s) of {table} name an import ({column}) that "
                "does not exist"
            )
    return problems


def _objects(con: duckdb.DuckDBPyConnection) -> set[str]:
    query = (
        "SELECT {name} FROM {source}() WHERE schema_name = 'main' "
        "AND database_name = current_database()"
    )
    names: set[str] = set()
    for name, source in (
        ("table_name", "duckdb_tables"),
        ("view_name", "duckdb_views"),
        ("sequence_name", "duckdb_sequences"),
    ):
        rows = con.execute(query.format(name=name, source=source)).fetchall()
        names.update(n for (n,) in rows)
    return names


def _created_objects(migration: migrations.Migration) -> set[str]:
    found = (_CREATED.match(statement) for statement in migration.statements)
    return {match.group(2) for match in found if match}


def _database_size(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    cursor = con.execute("PRAGMA database_size")
    names = [d[0] for d in cursor.description or ()]
    row = dict(zip(names, cursor.fetchone() or (), strict=True))
    return {name: row[name] for name in _SIZE_FIELDS if name in row}
