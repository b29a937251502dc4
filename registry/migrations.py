"""Ordered, named schema migrations of the store.

Every table of the store is created here, by a migration with a sortable name
(``0001_imports``). A migration is a list of SQL statements applied in one
transaction and recorded in ``schema_migrations(name, applied_at)``, so it is
either applied whole or not at all, and applying the list again does nothing.
New tables and columns come as new migrations appended to ``MIGRATIONS``; an
applied migration is never edited.

Tables
------
imports
    One row per file imported: ``import_id``, ``source``, ``sha256``,
    ``league``, ``season``, ``rows_read``, ``rows_accepted``,
    ``rows_rejected``, ``imported_at`` (UTC). An import id is text, like every
    id the store hands out: the decimal digits of a number drawn from the
    sequence ``import_id_seq`` (``"1"``, ``"2"``, ...). Every column that
    names an import (``import_id``, ``first_import_id``, ``last_import_id``)
    holds such an id.
rejected_rows
    Rows that broke the data contract: ``import_id``, ``source``, ``line``
    (1 is the header), ``raw``, ``reason``.
matches
    The contract's match columns keyed by ``match_id``, plus
    ``first_import_id`` (the import that added the match) and
    ``last_import_id`` (the import that last changed it).
corrections
    One row per changed result: ``match_id``, ``old_home_goals``,
    ``old_away_goals``, ``new_home_goals``, ``new_away_goals``, ``source``,
    ``import_id``, ``corrected_at`` (UTC).
fixtures
    The contract's fixture columns keyed by ``match_id``, plus
    ``first_import_id`` and ``last_import_id``.
prices
    The contract's price columns plus ``import_id`` (the import that last
    wrote the price). One row per key (match_id, bookmaker, market, timing,
    outcome, line), where ``line`` is null for the 1X2 market, so the key is
    compared null-safely (``IS NOT DISTINCT FROM``). The key is kept by the
    import, which checks that a batch repeats no key and writes only keys not
    yet stored (a stored key gets its price updated), rather than by a
    primary key index: over the two million prices of the real data such an
    index made the file about 20 times larger (440 MB against 23 MB) and the
    first import twice as slow, and only the import writes this table.
model_versions
    One row per fitted model version, never updated (see
    :mod:`registry.versions`): ``version_id`` (ten hex characters),
    ``created_at`` (UTC), ``model``, ``config``, ``selection`` and
    ``diagnostics`` (JSON text), ``scope`` (the selection's leagues, sorted
    and comma-joined), ``training_hash``, ``seed``, ``package_version``,
    ``git_commit``, ``artefact_sha256``, ``artefact_size``, ``created_by``,
    ``record_sha256`` (digest of the columns before it) and ``netcdf`` (the
    posterior as netCDF-4 bytes). The artefact sits in the version's own row,
    so a version without its artefact cannot exist.
version_deletions
    One row per deleted version: ``version_id``, ``deleted_at`` (UTC),
    ``deleted_by`` and ``record`` (the version's metadata as JSON), so an
    audit row naming it stays explained and its id is never handed out again.
audit_log
    One row per alias move, ``audit_id`` from the sequence ``audit_id_seq``:
    ``moved_at`` (UTC), ``action`` (promote or rollback), ``alias``,
    ``scope``, ``from_version`` (null for the first move), ``to_version``,
    ``who``, ``reason``, ``forced`` and ``evidence`` (JSON text).
aliases
    Where each alias of each scope points now: ``alias`` (champion or
    challenger), ``scope``, ``version_id`` (a foreign key to
    ``model_versions``), ``moved_at`` and ``audit_id`` (its latest audit row).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

logger = logging.getLogger(__name__)


class MigrationError(RuntimeError):
    """A migration failed; the transaction holding it was rolled back."""


@dataclass(frozen=True)
class Migration:
    """One named step of the schema.

    Attributes
    ----------
    name : str
        Sortable, unique name such as ``0001_imports``.
    statements : tuple of str
        SQL statements, applied in order in one transaction.
    """

    name: str
    statements: tuple[str, ...]


_IMPORTS = Migration(
    "0001_imports",
    (
        "CREATE SEQUENCE import_id_seq START 1",
        """CREATE TABLE imports (
            import_id VARCHAR PRIMARY KEY,
            source VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL,
            league VARCHAR,
            season INTEGER,
            rows_read BIGINT NOT NULL CHECK (rows_read >= 0),
            rows_accepted BIGINT NOT NULL CHECK (rows_accepted >= 0),
            rows_rejected BIGINT NOT NULL CHECK (rows_rejected >= 0),
            imported_at TIMESTAMP NOT NULL
        )""",
        """CREATE TABLE rejected_rows (
            import_id VARCHAR NOT NULL,
            source VARCHAR NOT NULL,
            line BIGINT,
            raw VARCHAR,
            reason VARCHAR NOT NULL
        )""",
    ),
)

_MATCHES = Migration(
    "0002_matches",
    (
        """CREATE TABLE matches (
            match_id VARCHAR PRIMARY KEY,
            league VARCHAR NOT NULL CHECK (league <> ''),
            season INTEGER NOT NULL,
            kickoff DATE NOT NULL,
            kickoff_time TIME,
            home_team VARCHAR NOT NULL CHECK (home_team <> ''),
            away_team VARCHAR NOT NULL CHECK (away_team <> ''),
            home_goals INTEGER NOT NULL CHECK (home_goals >= 0),
            away_goals INTEGER NOT NULL CHECK (away_goals >= 0),
            first_import_id VARCHAR NOT NULL,
            last_import_id VARCHAR NOT NULL,
            CHECK (home_team <> away_team)
        )""",
        """CREATE TABLE corrections (
            match_id VARCHAR NOT NULL,
            old_home_goals INTEGER NOT NULL,
            old_away_goals INTEGER NOT NULL,
            new_home_goals INTEGER NOT NULL,
            new_away_goals INTEGER NOT NULL,
            source VARCHAR NOT NULL,
            import_id VARCHAR NOT NULL,
            corrected_at TIMESTAMP NOT NULL
        )""",
    ),
)

_FIXTURES = Migration(
    "0003_fixtures",
    (
        """CREATE TABLE fixtures (
            match_id VARCHAR PRIMARY KEY,
            league VARCHAR NOT NULL CHECK (league <> ''),
            season INTEGER NOT NULL,
            kickoff DATE NOT NULL,
            kickoff_time TIME,
            home_team VARCHAR NOT NULL CHECK (home_team <> ''),
            away_team VARCHAR NOT NULL CHECK (away_team <> ''),
            first_import_id VARCHAR NOT NULL,
            last_import_id VARCHAR NOT NULL,
            CHECK (home_team <> away_team)
        )""",
    ),
)

_PRICES = Migration(
    "0004_prices",
    (
        """CREATE TABLE prices (
            match_id VARCHAR NOT NULL,
            bookmaker VARCHAR NOT NULL CHECK (bookmaker <> ''),
            market VARCHAR NOT NULL
                CHECK (market IN ('1x2', 'over_under', 'asian_handicap')),
            timing VARCHAR NOT NULL CHECK (timing IN ('opening', 'closing')),
            outcome VARCHAR NOT NULL
                CHECK (outcome IN ('home', 'draw', 'away', 'over', 'under')),
            line DOUBLE CHECK (isfinite(line)),
            price DOUBLE NOT NULL CHECK (price > 1.0),
            import_id VARCHAR NOT NULL,
            CHECK ((market = '1x2') = (line IS NULL))
        )""",
    ),
)

_MODEL_VERSIONS = Migration(
    "0005_model_versions",
    (
        """CREATE TABLE model_versions (
            version_id VARCHAR PRIMARY KEY
                CHECK (regexp_full_match(version_id, '[0-9a-f]{10}')),
            created_at TIMESTAMP NOT NULL,
            model VARCHAR NOT NULL CHECK (model <> ''),
            config VARCHAR NOT NULL,
            selection VARCHAR NOT NULL,
            scope VARCHAR,
            training_hash VARCHAR NOT NULL
                CHECK (regexp_full_match(training_hash, '[0-9a-f]{64}')),
            seed BIGINT NOT NULL CHECK (seed >= 0),
            package_version VARCHAR,
            git_commit VARCHAR,
            diagnostics VARCHAR NOT NULL,
            artefact_sha256 VARCHAR NOT NULL
                CHECK (regexp_full_match(artefact_sha256, '[0-9a-f]{64}')),
            artefact_size BIGINT NOT NULL CHECK (artefact_size > 0),
            created_by VARCHAR NOT NULL,
            record_sha256 VARCHAR NOT NULL,
            netcdf BLOB NOT NULL
        )""",
        """CREATE TABLE version_deletions (
            version_id VARCHAR PRIMARY KEY,
            deleted_at TIMESTAMP NOT NULL,
            deleted_by VARCHAR NOT NULL,
            record VARCHAR NOT NULL
        )""",
    ),
)

_ALIASES = Migration(
    "0006_aliases",
    (
        "CREATE SEQUENCE audit_id_seq START 1",
        """CREATE TABLE audit_log (
            audit_id BIGINT PRIMARY KEY,
            moved_at TIMESTAMP NOT NULL,
            action VARCHAR NOT NULL CHECK (action IN ('promote', 'rollback')),
            alias VARCHAR NOT NULL CHECK (alias IN ('champion', 'challenger')),
            scope VARCHAR NOT NULL CHECK (scope <> ''),
            from_version VARCHAR,
            to_version VARCHAR NOT NULL,
            who VARCHAR NOT NULL,
            reason VARCHAR NOT NULL CHECK (trim(reason) <> ''),
            forced BOOLEAN NOT NULL,
            evidence VARCHAR NOT NULL
        )""",
        """CREATE TABLE aliases (
            alias VARCHAR NOT NULL CHECK (alias IN ('champion', 'challenger')),
            scope VARCHAR NOT NULL CHECK (scope <> ''),
            version_id VARCHAR NOT NULL REFERENCES model_versions (version_id),
            moved_at TIMESTAMP NOT NULL,
            audit_id BIGINT NOT NULL,
            PRIMARY KEY (alias, scope)
        )""",
    ),
)

MIGRATIONS: tuple[Migration, ...] = (
    _IMPORTS,
    _MATCHES,
    _FIXTURES,
    _PRICES,
    _MODEL_VERSIONS,
    _ALIASES,
)
"""Every migration of the store, in the order they are applied."""

_LEDGER = """CREATE TABLE schema_migrations (
    name VARCHAR PRIMARY KEY,
    applied_at TIMESTAMP NOT NULL
)"""


def applied(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Return the names of the migrations applied to a store, in order.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        An open connection, read-only or not.

    Returns
    -------
    list of str
        Empty when the store has no ``schema_migrations`` table yet.
    """
    if not _has_ledger(con):
        return []
    rows = con.execute("SELECT name FROM schema_migrations ORDER BY name").fetchall()
    return [name for (name,) in rows]


