"""Importing batches: idempotence, corrections, fixtures, prices, rejected rows."""

from __future__ import annotations

import dataclasses
from datetime import date, time

import polars as pl
import pytest
from registry_batches import (
    batch,
    fixture,
    match,
    one_x_two,
    parsed,
    price,
    rejected,
)

from engine.contract import ImportBatch
from registry import matches as registry_matches
from registry.matches import import_batch, load_fixtures, load_matches, load_prices
from registry.store import Store, StoreError

TABLES = (
    "matches",
    "fixtures",
    "prices",
    "imports",
    "rejected_rows",
    "corrections",
)

ARSENAL = match("E0", date(2023, 8, 12), "Arsenal", "Forest", 2, 1)
BRENTFORD = match("E0", date(2023, 8, 13), "Brentford", "Spurs", 2, 2)
CHELSEA = match("E0", date(2023, 8, 13), "Chelsea", "Liverpool", 1, 1)
LUTON_FIXTURE = fixture("E0", date(2030, 5, 1), "Luton", "Everton")
LUTON_MATCH = match("E0", date(2030, 5, 1), "Luton", "Everton", 1, 0)
A_ID, B_ID, C_ID = (m["match_id"] for m in (ARSENAL, BRENTFORD, CHELSEA))
L_ID = LUTON_FIXTURE["match_id"]


def snapshot(store: Store) -> dict[str, list[tuple]]:
    with store.read() as con:
        return {
            table: con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
            for table in TABLES
        }


def count(store: Store, sql: str, params=()) -> int:
    with store.read() as con:
        return con.execute(sql, list(params)).fetchone()[0]


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / "store.duckdb")


def first_file() -> object:
    prices = [
        *one_x_two(A_ID, 1.5, 4.0, 6.0),
        *one_x_two(A_ID, 1.45, 4.2, 6.5, bookmaker="PS", timing="closing"),
        price(A_ID, 1.9, market="asian_handicap", outcome="home", line=-0.25),
        price(A_ID, 1.95, market="asian_handicap", outcome="away", line=-0.25),
        price(A_ID, 1.8, market="over_under", outcome="over", line=2.5),
        *one_x_two(B_ID, 2.5, 3.2, 2.9),
        *one_x_two(L_ID, 2.1, 3.3, 3.6),
    ]
    return parsed(
        "mmz4281/2324/E0.csv",
        matches=[ARSENAL, BRENTFORD],
        fixtures=[LUTON_FIXTURE],
        prices=prices,
        rejects=[
            rejected("mmz4281/2324/E0.csv", 7, "negative goals"),
            rejected("mmz4281/2324/E0.csv", 9, "unparseable date"),
        ],
    )


def test_a_first_import_stores_the_batch(store):
    one = first_file()
    report = import_batch(store, batch(one))
    assert (report.files, report.rows_read) == (1, 5)
    assert (report.matches_added, report.matches_updated) == (2, 0)
    assert report.matches_unchanged == 0 and report.corrections == 0
    assert (report.fixtures_stored, report.fixtures_played) == (1, 0)
    assert (report.prices_stored, report.rows_rejected) == (15, 2)
    assert report.import_ids == ("1",)

    stored = load_matches(store)
    assert stored.equals(one.matches.sort("kickoff", "match_id"))
    assert load_fixtures(store).equals(one.fixtures)
    expected_prices = one.prices.sort(
        "match_id",
        "bookmaker",
        "market",
        "timing",
        "outcome",
        "line",
        nulls_last=False,
    )
    assert load_prices(store).equals(expected_prices)
    with store.read() as con:
        imports = con.execute(
            "SELECT import_id, source, sha256, league, season, rows_read, "
            "rows_accepted, rows_rejected FROM imports"
        ).fetchall()
        ids = con.execute(
            "SELECT DISTINCT first_import_id, last_import_id FROM matches"
        ).fetchall()
    assert imports == [("1", one.source, one.sha256, "E0", 2023, 5, 3, 2)]
    assert ids == [("1", "1")]


