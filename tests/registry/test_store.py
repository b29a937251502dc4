"""The store's connections: paths, transactions, read-only reads and errors."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from registry import migrations
from registry.store import Store, StoreError, default_db_path


def test_default_path_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TOUCHLINE_DB", raising=False)
    assert default_db_path() == tmp_path / "data" / "touchline.duckdb"
    monkeypatch.setenv("TOUCHLINE_DB", str(tmp_path / "other.duckdb"))
    assert default_db_path() == tmp_path / "other.duckdb"
    monkeypatch.setenv("TOUCHLINE_DB", "  ")
    assert default_db_path() == tmp_path / "data" / "touchline.duckdb"


def test_reading_a_missing_store_reads_it_empty_without_creating_it(tmp_path):
    folder = tmp_path / "new" / "folder"
    store = Store(folder / "store.duckdb")
    assert not store.exists()
    with store.read() as con:
        tables = {name for (name,) in con.execute("SHOW TABLES").fetchall()}
        assert con.execute("SELECT count(*) FROM matches").fetchone() == (0,)
        assert migrations.applied(con) == [m.name for m in migrations.MIGRATIONS]
    assert not store.exists() and not (tmp_path / "new").exists()
    expected = {"matches", "fixtures", "prices", "imports", "rejected_rows"}
    assert expected | {"corrections", "schema_migrations"} <= tables
    assert store.applied_migrations() == [m.name for m in migrations.MIGRATIONS]
    assert not store.exists()


def test_a_write_after_reading_a_missing_store_creates_it(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    with store.read() as con:
        assert con.execute("SELECT count(*) FROM imports").fetchone() == (0,)
    with store.write() as con:
        con.execute("CREATE TABLE note (x INTEGER)")
    assert store.exists()
    with store.read() as con:
        assert con.execute("SELECT count(*) FROM note").fetchone() == (0,)


def test_reading_a_missing_store_follows_the_current_migrations(tmp_path, monkeypatch):
    store = Store(tmp_path / "s.duckdb")
    with store.read() as con:
        assert "later_one" not in {n for (n,) in con.execute("SHOW TABLES").fetchall()}
    later = migrations.Migration("9001_later", ("CREATE TABLE later_one (x INT)",))
    monkeypatch.setattr(migrations, "MIGRATIONS", (*migrations.MIGRATIONS, later))
    with store.read() as con:
        assert con.execute("SELECT count(*) FROM later_one").fetchone() == (0,)
    assert not store.exists()


def test_write_commits_when_the_block_ends(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    with store.write() as con:
        con.execute("CREATE TABLE note (x INTEGER)")
        con.execute("INSERT INTO note VALUES (1), (2)")
    with store.read() as con:
        assert con.execute("SELECT sum(x) FROM note").fetchone() == (3,)


def test_write_rolls_back_and_reraises(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    with store.write() as con:
        con.execute("CREATE TABLE note (x INTEGER)")

    class Boom(Exception):
        pass

    with pytest.raises(Boom), store.write() as con:
        con.execute("INSERT INTO note VALUES (1)")
        con.execute("CREATE TABLE other (y INTEGER)")
        raise Boom
    with store.read() as con:
        assert con.execute("SELECT count(*) FROM note").fetchone() == (0,)
        tables = {name for (name,) in con.execute("SHOW TABLES").fetchall()}
    assert "other" not in tables


def test_a_failed_statement_rolls_back_the_whole_block(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    with pytest.raises(duckdb.Error), store.write() as con:
        con.execute(
            "INSERT INTO imports VALUES ('1', 'a.csv', 'x', 'E0', 2023, 1, 1, 0, "
            "now()::TIMESTAMP)"
        )
        con.execute("INSERT INTO imports VALUES ('1', 'b.csv')")
    with store.read() as con:
        assert con.execute("SELECT count(*) FROM imports").fetchone() == (0,)


def test_read_connections_are_read_only(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    with store.read() as con, pytest.raises(duckdb.Error, match="read-only"):
        con.execute("CREATE TABLE nope (x INTEGER)")


def test_a_file_that_is_not_a_store_is_a_one_line_error(tmp_path):
    path = tmp_path / "notes.duckdb"
    path.write_text("these are notes, not a database\n")
    with pytest.raises(StoreError) as info, Store(path).read():
        pass
    message = str(info.value)
    assert str(path) in message and "--db" in message and "\n" not in message
    assert path.read_text() == "these are notes, not a database\n"


def test_nesting_a_read_in_a_write_is_a_clear_error(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    nested = pytest.raises(StoreError, match="already open")
    with store.write(), nested, store.read():
        pass


@pytest.mark.parametrize("path", [":memory:", ""])
def test_the_store_needs_a_file(path):
    with pytest.raises(StoreError, match="file path"):
        Store(path)


def test_the_busy_timeout_must_be_a_duration(tmp_path):
    with pytest.raises(StoreError, match="busy_timeout_s"):
        Store(tmp_path / "s.duckdb", busy_timeout_s=-1)


def test_a_store_in_an_unwritable_place_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError, match="cannot create the store's folder"):
        Store(Path(blocker) / "sub" / "s.duckdb").migrate()