def pending(
    con: duckdb.DuckDBPyConnection,
    migrations: Sequence[Migration] | None = None,
) -> list[str]:
    """Return the names of the migrations not yet applied, in order.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        An open connection, read-only or not.
    migrations : sequence of Migration, optional
        Defaults to ``MIGRATIONS``.

    Returns
    -------
    list of str
        Names in the order they would be applied.
    """
    done = set(applied(con))
    return [m.name for m in _checked(migrations) if m.name not in done]


def apply_migrations(
    con: duckdb.DuckDBPyConnection,
    migrations: Sequence[Migration] | None = None,
) -> list[str]:
    """Apply every pending migration, each in its own transaction.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A read-write connection with no transaction open.
    migrations : sequence of Migration, optional
        Defaults to ``MIGRATIONS``.

    Returns
    -------
    list of str
        Names of the migrations applied by this call (empty when none was
        pending).

    Raises
    ------
    MigrationError
        When a statement fails; that migration's transaction is rolled back,
        so the store keeps the migrations before it and nothing of it.
    """
    todo = _checked(migrations)
    if not _has_ledger(con):
        con.execute(_LEDGER)
    done = set(applied(con))
    names = []
    for migration in todo:
        if migration.name not in done:
            _apply_one(con, migration)
            names.append(migration.name)
    return names