def test_importing_the_same_batch_again_changes_nothing(store):
    import_batch(store, batch(first_file()))
    before = snapshot(store)
    report = import_batch(store, batch(first_file()))
    assert report.matches_added == report.matches_updated == 0
    assert report.matches_unchanged == 2
    assert report.fixtures_stored == report.prices_stored == 0
    assert report.rows_rejected == 2
    after = snapshot(store)
    for table in TABLES:
        if table == "imports":
            assert len(after[table]) == len(before[table]) + 1
        elif table == "rejected_rows":  # replaced by the new import's copies
            assert [r[1:] for r in after[table]] == [r[1:] for r in before[table]]
            assert {r[0] for r in after[table]} == set(report.import_ids)
        else:
            assert after[table] == before[table], table


def test_an_overlapping_file_adds_only_what_is_new(store):
    import_batch(store, batch(first_file()))
    overlap = parsed(
        "mmz4281/2324/E0-later.csv",
        matches=[BRENTFORD, CHELSEA],
        prices=[*one_x_two(B_ID, 2.5, 3.2, 2.9), *one_x_two(C_ID, 3.1, 3.4, 2.2)],
    )
    report = import_batch(store, batch(overlap))
    assert (report.matches_added, report.matches_unchanged) == (1, 1)
    assert report.prices_stored == 3
    assert count(store, "SELECT count(*) FROM matches") == 3
    assert count(store, "SELECT count(*) FROM prices") == 18


def test_many_overlapping_imports_keep_every_price_key_once(store):
    import_batch(store, batch(first_file()))
    import_batch(store, batch(first_file(), first_file()))
    import_batch(
        store,
        batch(
            parsed(
                "x.csv",
                matches=[ARSENAL],
                prices=[
                    price(
                        A_ID, 2.0, market="asian_handicap", outcome="home", line=-0.25
                    ),
                    price(
                        A_ID, 2.0, market="asian_handicap", outcome="home", line=0.25
                    ),
                ],
            )
        ),
    )
    repeats = count(
        store,
        "SELECT count(*) FROM (SELECT match_id, bookmaker, market, timing, outcome, "
        "line FROM prices GROUP BY ALL HAVING count(*) > 1)",
    )
    assert repeats == 0
    assert count(store, "SELECT count(*) FROM prices") == 16


def test_a_changed_result_is_corrected_and_recorded(store):
    import_batch(store, batch(first_file()))
    fixed = dict(ARSENAL, home_goals=3)
    again = parsed("mmz4281/2324/E0.csv", matches=[fixed, BRENTFORD])
    report = import_batch(store, batch(again))
    assert (report.matches_updated, report.corrections) == (1, 1)
    assert report.matches_unchanged == 1
    stored = load_matches(store).filter(pl.col("match_id") == A_ID)
    assert stored["home_goals"].to_list() == [3]
    with store.read() as con:
        rows = con.execute(
            "SELECT match_id, old_home_goals, old_away_goals, new_home_goals, "
            "new_away_goals, source, import_id FROM corrections"
        ).fetchall()
        ids = con.execute(
            "SELECT first_import_id, last_import_id FROM matches WHERE match_id = ?",
            [A_ID],
        ).fetchone()
    assert rows == [(A_ID, 2, 1, 3, 1, "mmz4281/2324/E0.csv", "2")]
    assert ids == ("1", "2")


def test_a_new_kickoff_time_updates_without_a_correction(store):
    import_batch(store, batch(first_file()))
    timed = dict(ARSENAL, kickoff_time=time(12, 30))
    report = import_batch(store, batch(parsed("b.csv", matches=[timed])))
    assert (report.matches_updated, report.corrections) == (1, 0)
    stored = load_matches(store).filter(pl.col("match_id") == A_ID)
    assert stored["kickoff_time"].to_list() == [time(12, 30)]
    assert count(store, "SELECT count(*) FROM corrections") == 0


def test_a_fixture_becomes_a_match_when_its_result_arrives(store):
    import_batch(store, batch(first_file()))
    assert load_fixtures(store)["match_id"].to_list() == [L_ID]
    played = parsed("mmz4281/2930/E0.csv", matches=[LUTON_MATCH])
    report = import_batch(store, batch(played))
    assert (report.matches_added, report.fixtures_played) == (1, 1)
    assert load_fixtures(store).is_empty()
    assert L_ID in load_matches(store)["match_id"].to_list()
    assert load_prices(store, [L_ID]).height == 3  # its prices stay with it

    stale = parsed("old.csv", fixtures=[LUTON_FIXTURE])  # an old snapshot
    report = import_batch(store, batch(stale))
    assert report.fixtures_stored == 0
    assert load_fixtures(store).is_empty()


