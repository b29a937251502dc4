"""Reading football-data.co.uk files: layouts, encodings, prices and bad files.

Rejected rows, folders, combining files and the real files are in
``test_football_data_rejections.py``.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import polars as pl
import pytest
from football_files import HEADER, REPO, SOURCE, csv, one, prices_of, read

from engine.contract import (
    FIXTURE_SCHEMA,
    MATCH_SCHEMA,
    PRICE_SCHEMA,
    REJECTED_SCHEMA,
)
from engine.football_data import (
    FootballDataError,
    load_team_aliases,
)

# --- a plain file --------------------------------------------------------------


def test_reads_a_season_file_into_the_contract_frames():
    data = csv(
        HEADER,
        "E0,12/08/2023,15:00,Arsenal,Nott'm Forest,2,1,H,1.25,6.5,11",
        "E0,11/08/2023,20:00,Burnley,Man City,0,3,A,8.5,5.25,1.33",
    )
    parsed = read(data)

    assert parsed.source == SOURCE
    assert parsed.sha256 == hashlib.sha256(data).hexdigest()
    assert (parsed.league, parsed.season, parsed.rows_read) == ("E0", 2023, 2)
    assert parsed.matches.schema == pl.Schema(MATCH_SCHEMA)
    assert parsed.fixtures.schema == pl.Schema(FIXTURE_SCHEMA)
    assert parsed.prices.schema == pl.Schema(PRICE_SCHEMA)
    assert parsed.rejected.schema == pl.Schema(REJECTED_SCHEMA)
    assert parsed.matches["match_id"].to_list() == [
        "E0-2023-08-11-Burnley-Man City",
        "E0-2023-08-12-Arsenal-Nott'm Forest",
    ]
    first = parsed.matches.row(0, named=True)
    assert first["kickoff"] == dt.date(2023, 8, 11)
    assert first["kickoff_time"] == dt.time(20, 0)
    assert (first["home_goals"], first["away_goals"]) == (0, 3)
    assert parsed.prices.filter(
        pl.col("match_id") == "E0-2023-08-12-Arsenal-Nott'm Forest"
    ).select("bookmaker", "market", "timing", "outcome", "line", "price").rows() == [
        ("B365", "1x2", "opening", "home", None, 1.25),
        ("B365", "1x2", "opening", "draw", None, 6.5),
        ("B365", "1x2", "opening", "away", None, 11.0),
    ]
    assert parsed.rejected.is_empty() and parsed.fixtures.is_empty()


def test_matches_are_sorted_by_kickoff_then_key():
    rows = [
        "E0,02/09/2023,,Wolves,Arsenal,1,1,D,,,",
        "E0,01/09/2023,,Spurs,Chelsea,1,1,D,,,",
        "E0,02/09/2023,,Brighton,Fulham,1,1,D,,,",
    ]
    parsed = read(csv(HEADER, *rows))
    assert parsed.matches["match_id"].to_list() == [
        "E0-2023-09-01-Spurs-Chelsea",
        "E0-2023-09-02-Brighton-Fulham",
        "E0-2023-09-02-Wolves-Arsenal",
    ]
    again = read(csv(HEADER, *reversed(rows)))
    assert again.matches.equals(parsed.matches)


# --- encodings, line endings, blank lines, ragged rows ---------------------------


def test_utf8_bom_and_windows_line_endings():
    lines = (HEADER, "E0,12/08/2023,15:00,Arsenal,Wolves,2,1,H,1.5,4,6")
    plain = read(csv(*lines))
    bom = read(b"\xef\xbb\xbf" + csv(*lines, newline="\r\n"))
    assert bom.matches.equals(plain.matches)
    assert bom.prices.equals(plain.prices)
    assert one(bom.matches)["league"] == "E0"


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])
def test_latin1_and_windows_1252_files(encoding):
    data = csv(
        "Div,Date,HomeTeam,AwayTeam,FTHG,FTAG,Referee",
        "SP1,10/09/2000,Málaga,Deportivo Alavés,1,1,José Núñez",
        encoding=encoding,
    )
    match = one(read(data, "mmz4281/0001/SP1.csv").matches)
    assert (match["home_team"], match["away_team"]) == ("Málaga", "Deportivo Alavés")


def test_blank_and_comma_only_lines_are_skipped_and_lines_stay_physical():
    data = csv(
        HEADER,
        "E0,12/08/2023,,Arsenal,Wolves,2,1,H,,,",
        "",
        ",,,,,,,,,,",
        "E0,13/08/2023,,Chelsea,Spurs,-1,0,A,,,",
        "   ",
        ",,,,,,,,,,",
        "",
    )
    parsed = read(data)
    assert parsed.rows_read == 2
    assert parsed.matches.height == 1
    assert one(parsed.rejected) == {
        "source": SOURCE,
        "line": 5,
        "raw": "E0,13/08/2023,,Chelsea,Spurs,-1,0,A,,,",
        "reason": "negative goals",
    }


def test_line_numbers_with_crlf_and_a_quoted_cell():
    data = csv(
        HEADER,
        'E0,12/08/2023,,"Arsenal",Wolves,2,1,H,,,',
        "",
        "E0,13/08/2023,,Chelsea,Spurs,x,0,A,,,",
        newline="\r\n",
    )
    rejected = one(read(data).rejected)
    assert (rejected["line"], rejected["raw"]) == (
        4,
        "E0,13/08/2023,,Chelsea,Spurs,x,0,A,,,",
    )


def test_trailing_empty_columns_and_ragged_rows():
    data = csv(
        HEADER + ",,,",
        "E0,12/08/2023,15:00,Arsenal,Wolves,2,1,H,1.5,4",
        "E0,13/08/2023,15:00,Chelsea,Spurs,0,0,D,2,3.4,3.8,,,,,",
        "E0,14/08/2023,15:00,Leeds,Fulham,1,0,H,2,3.4,3.8,9,9,9",
        "E0,15/08/2023",
    )
    parsed = read(data)
    assert parsed.matches.height == 3
    short = parsed.prices.filter(pl.col("match_id").str.contains("Arsenal"))
    assert short["outcome"].to_list() == ["home", "draw"]
    assert parsed.prices.height == 2 + 3 + 3
    assert one(parsed.rejected)["reason"] == "missing team"


# --- header variants, numbers and dates ------------------------------------------


def test_ht_and_at_team_columns_in_older_files():
    data = csv(
        "Div,Date,HT,AT,FTHG,FTAG,HTHG,HTAG",
        "D1,11/08/00,Dortmund,Hansa Rostock,1,0,0,0",
    )
    match = one(read(data, "mmz4281/0001/D1.csv").matches)
    assert (match["home_team"], match["away_team"]) == ("Dortmund", "Hansa Rostock")
    assert (match["home_goals"], match["away_goals"]) == (1, 0)


def test_ht_is_not_a_team_column_when_hometeam_is_present():
    data = csv(
        "Div,Date,HomeTeam,AwayTeam,FTHG,FTAG,HT,AT",
        "E0,12/08/2023,Arsenal,Wolves,2,1,1,0",
    )
    match = one(read(data).matches)
    assert (match["home_team"], match["away_team"]) == ("Arsenal", "Wolves")


def test_home_away_hg_ag_layout_without_div():
    data = csv(
        "Country,League,Season,Date,Time,Home,Away,HG,AG,Res,PH,PD,PA",
        "Brazil,Brasileirao,2023,15/04/2023,21:00,Palmeiras,Cuiaba,2,1,H,1.4,4.5,8",
    )
    parsed = read(data, "new/BRA.csv")
    match = one(parsed.matches)
    assert match["match_id"] == "BRA-2023-04-15-Palmeiras-Cuiaba"
    assert (parsed.league, parsed.season) == ("BRA", 2022)
    assert prices_of(parsed, "1x2")[0][:3] == ("PS", "opening", "away")


def test_goals_written_as_whole_floats():
    data = csv(HEADER, "E0,12/08/2023,,Arsenal,Wolves,2.0,0.0,H,,,")
    match = one(read(data).matches)
    assert (match["home_goals"], match["away_goals"]) == (2, 0)


def test_two_and_four_digit_years_mixed_in_one_file():
    data = csv(
        "Div,Date,HomeTeam,AwayTeam,FTHG,FTAG",
        "E0,19/08/00,Arsenal,Leeds,1,0",
        "E0,20/08/2000,Chelsea,Spurs,1,0",
        "E0,05/05/49,Everton,Stoke,1,0",
        "E0,05/05/99,Derby,Leeds,1,0",
    )
    kickoffs = read(data, "E0.csv").matches["kickoff"].to_list()
    assert kickoffs == [
        dt.date(1999, 5, 5),
        dt.date(2000, 8, 19),
        dt.date(2000, 8, 20),
        dt.date(2049, 5, 5),
    ]


def test_season_from_kickoff_when_the_path_has_no_season_folder():
    data = csv(
        "Div,Date,HomeTeam,AwayTeam,FTHG,FTAG",
        "E1,30/06/2020,Leeds,Fulham,1,0",
        "E1,01/07/2020,Derby,Stoke,1,0",
    )
    parsed = read(data, "downloads/E1.csv")
    assert parsed.matches["season"].to_list() == [2019, 2020]
    assert (parsed.league, parsed.season) == ("E1", None)


def test_season_from_a_url_of_the_site_layout():
    data = csv("Div,Date,HomeTeam,AwayTeam,FTHG,FTAG", "E0,01/05/2000,Leeds,Derby,1,0")
    url = "https://www.football-data.co.uk/mmz4281/9900/E0.csv"
    assert read(data, url).season == 1999


def test_team_names_are_trimmed_collapsed_and_aliased():
    data = csv(
        "Div,Date,HomeTeam,AwayTeam,FTHG,FTAG",
        "D1,01/09/2023,  M'Gladbach ,Union   Berlin,1,0",
        "D1,02/09/2023,Bayern Munich,M'gladbach,1,0",
    )
    parsed = read(data, "D1.csv", aliases={"M'Gladbach": "M'gladbach"})
    teams = set(parsed.matches["home_team"]) | set(parsed.matches["away_team"])
    assert teams == {"M'gladbach", "Union Berlin", "Bayern Munich"}


# --- price columns --------------------------------------------------------------


def test_price_columns_are_found_from_the_header():
    header = (
        "Div,Date,HomeTeam,AwayTeam,FTHG,FTAG,HS,AS,HC,AC,HY,AY,HR,AR,HST,AST,"
        "B365H,B365D,B365A,PSH,PSD,PSA,PSCH,PSCD,PSCA,BbMxH,BbMxD,BbMxA,Bb1X2,"
        "BbOU,BbAv>2.5,BbAv<2.5,BbAH,BbAHh,BbAvAHH,BbAvAHA,1XBH,1XBD,1XBA"
    )
    row = (
        "E0,12/08/2018,Arsenal,Wolves,2,1,12,5,7,2,1,3,0,0,6,2,"
        "1.5,4.2,6.5,1.52,4.3,6.8,1.55,4.1,6.2,1.6,4.5,7,40,"
        "38,1.7,2.1,20,-1.25,1.95,1.93,1.51,4.3,6.9"
    )
    parsed = read(csv(header, row), "mmz4281/1819/E0.csv")
    assert prices_of(parsed, "1x2") == sorted(
        [
            ("1XB", "opening", "home", None, 1.51),
            ("1XB", "opening", "draw", None, 4.3),
            ("1XB", "opening", "away", None, 6.9),
            ("B365", "opening", "home", None, 1.5),
            ("B365", "opening", "draw", None, 4.2),
            ("B365", "opening", "away", None, 6.5),
            ("Max", "opening", "home", None, 1.6),
            ("Max", "opening", "draw", None, 4.5),
            ("Max", "opening", "away", None, 7.0),
            ("PS", "closing", "home", None, 1.55),
            ("PS", "closing", "draw", None, 4.1),
            ("PS", "closing", "away", None, 6.2),
            ("PS", "opening", "home", None, 1.52),
            ("PS", "opening", "draw", None, 4.3),
            ("PS", "opening", "away", None, 6.8),
        ],
        key=str,
    )
    assert prices_of(parsed, "over_under") == [
        ("Avg", "opening", "over", 2.5, 1.7),
        ("Avg", "opening", "under", 2.5, 2.1),
    ]
    assert prices_of(parsed, "asian_handicap") == [
        ("Avg", "opening", "away", -1.25, 1.93),
        ("Avg", "opening", "home", -1.25, 1.95),
    ]


def test_recent_price_columns_with_closing_and_pinnacle_p():
    header = (
        "Div,Date,Time,HomeTeam,AwayTeam,FTHG,FTAG,MaxH,MaxD,MaxA,AvgCH,AvgCD,AvgCA,"
        "B365>2.5,B365<2.5,P>2.5,P<2.5,Max>2.5,B365C>2.5,PC<2.5,AvgC>2.5,"
        "AHh,B365AHH,PAHA,AvgAHH,AHCh,B365CAHH,PCAHA,AvgCAHH,MaxCAHA"
    )
    row = (
        "E0,12/08/2023,15:00,Arsenal,Wolves,2,1,1.6,4.5,7,1.5,4.4,6.6,"
        "1.8,2,1.85,2.05,1.9,1.75,2.1,1.8,"
        "-1.5,2.0,1.9,1.95,-1.75,2.1,1.85,2.05,1.9"
    )
    parsed = read(csv(header, row))
    assert sorted(r[:2] for r in prices_of(parsed, "1x2")) == (
        [("Avg", "closing")] * 3 + [("Max", "opening")] * 3
    )
    assert prices_of(parsed, "over_under") == [
        ("Avg", "closing", "over", 2.5, 1.8),
        ("B365", "closing", "over", 2.5, 1.75),
        ("B365", "opening", "over", 2.5, 1.8),
        ("B365", "opening", "under", 2.5, 2.0),
        ("Max", "opening", "over", 2.5, 1.9),
        ("PS", "closing", "under", 2.5, 2.1),
        ("PS", "opening", "over", 2.5, 1.85),
        ("PS", "opening", "under", 2.5, 2.05),
    ]
    assert prices_of(parsed, "asian_handicap") == [
        ("Avg", "closing", "home", -1.75, 2.05),
        ("Avg", "opening", "home", -1.5, 1.95),
        ("B365", "closing", "home", -1.75, 2.1),
        ("B365", "opening", "home", -1.5, 2.0),
        ("Max", "closing", "away", -1.75, 1.9),
        ("PS", "closing", "away", -1.75, 1.85),
        ("PS", "opening", "away", -1.5, 1.9),
    ]


def test_bookmakers_own_handicap_lines_in_older_files():
    header = "Div,Date,HomeTeam,AwayTeam,FTHG,FTAG,GBAHH,GBAHA,GBAH,LBAHH,LBAHA,LBAH"
    rows = (
        "E1,02/04/05,Stoke,Leeds,1,2,1.85,2,-0.75,1.9,1.9,-1 1/4",
        "E1,03/04/05,Wigan,Derby,1,2,1.8,2.04,-0.5/-1,1.8,2.04,",
    )
    parsed = read(csv(header, *rows), "mmz4281/0405/E1.csv")
    lines = parsed.prices.select("match_id", "bookmaker", "line").unique()
    lines = lines.sort("match_id", "bookmaker")
    assert lines.rows() == [
        ("E1-2005-04-02-Stoke-Leeds", "GB", -0.75),
        ("E1-2005-04-02-Stoke-Leeds", "LB", -1.25),
        ("E1-2005-04-03-Wigan-Derby", "GB", -0.75),
    ]


# --- files that cannot be read --------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "is empty"),
        (b" \r\n\r\n,,,\n", "is empty"),
        (b"\xef\xbb\xbf", "is empty"),
        (b"PK\x03\x04\x14\x00\x00\x00rest", "zip archive"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG image"),
        (b"Div,Date\x00,HomeTeam", "NUL bytes"),
        (
            b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>"
            b"<body><h1>Not Found</h1></body></html>\n",
            "HTML/XML page",
        ),
        (b"\n  <html><body>Service Unavailable</body></html>", "HTML/XML page"),
        (b"a,b,c\n1,2,3\n", "no result columns"),
        (b"Div,HomeTeam,AwayTeam,FTHG,FTAG\nE0,Leeds,Derby,1,0\n", "no result columns"),
        (b"Div,Date,HomeTeam,AwayTeam,FTHG\nE0,01/01/20,Leeds,Derby,1\n", "FTHG/FTAG"),
        (b"404 Not Found\n", "no result columns"),
    ],
)
def test_files_that_cannot_be_read(data, expected):
    with pytest.raises(FootballDataError) as caught:
        read(data, "somewhere/E0.csv")
    message = str(caught.value)
    assert expected in message
    assert "somewhere/E0.csv" in message
    assert "\n" not in message


def test_header_only_file_has_no_rows():
    parsed = read(csv(HEADER))
    assert parsed.rows_read == 0
    assert parsed.matches.is_empty() and parsed.rejected.is_empty()
    assert parsed.matches.schema == pl.Schema(MATCH_SCHEMA)


def test_a_file_of_fixtures_only_without_goal_columns():
    data = csv(
        "Div,Date,Time,HomeTeam,AwayTeam,B365H,B365D,B365A",
        "E0,10/08/2024,15:00,Arsenal,Wolves,1.3,5,9",
        "SP1,11/08/2024,20:00,Betis,Girona,2.1,3.4,3.3",
    )
    parsed = read(data, "fixtures.csv")
    assert parsed.fixtures["league"].to_list() == ["E0", "SP1"]
    assert parsed.league is None and parsed.prices.height == 6


# --- team aliases ---------------------------------------------------------------


def test_load_team_aliases(tmp_path):
    path = tmp_path / "aliases.toml"
    path.write_text(
        '[aliases]\n"M\'Gladbach" = "M\'gladbach"\n" Man  Utd " = "Man  United"\n'
    )
    assert load_team_aliases(path) == {
        "M'Gladbach": "M'gladbach",
        "Man Utd": "Man United",
    }


def test_shipped_team_aliases_are_valid():
    aliases = load_team_aliases(REPO / "configs" / "team_aliases.toml")
    assert aliases["M'Gladbach"] == "M'gladbach"
    assert "F Koln" not in aliases


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[aliases]\n"A" = "B"\n"B" = "C"\n', "alias 'A' points at 'B'"),
        ('[aliases]\n"A" = "B"\n"B" = "A"\n', "itself an alias"),
        ('[aliases]\n"A" = "A"\n', "alias 'A' points at 'A'"),
        ('[aliases]\n"A" = 3\n', "alias 'A' must map"),
        ('[aliases]\n"A" = "  "\n', "alias 'A' must map"),
        ("[aliases]\nE0.A = 'B'\n", "alias 'E0' must map"),
        ('[teams]\n"A" = "B"\n', "no [aliases] table"),
        ('aliases = "A"\n', "no [aliases] table"),
        ('[aliases\n"A" = "B"\n', "not valid UTF-8 TOML"),
    ],
)
def test_bad_team_alias_files(tmp_path, text, expected):
    path = tmp_path / "aliases.toml"
    path.write_text(text)
    with pytest.raises(ValueError) as caught:
        load_team_aliases(path)
    message = str(caught.value)
    assert expected in message and str(path) in message
    assert "\n" not in message


def test_missing_team_alias_file(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_team_aliases(tmp_path / "absent.toml")
