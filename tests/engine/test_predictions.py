"""The prediction table and the spreadsheet-safe CSV writer."""

import datetime as dt
import io

import numpy as np
import polars as pl
import pytest

from engine.markets import MatchMarkets
from engine.predictions import (
    neutralise_formula_cells,
    prediction_table,
    quantile_suffix,
    write_predictions_csv,
)

LEADING = [
    "league",
    "season",
    "kickoff",
    "home_team",
    "away_team",
    "p_home",
    "p_draw",
    "p_away",
    "p_home_q05",
    "p_home_q95",
    "p_draw_q05",
    "p_draw_q95",
    "p_away_q05",
    "p_away_q95",
    "exp_home_goals",
    "exp_away_goals",
    "p_over_2_5",
    "p_btts",
    "fair_home",
    "fair_draw",
    "fair_away",
    "unseen_team",
    "rho_clipped",
    "model_version",
]


def make_fixtures():
    return pl.DataFrame(
        {
            "match_id": ["a", "b", "c"],
            "league": ["E0", "E0", "SP1"],
            "kickoff": [dt.date(2024, 3, 1), dt.date(2024, 7, 1), dt.date(2024, 6, 30)],
            "home_team": ["Arsenal", "=SUM(A1)", "Betis"],
            "away_team": ["Chelsea", "Everton", "+x"],
            "price_home": [2.1, -1.5, 3.4],
            "note": ["-1", "@x", None],
        }
    )


def make_markets(level=0.9):
    rng = np.random.default_rng(21)
    home = rng.lognormal(np.log(1.5), 0.2, (200, 3))
    away = rng.lognormal(np.log(1.1), 0.2, (200, 3))
    return MatchMarkets(home, away, rng.uniform(-0.1, 0.0, 200), level=level)


def make_table(**options):
    arguments = {
        "unseen_home": np.array([False, True, False]),
        "unseen_away": np.array([False, False, True]),
        "model_version": "m-2024-01",
    }
    fixtures = options.pop("fixtures", make_fixtures())
    markets = options.pop("markets", make_markets())
    return prediction_table(fixtures, markets, **(arguments | options))


def test_columns_come_in_order_and_extras_pass_through():
    table = make_table()
    assert table.columns == [*LEADING, "match_id", "price_home", "note"]
    assert table.height == 3
    extras = make_fixtures().select("match_id", "price_home", "note")
    assert table.select(extras.columns).equals(extras)
    assert table.schema["season"] == pl.Int32
    assert table.schema["kickoff"] == pl.Date
    assert table.schema["unseen_team"] == pl.Boolean


def test_values_come_from_the_markets():
    markets = make_markets()
    table = make_table(markets=markets)
    np.testing.assert_allclose(table["p_home"], markets.home_win.mean)
    np.testing.assert_allclose(table["p_draw_q05"], markets.draw.lower)
    np.testing.assert_allclose(table["p_away_q95"], markets.away_win.upper)
    np.testing.assert_allclose(table["p_over_2_5"], markets.totals(2.5).over.mean)
    np.testing.assert_allclose(table["p_btts"], markets.btts_yes.mean)
    expected_goals = markets.expected_away_goals.mean
    np.testing.assert_allclose(table["exp_away_goals"], expected_goals)
    for side in ["home", "draw", "away"]:
        np.testing.assert_allclose(table[f"fair_{side}"], 1.0 / table[f"p_{side}"])
    total = table["p_home"] + table["p_draw"] + table["p_away"]
    np.testing.assert_allclose(total, 1.0, atol=1e-9)
    assert (table["p_home_q05"] <= table["p_home"]).all()
    assert table["unseen_team"].to_list() == [False, True, True]
    assert table["rho_clipped"].to_list() == [False, False, False]
    assert table["model_version"].unique().to_list() == ["m-2024-01"]


def test_rho_clipped_in_any_draw_flags_the_fixture():
    per_draw = np.zeros((200, 3), dtype=bool)
    per_draw[17, 2] = True
    table = make_table(rho_clipped=per_draw)
    assert table["rho_clipped"].to_list() == [False, False, True]
    with pytest.raises(ValueError, match="expected rho_clipped as 3 booleans"):
        make_table(rho_clipped=np.zeros(4, dtype=bool))