def test_a_fixture_and_its_match_in_one_batch_store_the_match(store):
    early = parsed("early.csv", fixtures=[LUTON_FIXTURE])
    late = parsed("late.csv", matches=[LUTON_MATCH])
    report = import_batch(store, batch(early, late))
    assert (report.matches_added, report.fixtures_stored) == (1, 0)
    assert load_fixtures(store).is_empty()


def test_a_moved_fixture_kickoff_time_is_updated(store):
    import_batch(store, batch(first_file()))
    moved = dict(LUTON_FIXTURE, kickoff_time=time(20, 0))
    report = import_batch(store, batch(parsed("f.csv", fixtures=[moved])))
    assert report.fixtures_stored == 1
    assert load_fixtures(store)["kickoff_time"].to_list() == [time(20, 0)]


def test_a_changed_price_is_updated_and_unknown_matches_are_skipped(store):
    import_batch(store, batch(first_file()))
    newer = parsed(
        "later.csv",
        matches=[ARSENAL],
        prices=[
            price(A_ID, 1.6, outcome="home"),
            price(A_ID, 1.8, market="over_under", outcome="over", line=2.5),
            price("E0-2023-08-20-Nobody-Else", 2.0),
        ],
    )
    report = import_batch(store, batch(newer))
    assert report.prices_stored == 1
    got = load_prices(store, [A_ID])
    home = got.filter(
        (pl.col("bookmaker") == "B365")
        & (pl.col("market") == "1x2")
        & (pl.col("outcome") == "home")
    )
    assert home["price"].to_list() == [1.6]
    assert (
        count(store, "SELECT count(*) FROM prices WHERE match_id LIKE '%Nobody%'") == 0
    )
    assert count(store, "SELECT import_id FROM prices WHERE price = 1.6") == "2"


def test_rejected_rows_are_kept_and_replaced_per_source(store):
    import_batch(store, batch(first_file()))
    assert count(store, "SELECT count(*) FROM rejected_rows") == 2

    same_source = parsed(
        "mmz4281/2324/E0.csv",
        matches=[ARSENAL],
        rejects=[rejected("mmz4281/2324/E0.csv", 9, "unparseable date")],
    )
    import_batch(store, batch(same_source))
    with store.read() as con:
        rows = con.execute(
            "SELECT import_id, source, line, reason FROM rejected_rows"
        ).fetchall()
    assert rows == [("2", "mmz4281/2324/E0.csv", 9, "unparseable date")]

    other = parsed("D1.csv", rejects=[rejected("D1.csv", 3, "missing team")])
    import_batch(store, batch(other))
    assert count(store, "SELECT count(*) FROM rejected_rows") == 2


def test_the_same_contents_under_another_name_replace_rejected_rows(store):
    one = parsed(
        "a/E0.csv",
        rejects=[rejected("a/E0.csv", 4, "missing team")],
        content="same bytes",
    )
    two = parsed(
        "b/E0.csv",
        rejects=[rejected("b/E0.csv", 4, "missing team")],
        content="same bytes",
    )
    assert one.sha256 == two.sha256
    import_batch(store, batch(one))
    import_batch(store, batch(two))
    with store.read() as con:
        rows = con.execute("SELECT source, line FROM rejected_rows").fetchall()
    assert rows == [("b/E0.csv", 4)]


def test_every_file_of_a_batch_gets_its_import_row(store):
    e0 = parsed("E0.csv", matches=[ARSENAL], rejects=[rejected("E0.csv", 2, "x")])
    e1 = parsed("E1.csv", matches=[BRENTFORD], league="E1")
    report = import_batch(store, batch(e0, e1))
    assert report.import_ids == ("1", "2")
    with store.read() as con:
        rows = con.execute(
            "SELECT import_id, source, league, rows_read, rows_accepted, "
            "rows_rejected FROM imports ORDER BY import_id"
        ).fetchall()
        origin = con.execute(
            "SELECT match_id, first_import_id FROM matches ORDER BY match_id"
        ).fetchall()
        reject_ids = con.execute("SELECT import_id FROM rejected_rows").fetchall()
    assert rows == [("1", "E0.csv", "E0", 2, 1, 1), ("2", "E1.csv", "E1", 1, 1, 0)]
    assert origin == [(A_ID, "1"), (B_ID, "2")]
    assert reject_ids == [("1",)]