def _apply_one(con: duckdb.DuckDBPyConnection, migration: Migration) -> None:
    con.begin()
    try:
        for statement in migration.statements:
            con.execute(statement)
        con.execute(
            "INSERT INTO schema_migrations VALUES (?, ?)",
            [migration.name, datetime.now(UTC).replace(tzinfo=None)],
        )
        con.commit()
    except duckdb.Error as exc:
        con.rollback()
        first_line = str(exc).splitlines()[0]
        raise MigrationError(
            f"schema migration {migration.name} failed ({first_line}); it was "
            "rolled back and the store keeps its earlier schema; report this "
            "with the store file"
        ) from exc
    logger.info("applied schema migration %s", migration.name)


def _checked(migrations: Sequence[Migration] | None) -> tuple[Migration, ...]:
    todo = tuple(MIGRATIONS if migrations is None else migrations)
    names = [m.name for m in todo]
    if len(set(names)) != len(names):
        raise MigrationError(
            f"migration names must be unique, got {names}; rename the new one"
        )
    return todo


def _has_ledger(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute(
        "SELECT count(*) FROM duckdb_tables() "
        "WHERE table_name = 'schema_migrations' AND schema_name = 'main' "
        "AND database_name = current_database()"
    ).fetchone()
    return bool(row and row[0])
