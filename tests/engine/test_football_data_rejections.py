"""The football-data.co.uk reader's rejected rows, folders and combined files.

See data/README.md for the contract; reading layouts, encodings and prices
is tested in ``test_football_data.py``.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import polars as pl
import pytest
from football_files import HEADER, REPO, SOURCE, TODAY, csv, one, prices_of, read

from engine.contract import (
    FIXTURE_SCHEMA,
    MATCH_SCHEMA,
    ParsedFile,
)
from engine.football_data import (
    FootballDataError,
    combine,
    expand_paths,
    load_team_aliases,
    read_path,
    read_paths,
)

# --- fixtures and rejected rows ---------------------------------------------------


def test_fixture_after_today_and_missing_result_on_or_before_today():
    data = csv(
        HEADER,
        "E0,02/06/2024,15:00,Arsenal,Wolves,,,,1.5,4,6",
        "E0,01/06/2024,15:00,Chelsea,Spurs,,,,2,3.4,3.8",
        "E0,31/05/2024,15:00,Leeds,Fulham,,,,2,3.4,3.8",
    )
    parsed = read(data)
    fixture = one(parsed.fixtures)
    assert fixture["match_id"] == "E0-2024-06-02-Arsenal-Wolves"
    assert fixture["kickoff_time"] == dt.time(15, 0)
    assert parsed.prices["match_id"].unique().to_list() == [fixture["match_id"]]
    assert parsed.rejected["reason"].to_list() == ["missing result"] * 2
    assert parsed.rejected["line"].to_list() == [3, 4]
    later = read(data, today=dt.date(2024, 5, 1))
    assert later.fixtures.height == 3 and later.rejected.is_empty()


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("E0,12/08/2023,,Arsenal,Wolves,-1,0,H,,,", "negative goals"),
        ("E0,12/08/2023,,Arsenal,Wolves,1,-2.0,H,,,", "negative goals"),
        ("E0,12/08/2023,,Arsenal,Wolves,2.5,1,H,,,", "fractional goals"),
        ("E0,12/08/2023,,Arsenal,Wolves,two,1,H,,,", "unparseable goals"),
        ("E0,12/08/2023,,Arsenal,Wolves,1,abc,H,,,", "unparseable goals"),
        ("E0,12/08/2023,,Arsenal,Wolves,nan,1,H,,,", "unparseable goals"),
        ("E0,12/08/2023,,Arsenal,Wolves,1,inf,H,,,", "unparseable goals"),
        ("E0,2023-08-12,,Arsenal,Wolves,1,0,H,,,", "unparseable date"),
        ("E0,31/02/2023,,Arsenal,Wolves,1,0,H,,,", "unparseable date"),
        ("E0,,,Arsenal,Wolves,1,0,H,,,", "unparseable date"),
        ("E0,12/08/2023,,,Wolves,1,0,H,,,", "missing team"),
        ("E0,12/08/2023,,Arsenal,  ,1,0,H,,,", "missing team"),
        ("E0,12/08/2023,,Arsenal,Arsenal ,1,0,H,,,", "same team at home and away"),
        ("E0,12/08/2023,,Arsenal,,1,0,H,,,", "missing team"),
        ("E0,12/08/2023,,Arsenal,Wolves,1,,H,,,", "missing result"),
        ("E0,12/08/2023,,Arsenal,Wolves,,,,,,", "missing result"),
        ("E0,12/08/2024,,Arsenal,Wolves,,,,1.0,3,4", "odds not above 1.0"),
        ("E0,12/08/2024,,Arsenal,Wolves,,,,2,0.5,4", "odds not above 1.0"),
    ],
)
def test_rejection_reasons(row, reason):
    good = "E0,11/08/2023,,Burnley,Luton,1,1,D,,,"
    parsed = read(csv(HEADER, good, row))
    assert one(parsed.rejected) == {
        "source": SOURCE,
        "line": 3,
        "raw": row,
        "reason": reason,
    }
    assert parsed.matches["match_id"].to_list() == ["E0-2023-08-11-Burnley-Luton"]
    assert parsed.rows_read == 2


def test_teams_that_are_the_same_club_after_aliases_are_rejected():
    data = csv(HEADER, "E0,12/08/2023,,Man Utd, Man United,1,0,H,,,")
    parsed = read(data, aliases={"Man Utd": "Man United"})
    assert one(parsed.rejected)["reason"] == "same team at home and away"
    assert parsed.matches.is_empty()


def test_played_match_keeps_its_result_when_a_price_is_not_above_one(caplog):
    data = csv(HEADER, "E0,12/08/2023,,Arsenal,Wolves,2,1,H,1.5,1.0,0")
    parsed = read(data)
    assert one(parsed.matches)["home_goals"] == 2
    assert parsed.rejected.is_empty()
    assert prices_of(parsed, "1x2") == [("B365", "opening", "home", None, 1.5)]
    assert "at or below 1.0" in caplog.text


def test_prices_that_are_not_numbers_are_absent():
    data = csv(HEADER, "E0,12/08/2023,,Arsenal,Wolves,2,1,H,n/a, - ,#VALUE!")
    parsed = read(data)
    assert parsed.matches.height == 1
    assert parsed.prices.is_empty() and parsed.rejected.is_empty()


def test_conflicting_copies_in_one_file_are_all_rejected():
    data = csv(
        HEADER,
        "E0,12/08/2023,,Arsenal,Wolves,2,1,H,1.5,4,6",
        "E0,12/08/2023,,Arsenal,Wolves,2,1,H,1.6,4,6",
        "E0,12/08/2023,,Arsenal,Wolves,2,2,D,1.5,4,6",
        "E0,13/08/2023,,Chelsea,Spurs,1,1,D,2,3,4",
        "E0,13/08/2023,,Chelsea,Spurs,1,1,D,2.1,3,4",
    )
    parsed = read(data)
    assert parsed.rejected["line"].to_list() == [2, 3, 4]
    assert set(parsed.rejected["reason"]) == {"conflicting duplicate"}
    assert one(parsed.matches)["match_id"] == "E0-2023-08-13-Chelsea-Spurs"
    home = parsed.prices.filter(pl.col("outcome") == "home")
    assert home["price"].to_list() == [2.1]


# --- folders and several files --------------------------------------------------


def test_read_paths_walks_folders_in_order(tmp_path):
    for folder, name in [("2324", "E0.csv"), ("2223", "E0.csv"), ("2223", "D1.CSV")]:
        (tmp_path / "mmz4281" / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / "mmz4281" / folder / name).write_bytes(
            csv(HEADER, f"E0,12/08/20{folder[:2]},,Arsenal,Wolves,1,0,H,,,")
        )
    (tmp_path / "notes.txt").write_text("not data")
    single = tmp_path / "mmz4281" / "2324" / "E0.csv"
    parsed = read_paths([tmp_path, str(single)], today=TODAY)
    assert [Path(p.source).relative_to(tmp_path).as_posix() for p in parsed] == [
        "mmz4281/2223/D1.CSV",
        "mmz4281/2223/E0.csv",
        "mmz4281/2324/E0.csv",
        "mmz4281/2324/E0.csv",
    ]
    assert [p.season for p in parsed] == [2022, 2022, 2023, 2023]
    assert combine(parsed).matches.height == 2


def test_read_paths_refuses_missing_paths_and_empty_folders(tmp_path):
    with pytest.raises(FootballDataError, match=r"does-not-exist\.csv does not exist"):
        read_paths([tmp_path / "does-not-exist.csv"])
    with pytest.raises(FootballDataError, match=r"holds no \.csv file"):
        read_paths([tmp_path])


def test_expand_paths_takes_files_by_extension_in_any_case_and_searches_folders(
    tmp_path,
):
    (tmp_path / "E0.CSV").write_bytes(csv(HEADER))
    (tmp_path / "D1.csv").write_bytes(csv(HEADER))
    (tmp_path / "notes.txt").write_text("not data")
    disguised = tmp_path / "old.csv"  # a folder named like a file
    disguised.mkdir()
    (disguised / "I1.Csv").write_bytes(csv(HEADER))
    (disguised / "empty.csv").mkdir()

    found = expand_paths([tmp_path])

    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "D1.csv",
        "E0.CSV",
        "old.csv/I1.Csv",
    ]
    assert [p.source for p in read_paths([tmp_path], today=TODAY)] == [
        str(p) for p in found
    ]


def test_expand_paths_walks_a_folder_linked_back_up_the_tree_once(tmp_path):
    (tmp_path / "season").mkdir()
    (tmp_path / "season" / "E0.csv").write_bytes(csv(HEADER))
    (tmp_path / "season" / "loop").symlink_to(tmp_path, target_is_directory=True)
    assert expand_paths([tmp_path]) == [tmp_path / "season" / "E0.csv"]


def test_a_file_that_cannot_be_opened_is_a_one_line_error(tmp_path, monkeypatch):
    locked = tmp_path / "E0.csv"
    locked.write_bytes(csv(HEADER))
    opened = Path.read_bytes

    def read_bytes(self):
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return opened(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    with pytest.raises(FootballDataError) as caught:
        read_paths([tmp_path])
    message = str(caught.value)
    assert message.startswith(f"{locked} could not be read (Permission denied)")
    assert "check that it exists and that you may read it" in message
    assert "\n" not in message
    with pytest.raises(FootballDataError, match="could not be read"):
        read_path(tmp_path)  # a folder is not a file


def test_a_folder_that_cannot_be_listed_is_an_error(tmp_path, monkeypatch):
    (tmp_path / "E0.csv").write_bytes(csv(HEADER))
    locked = tmp_path / "private"
    locked.mkdir()
    (locked / "D1.csv").write_bytes(csv(HEADER))
    listed = os.scandir

    def scandir(path):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return listed(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(FootballDataError) as caught:
        expand_paths([tmp_path])
    assert str(caught.value).startswith(
        f"{locked} could not be listed (Permission denied)"
    )


def test_combine_rejects_conflicting_copies_across_files():
    first = read(
        csv(
            HEADER,
            "E0,12/08/2023,,Arsenal,Wolves,2,1,H,1.5,4,6",
            "E0,13/08/2023,,Chelsea,Spurs,1,1,D,2,3,4",
        ),
        "a/mmz4281/2324/E0.csv",
    )
    second = read(
        csv(
            HEADER,
            "E0,13/08/2023,,Chelsea,Spurs,1,1,D,2.2,3,4",
            "",
            "E0,12/08/2023,,Arsenal,Wolves,2,2,D,1.5,4,6",
        ),
        "b/mmz4281/2324/E0.csv",
    )
    batch = combine([first, second])

    assert batch.files[0] is first and batch.files[1] is second
    assert batch.rejected.rows() == [
        (
            "a/mmz4281/2324/E0.csv",
            2,
            "E0,12/08/2023,,Arsenal,Wolves,2,1,H,1.5,4,6",
            "conflicting duplicate",
        ),
        (
            "b/mmz4281/2324/E0.csv",
            4,
            "E0,12/08/2023,,Arsenal,Wolves,2,2,D,1.5,4,6",
            "conflicting duplicate",
        ),
    ]
    assert batch.matches["match_id"].to_list() == ["E0-2023-08-13-Chelsea-Spurs"]
    assert batch.prices["match_id"].unique().to_list() == [
        "E0-2023-08-13-Chelsea-Spurs"
    ]
    assert batch.prices.filter(pl.col("outcome") == "home")["price"].to_list() == [2.2]


def test_combine_drops_fixtures_that_were_played_and_keeps_their_prices():
    fixtures = read(
        csv(HEADER, "E0,12/08/2023,,Arsenal,Wolves,,,,1.5,4,6"),
        "fixtures.csv",
        today=dt.date(2023, 8, 1),
    )
    results = read(csv(HEADER, "E0,12/08/2023,,Arsenal,Wolves,2,1,H,1.6,,"))
    assert fixtures.fixtures.height == 1
    batch = combine([fixtures, results])
    assert batch.fixtures.is_empty()
    assert one(batch.matches)["home_goals"] == 2
    assert sorted(batch.prices["price"].to_list()) == [1.6, 4.0, 6.0]
    assert batch.rejected.is_empty()
    assert batch.matches.schema == pl.Schema(MATCH_SCHEMA)
    assert batch.fixtures.schema == pl.Schema(FIXTURE_SCHEMA)


def test_combine_keeps_identical_copies_once_and_keeps_other_rejections():
    data = csv(
        HEADER,
        "E0,12/08/2023,,Arsenal,Wolves,2,1,H,1.5,4,6",
        "E0,13/08/2023,,Chelsea,Spurs,x,1,D,2,3,4",
    )
    batch = combine([read(data, "a.csv"), read(data, "b.csv")])
    assert batch.matches.height == 1
    assert batch.prices.height == 3
    assert batch.rejected.select("source", "line", "reason").rows() == [
        ("a.csv", 3, "unparseable goals"),
        ("b.csv", 3, "unparseable goals"),
    ]


def test_combine_accepts_a_plain_parsed_file():
    parsed = read(csv(HEADER, "E0,12/08/2023,,Arsenal,Wolves,2,1,H,1.5,4,6"))
    plain = ParsedFile(
        source="elsewhere",
        sha256="0" * 64,
        league="E0",
        season=2023,
        rows_read=1,
        matches=parsed.matches.with_columns(pl.lit(3, pl.Int32).alias("home_goals")),
        fixtures=parsed.fixtures,
        prices=parsed.prices,
        rejected=parsed.rejected,
    )
    batch = combine([parsed, plain])
    assert batch.matches.is_empty()
    assert batch.rejected.select("source", "line", "reason").rows() == [
        (SOURCE, 2, "conflicting duplicate"),
        ("elsewhere", None, "conflicting duplicate"),
    ]


# --- the real files -------------------------------------------------------------

DIVISION_SIZES = {
    "E0": {20},
    "E1": {24},
    "D1": {18},
    "SP1": {20},
    "I1": {18, 20},
    "F1": {18, 20},
}


def test_every_real_file_is_read_without_losing_a_match(shared_data):
    aliases = load_team_aliases(REPO / "configs" / "team_aliases.toml")
    files = read_paths([shared_data / "mmz4281"], aliases=aliases)
    batch = combine(files)

    assert len(files) == 142
    assert batch.matches.height == 54_655
    assert batch.rejected.is_empty()
    assert batch.fixtures.is_empty()
    assert sorted(batch.matches["league"].unique()) == [
        "D1",
        "E0",
        "E1",
        "F1",
        "I1",
        "SP1",
    ]
    assert all(f.league is not None and f.season is not None for f in files)
    teams = pl.concat(
        [
            batch.matches.select("league", "season", team="home_team"),
            batch.matches.select("league", "season", team="away_team"),
        ]
    )
    sizes = teams.group_by("league", "season").agg(pl.col("team").n_unique())
    for league, season, size in sizes.rows():
        assert size in DIVISION_SIZES[league], (league, season, size)
    assert batch.prices["price"].min() > 1.0