def test_an_error_in_the_middle_leaves_the_store_as_it_was(store, monkeypatch):
    import_batch(store, batch(first_file()))
    before = snapshot(store)
    real = registry_matches._store_prices

    def fail_after_storing(con):
        real(con)
        assert con.execute("SELECT count(*) FROM matches").fetchone() == (4,)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(registry_matches, "_store_prices", fail_after_storing)
    bigger = parsed(
        "mmz4281/2324/E0.csv",
        matches=[dict(ARSENAL, home_goals=5), BRENTFORD, CHELSEA, LUTON_MATCH],
        prices=one_x_two(C_ID, 3.0, 3.0, 3.0),
        rejects=[rejected("mmz4281/2324/E0.csv", 11, "missing result")],
    )
    with pytest.raises(RuntimeError, match="disk on fire"):
        import_batch(store, batch(bigger))
    assert snapshot(store) == before


def test_a_row_that_breaks_a_store_rule_writes_nothing(store):
    import_batch(store, batch(first_file()))
    before = snapshot(store)
    bad = parsed("bad.csv", matches=[CHELSEA], prices=[price(C_ID, 0.9)])
    with pytest.raises(StoreError) as info:
        import_batch(store, batch(bad))
    assert "nothing was written" in str(info.value)
    assert "\n" not in str(info.value)
    assert snapshot(store) == before


def test_a_batch_with_the_wrong_columns_is_refused(store):
    good = batch(first_file())
    wrong = dataclasses.replace(good, matches=good.matches.drop("kickoff_time"))
    with pytest.raises(StoreError, match="batch matches has columns"):
        import_batch(store, wrong)
    assert not store.exists() or snapshot(store)["imports"] == []


def test_a_batch_that_repeats_a_key_is_refused(store):
    good = batch(first_file())
    twice = dataclasses.replace(good, prices=pl.concat([good.prices, good.prices]))
    with pytest.raises(StoreError, match="repeats a key"):
        import_batch(store, twice)


def test_an_empty_batch_changes_nothing(store):
    report = import_batch(store, batch())
    assert report.files == 0 and report.import_ids == ()
    assert all(rows == [] for rows in snapshot(store).values())


def test_rows_without_files_are_refused(store):
    orphan = ImportBatch(
        files=(),
        matches=batch(first_file()).matches,
        fixtures=batch().fixtures,
        prices=batch().prices,
        rejected=batch().rejected,
    )
    with pytest.raises(StoreError, match="no files"):
        import_batch(store, orphan)


def test_the_report_is_json_ready(store):
    report = import_batch(store, batch(first_file()))
    as_dict = report.to_dict()
    assert as_dict["import_ids"] == ["1"]
    assert set(as_dict) == {f.name for f in dataclasses.fields(report)}


def test_import_uses_one_write_transaction(store, monkeypatch):
    opened = []
    real_write = Store.write

    def counting_write(self):
        opened.append(1)
        return real_write(self)

    monkeypatch.setattr(Store, "write", counting_write)
    import_batch(store, batch(first_file(), parsed("E1.csv", matches=[CHELSEA])))
    assert opened == [1]


def test_a_real_season_imports_once(store, shared_data):
    football_data = pytest.importorskip("engine.football_data")
    paths = [shared_data / "mmz4281" / season / "E0.csv" for season in ("2223", "2324")]
    real = football_data.combine(football_data.read_paths(paths))
    report = import_batch(store, real)
    assert report.matches_added == 760 == count(store, "SELECT count(*) FROM matches")
    assert report.prices_stored == real.prices.height > 0
    again = import_batch(store, real)
    assert again.matches_unchanged == 760
    assert again.matches_added + again.matches_updated + again.prices_stored == 0


def test_a_damaged_store_is_a_one_line_error_and_writes_nothing(store):
    with store.write() as con:
        con.execute("DROP TABLE corrections")
    with pytest.raises(StoreError) as info:
        import_batch(store, batch(first_file()))
    assert "nothing was written" in str(info.value)
    assert "\n" not in str(info.value)
    with store.read() as con:
        assert con.execute("SELECT count(*) FROM imports").fetchone() == (0,)
