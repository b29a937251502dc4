"""Schema migrations: ordered, recorded, idempotent and all or nothing."""

from __future__ import annotations

import pytest

from registry import migrations
from registry.migrations import MIGRATIONS, Migration
from registry.store import Store, StoreError

NAMES = [m.name for m in MIGRATIONS]


def tables(store: Store) -> set[str]:
    with store.read() as con:
        return {name for (name,) in con.execute("SHOW TABLES").fetchall()}


def test_migrations_are_ordered_and_uniquely_named():
    assert sorted(NAMES) == NAMES
    assert len(set(NAMES)) == len(NAMES)


def test_a_new_store_gets_every_migration_once(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    assert store.migrate() == NAMES
    assert store.migrate() == []
    assert store.applied_migrations() == NAMES
    with store.read() as con:
        rows = con.execute(
            "SELECT name, applied_at FROM schema_migrations ORDER BY name"
        ).fetchall()
    assert [name for name, _ in rows] == NAMES
    assert all(applied_at is not None for _, applied_at in rows)


def test_the_tables_have_the_documented_columns(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    with store.read() as con:
        columns = {
            table: [
                c
                for (c,) in con.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE table_name = ? "
                    "ORDER BY column_index",
                    [table],
                ).fetchall()
            ]
            for table in (
                "matches",
                "fixtures",
                "prices",
                "imports",
                "rejected_rows",
                "corrections",
            )
        }
    assert columns["matches"][-2:] == ["first_import_id", "last_import_id"]
    assert columns["prices"] == [
        "match_id",
        "bookmaker",
        "market",
        "timing",
        "outcome",
        "line",
        "price",
        "import_id",
    ]
    assert columns["rejected_rows"] == ["import_id", "source", "line", "raw", "reason"]
    assert columns["imports"][:3] == ["import_id", "source", "sha256"]
    assert "imported_at" in columns["imports"]
    assert columns["corrections"] == [
        "match_id",
        "old_home_goals",
        "old_away_goals",
        "new_home_goals",
        "new_away_goals",
        "source",
        "import_id",
        "corrected_at",
    ]


def test_a_failing_migration_leaves_nothing_half_applied(tmp_path, monkeypatch):
    store = Store(tmp_path / "s.duckdb")
    store.migrate()
    good = Migration("9001_good", ("CREATE TABLE good_one (x INTEGER)",))
    bad = Migration(
        "9002_bad",
        (
            "CREATE TABLE half_done (x INTEGER)",
            "INSERT INTO half_done VALUES (1)",
            "CREATE TABLE broken (x NOT_A_TYPE)",
        ),
    )
    monkeypatch.setattr(migrations, "MIGRATIONS", (*MIGRATIONS, good, bad))
    with pytest.raises(StoreError) as info:
        store.migrate()
    message = str(info.value)
    assert "9002_bad" in message and str(store.path) in message
    assert "\n" not in message
    monkeypatch.undo()
    assert store.applied_migrations() == [*NAMES, "9001_good"]
    found = tables(store)
    assert "good_one" in found
    assert "half_done" not in found and "broken" not in found


def test_a_pending_migration_is_applied_before_a_read(tmp_path, monkeypatch):
    store = Store(tmp_path / "s.duckdb")
    store.migrate()
    later = Migration("9001_later", ("CREATE TABLE later_one (x INTEGER)",))
    monkeypatch.setattr(migrations, "MIGRATIONS", (*MIGRATIONS, later))
    assert "later_one" in tables(store)
    assert store.applied_migrations()[-1] == "9001_later"


def test_duplicate_names_are_refused(tmp_path, monkeypatch):
    twice = (*MIGRATIONS, Migration(NAMES[0], ("SELECT 1",)))
    monkeypatch.setattr(migrations, "MIGRATIONS", twice)
    with pytest.raises(StoreError, match="unique"):
        Store(tmp_path / "s.duckdb").migrate()
