"""What the store reports and returns: data status and the load functions."""

from __future__ import annotations

import json
from datetime import date, datetime, time

import polars as pl
import pytest
from registry_batches import batch, fixture, match, one_x_two, parsed, rejected

from engine.contract import FIXTURE_SCHEMA, MATCH_SCHEMA, PRICE_SCHEMA
from registry.matches import (
    import_batch,
    load_fixtures,
    load_matches,
    load_prices,
)
from registry.status import data_status
from registry.store import Store, StoreError

STATUS_KEYS = {
    "matches",
    "fixtures",
    "prices",
    "imports",
    "rejected_rows",
    "last_import_at",
    "seasons",
    "rejected_by_reason",
    "rejected_by_source",
}
SEASON_KEYS = {"league", "season", "matches", "first_kickoff", "last_kickoff", "teams"}

E0 = [
    match("E0", date(2022, 8, 5), "Palace", "Arsenal", 0, 2, kickoff_time=time(20)),
    match("E0", date(2023, 5, 28), "Everton", "Bournemouth", 1, 0),
    match("E0", date(2023, 8, 11), "Burnley", "Man City", 0, 3),
    match("E0", date(2023, 8, 12), "Arsenal", "Forest", 2, 1, kickoff_time=time(15)),
    match("E0", date(2023, 8, 12), "Bournemouth", "West Ham", 1, 1),
    match("E0", date(2023, 8, 12), "Arsenal", "Palace", 1, 0, kickoff_time=time(12)),
]
D1 = [match("D1", date(2023, 8, 18), "Bremen", "Bayern", 0, 4)]
FIXTURES = [
    fixture("E0", date(2031, 1, 2), "Luton", "Everton"),
    fixture("D1", date(2031, 1, 1), "Koln", "Mainz"),
]


@pytest.fixture
def store(tmp_path) -> Store:
    store = Store(tmp_path / "store.duckdb")
    e0 = parsed(
        "E0.csv",
        matches=E0,
        fixtures=FIXTURES[:1],
        prices=[
            *one_x_two(E0[3]["match_id"], 1.5, 4.0, 6.0),
            *one_x_two(E0[4]["match_id"], 2.5, 3.2, 2.9),
            *one_x_two(FIXTURES[0]["match_id"], 2.0, 3.0, 4.0),
        ],
        rejects=[rejected("E0.csv", line, "negative goals") for line in (9, 4, 7, 12)]
        + [rejected("E0.csv", 20, "unparseable date")],
    )
    d1 = parsed(
        "D1.csv",
        matches=D1,
        fixtures=FIXTURES[1:],
        league="D1",
        rejects=[rejected("D1.csv", 3, "missing team")],
    )
    import_batch(store, batch(e0, d1))
    return store


def test_an_empty_store_reports_empty(tmp_path):
    status = data_status(Store(tmp_path / "empty.duckdb"))
    assert status.is_empty
    as_dict = status.to_dict()
    assert set(as_dict) == STATUS_KEYS
    assert as_dict["matches"] == as_dict["rejected_rows"] == 0
    assert as_dict["seasons"] == [] and as_dict["last_import_at"] is None
    assert json.loads(json.dumps(as_dict)) == as_dict


def test_status_counts_and_groups_what_is_stored(store):
    status = data_status(store)
    assert not status.is_empty
    as_dict = status.to_dict()
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert set(as_dict) == STATUS_KEYS
    assert (as_dict["matches"], as_dict["fixtures"], as_dict["prices"]) == (7, 2, 9)
    assert (as_dict["imports"], as_dict["rejected_rows"]) == (2, 6)
    datetime.fromisoformat(as_dict["last_import_at"])

    seasons = as_dict["seasons"]
    assert all(set(row) == SEASON_KEYS for row in seasons)
    assert [(s["league"], s["season"], s["matches"]) for s in seasons] == [
        ("D1", 2023, 1),
        ("E0", 2022, 2),
        ("E0", 2023, 4),
    ]
    e0_2023 = seasons[2]
    assert (e0_2023["first_kickoff"], e0_2023["last_kickoff"]) == (
        "2023-08-11",
        "2023-08-12",
    )
    assert e0_2023["teams"] == 7  # Burnley, Man City, Arsenal, Forest, ...

    assert as_dict["rejected_by_reason"] == [
        {"reason": "negative goals", "rows": 4},
        {"reason": "missing team", "rows": 1},
        {"reason": "unparseable date", "rows": 1},
    ]
    by_source = {group["source"]: group for group in as_dict["rejected_by_source"]}
    assert list(by_source) == ["D1.csv", "E0.csv"]
    assert by_source["E0.csv"]["rows"] == 5
    assert [e["line"] for e in by_source["E0.csv"]["examples"]] == [4, 7, 9]
    assert set(by_source["D1.csv"]["examples"][0]) == {"line", "raw", "reason"}


def test_load_matches_returns_the_contract_schema_in_kickoff_order(store):
    got = load_matches(store)
    assert dict(got.schema) == MATCH_SCHEMA
    assert got.height == 7
    e0_day = got.filter(pl.col("kickoff") == date(2023, 8, 12))
    assert e0_day["kickoff_time"].to_list() == [None, time(12), time(15)]
    assert got["kickoff"].is_sorted()


def test_load_matches_filters_by_league_and_window(store):
    assert load_matches(store, leagues=["D1"])["league"].to_list() == ["D1"]
    assert load_matches(store, leagues="D1").height == 1
    assert load_matches(store, leagues=["E0", "D1"]).height == 7
    assert load_matches(store, leagues=[]).is_empty()
    before = load_matches(store, until=date(2023, 8, 12))
    assert before["kickoff"].max() == date(2023, 8, 11)  # strictly before
    since = load_matches(store, since=date(2023, 8, 12))
    assert since["kickoff"].min() == date(2023, 8, 12)  # on or after
    window = load_matches(
        store, leagues=["E0"], since=date(2023, 1, 1), until=date(2023, 8, 12)
    )
    assert window["match_id"].to_list() == [E0[1]["match_id"], E0[2]["match_id"]]
    assert dict(load_matches(store, leagues=["XX"]).schema) == MATCH_SCHEMA


def test_load_fixtures_and_prices(store):
    fixtures = load_fixtures(store)
    assert dict(fixtures.schema) == FIXTURE_SCHEMA
    assert fixtures["league"].to_list() == ["D1", "E0"]
    assert load_fixtures(store, leagues=["E0"]).height == 1
    assert load_fixtures(store, since=date(2031, 1, 2))["league"].to_list() == ["E0"]

    every = load_prices(store)
    assert dict(every.schema) == PRICE_SCHEMA
    assert every.height == 9
    some = load_prices(store, [E0[3]["match_id"], FIXTURES[0]["match_id"]])
    assert some.height == 6
    assert some["line"].null_count() == 6
    assert load_prices(store, []).is_empty()
    assert dict(load_prices(store, []).schema) == PRICE_SCHEMA


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"leagues": [""]}, "leagues"),
        ({"leagues": [1]}, "leagues"),
        ({"until": "2024-01-01"}, "until"),
        ({"since": 2023}, "since"),
    ],
)
def test_bad_filters_are_one_line_errors(store, kwargs, word):
    with pytest.raises(StoreError, match=word) as info:
        load_matches(store, **kwargs)
    assert "\n" not in str(info.value)