def test_season_comes_from_kickoff_unless_given():
    derived = make_table()
    assert derived["season"].to_list() == [2023, 2024, 2023]

    given = make_table(season=pl.Series([2030, 2031, 2032]))
    assert given["season"].to_list() == [2030, 2031, 2032]

    fixtures = make_fixtures().with_columns(season=pl.Series([2020, None, 2021]))
    own = make_table(fixtures=fixtures)
    assert own["season"].to_list() == [2020, 2024, 2021]
    assert own.columns.count("season") == 1


def test_interval_columns_follow_the_level():
    table = make_table(markets=make_markets(level=0.8))
    assert "p_home_q10" in table.columns and "p_away_q90" in table.columns
    assert [quantile_suffix(q) for q in (0.025, 0.975)] == ["q025", "q975"]


def test_formula_cells_are_neutralised_in_text_columns_only():
    safe = neutralise_formula_cells(make_table())
    assert safe["home_team"].to_list() == ["Arsenal", "'=SUM(A1)", "Betis"]
    assert safe["away_team"].to_list() == ["Chelsea", "Everton", "'+x"]
    assert safe["note"].to_list() == ["'-1", "'@x", None]
    assert safe["price_home"].to_list() == [2.1, -1.5, 3.4]
    assert safe.schema == make_table().schema

    tricky = pl.DataFrame({"team": ["\tcmd", "\rcmd", "a=b", "'=x"]})
    assert neutralise_formula_cells(tricky)["team"].to_list() == [
        "'\tcmd",
        "'\rcmd",
        "a=b",
        "'=x",
    ]
    categorical = pl.DataFrame({"team": pl.Series(["=1", "ok"], dtype=pl.Categorical)})
    assert neutralise_formula_cells(categorical)["team"].to_list() == ["'=1", "ok"]

    headers = pl.DataFrame({"=HYPERLINK(1)": [1.5], "-note": ["x"], "ok": [2]})
    assert neutralise_formula_cells(headers).columns == [
        "'=HYPERLINK(1)",
        "'-note",
        "ok",
    ]


def test_csv_writer_neutralises_and_keeps_numbers(tmp_path):
    table = make_table()
    buffer = io.StringIO()
    write_predictions_csv(table, buffer)
    lines = buffer.getvalue().splitlines()
    assert lines[0].split(",") == table.columns
    assert ",'=SUM(A1),Everton," in lines[2]
    assert lines[1].endswith(",a,2.1,'-1")
    assert ",-1.5,'@x" in lines[2]

    path = tmp_path / "predictions.csv"
    write_predictions_csv(table, path)
    back = pl.read_csv(path)
    assert back["home_team"][1] == "'=SUM(A1)"
    assert back.schema["price_home"] == pl.Float64
    np.testing.assert_allclose(back["p_home"], table["p_home"])


def one_line_error(call, *fragments):
    with pytest.raises(ValueError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_bad_inputs_raise_one_line_errors():
    fixtures = make_fixtures()
    one_line_error(lambda: make_table(fixtures=fixtures.head(2)), "(3)", "got 2 rows")
    one_line_error(
        lambda: make_table(fixtures=fixtures.drop("home_team")), "missing ['home_team']"
    )
    text_kickoff = fixtures.with_columns(pl.col("kickoff").cast(pl.String))
    one_line_error(lambda: make_table(fixtures=text_kickoff), "Date or Datetime")
    one_line_error(
        lambda: make_table(unseen_home=np.array([0, 1, 0])), "unseen_home", "booleans"
    )
    one_line_error(
        lambda: make_table(unseen_away=np.array([True, False])), "unseen_away", "(2,)"
    )
    one_line_error(lambda: make_table(model_version=" "), "model_version")
    one_line_error(
        lambda: make_table(season=pl.Series([2020, 2021])), "season as 3 integers"
    )
    clash = fixtures.with_columns(p_home=pl.lit(0.5))
    one_line_error(lambda: make_table(fixtures=clash), "['p_home']", "rename")
