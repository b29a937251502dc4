"""League tables from played matches: three points a win, one a draw."""

from __future__ import annotations

import polars as pl

TABLE_COLUMNS = (
    "league",
    "season",
    "team",
    "played",
    "won",
    "drawn",
    "lost",
    "goals_for",
    "goals_against",
    "goal_difference",
    "points",
)
"""Columns of `league_table`, in order."""


def league_table(matches: pl.DataFrame) -> pl.DataFrame:
    """Return the table of each league and season in ``matches``.

    Parameters
    ----------
    matches : polars.DataFrame
        Played matches with ``league``, ``season``, ``home_team``,
        ``away_team``, ``home_goals`` and ``away_goals``.

    Returns
    -------
    polars.DataFrame
        One row per team, league and season (columns `TABLE_COLUMNS`),
        ordered by league, season, then points, goal difference and goals
        scored, best first, then team name.

    Raises
    ------
    ValueError
        When a column is missing or a result is null.
    """
    needed = ("league", "season", "home_team", "away_team", "home_goals", "away_goals")
    missing = [c for c in needed if c not in matches.columns]
    if missing:
        raise ValueError(
            f"league_table needs the columns {list(needed)}, missing {missing}; "
            "pass played matches as the store loads them"
        )
    if matches["home_goals"].null_count() + matches["away_goals"].null_count():
        raise ValueError(
            "league_table needs played matches, got rows without a result; "
            "drop fixtures first"
        )
    sides = pl.concat(
        [
            matches.select(
                "league",
                "season",
                team="home_team",
                scored="home_goals",
                conceded="away_goals",
            ),
            matches.select(
                "league",
                "season",
                team="away_team",
                scored="away_goals",
                conceded="home_goals",
            ),
        ]
    )
    table = sides.group_by("league", "season", "team").agg(
        played=pl.len(),
        won=(pl.col("scored") > pl.col("conceded")).sum(),
        drawn=(pl.col("scored") == pl.col("conceded")).sum(),
        lost=(pl.col("scored") < pl.col("conceded")).sum(),
        goals_for=pl.col("scored").sum(),
        goals_against=pl.col("conceded").sum(),
    )
    table = table.with_columns(
        goal_difference=pl.col("goals_for") - pl.col("goals_against"),
        points=3 * pl.col("won") + pl.col("drawn"),
    )
    order = ["points", "goal_difference", "goals_for"]
    return table.sort(
        ["league", "season", *order, "team"],
        descending=[False, False, True, True, True, False],
    ).select(TABLE_COLUMNS)
