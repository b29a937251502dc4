"""League tables from played matches."""

from __future__ import annotations

import polars as pl
import pytest

from engine.standings import TABLE_COLUMNS, league_table


def matches(*rows: tuple[str, str, int, int]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema=["home_team", "away_team", "home_goals", "away_goals"],
        orient="row",
    ).with_columns(league=pl.lit("E0"), season=pl.lit(2023))  # fmt: skip


def test_points_goals_and_order():
    table = league_table(
        matches(
            ("Arsenal", "Spurs", 2, 0),
            ("Spurs", "Chelsea", 1, 1),
            ("Chelsea", "Arsenal", 3, 1),
            ("Spurs", "Arsenal", 0, 0),
        )
    )
    assert table.columns == list(TABLE_COLUMNS)
    rows = {r["team"]: r for r in table.iter_rows(named=True)}
    assert [rows[t]["points"] for t in ("Arsenal", "Chelsea", "Spurs")] == [4, 4, 2]
    assert rows["Arsenal"]["played"] == 3
    assert (rows["Arsenal"]["won"], rows["Arsenal"]["drawn"]) == (1, 1)
    assert rows["Chelsea"]["goal_difference"] == 2
    # level on points: Chelsea's goal difference (+2) beats Arsenal's (+0)
    assert table["team"].to_list() == ["Chelsea", "Arsenal", "Spurs"]
    assert table["goals_for"].sum() == table["goals_against"].sum() == 8


def test_leagues_and_seasons_get_tables_of_their_own():
    both = pl.concat(
        [
            matches(("A", "B", 1, 0)),
            matches(("A", "B", 0, 1)).with_columns(season=pl.lit(2024)),
        ]
    )
    table = league_table(both)
    assert table.select("season", "team", "points").rows() == [
        (2023, "A", 3),
        (2023, "B", 0),
        (2024, "B", 3),
        (2024, "A", 0),
    ]


def test_missing_columns_and_unplayed_rows_are_refused():
    with pytest.raises(ValueError, match=r"missing \['league'\]"):
        league_table(matches(("A", "B", 1, 0)).drop("league"))
    unplayed = matches(("A", "B", 1, 0)).with_columns(home_goals=pl.lit(None))
    with pytest.raises(ValueError, match="rows without a result"):
        league_table(unplayed)
