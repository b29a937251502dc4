import polars as pl
import pytest

from engine.fixture_list import FixtureListError, read_fixture_list

HEADER = "league,kickoff,home_team,away_team"


def read(text: str, **kwargs) -> pl.DataFrame:
    return read_fixture_list(text.encode("utf-8"), "fixtures.csv", **kwargs)


def test_required_columns_first_and_extras_keep_their_types():
    frame = read(
        "note,away_team,home_team,kickoff,league,B365H\n"
        "x,Everton,Arsenal,2024-05-19,E0,1.25\n"
    )
    assert frame.columns == [
        "league",
        "kickoff",
        "home_team",
        "away_team",
        "note",
        "B365H",
    ]
    assert frame["B365H"].dtype == pl.Float64
    assert str(frame["kickoff"][0]) == "2024-05-19"


def test_date_formats_whitespace_and_aliases():
    frame = read(
        f"{HEADER}\nD1,19/05/2024,  M'gladbach ,FC  Koln\nD1,20/05/24,A,B\n",
        aliases={"M'gladbach": "M'Gladbach"},
    )
    assert frame["home_team"].to_list() == ["M'Gladbach", "A"]
    assert frame["away_team"].to_list() == ["FC Koln", "B"]
    assert [str(d) for d in frame["kickoff"]] == ["2024-05-19", "2024-05-20"]


def test_latin1_and_bom_files():
    latin = f"{HEADER}\nSP1,2024-05-19,Alavés,Cádiz\n".encode("latin-1")
    frame = read_fixture_list(latin, "f.csv")
    assert frame["home_team"][0] == "Alavés"
    bom = b"\xef\xbb\xbf" + f"{HEADER}\nE0,2024-05-19,A,B\n".encode()
    assert read_fixture_list(bom, "f.csv").columns[0] == "league"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "league,kickoff,home_team\nE0,2024-01-01,A\n",
            "lacks the column(s) away_team",
        ),
        (f"{HEADER}\nE0,2024-31-01,A,B\n", "line 2: kickoff '2024-31-01'"),
        (f"{HEADER}\nE0,2024-01-01,,B\n", "line 2: league, home_team and away_team"),
        (f"{HEADER}\nE0,2024-01-01,A,B\nE0,2024-01-02,A,A\n", "line 3: A cannot play"),
        (f"{HEADER}\n", "holds no fixture"),
    ],
)
def test_bad_lists_name_the_line_and_the_fix(text, expected):
    with pytest.raises(FixtureListError) as info:
        read(text)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_binary_file_is_refused():
    with pytest.raises(FixtureListError, match=r"fixtures\.csv"):
        read_fixture_list(b"\x89PNG\r\n\x1a\n\x00\x00", "fixtures.csv")
