"""The prediction table of fixtures, and a spreadsheet-safe CSV writer.

:func:`prediction_table` turns the posterior markets of some fixtures into one
row per fixture. Its columns, in order:

=================  =========  ==================================================
column             type       meaning
=================  =========  ==================================================
league             text       division code, e.g. ``E0``
season             integer    starting year (2023 = 2023/24)
kickoff            date       as in the fixtures
home_team          text       home side
away_team          text       away side
p_home             float      posterior mean P(home win)
p_draw             float      posterior mean P(draw)
p_away             float      posterior mean P(away win)
p_home_q05         float      lower end of the credible interval of p_home
p_home_q95         float      upper end of the credible interval of p_home
p_draw_q05         float      lower end for p_draw
p_draw_q95         float      upper end for p_draw
p_away_q05         float      lower end for p_away
p_away_q95         float      upper end for p_away
exp_home_goals     float      posterior mean of the expected home goals
exp_away_goals     float      posterior mean of the expected away goals
p_over_2_5         float      posterior mean P(three or more goals)
p_btts             float      posterior mean P(both teams score)
fair_home          float      fair decimal odds, 1 / p_home
fair_draw          float      fair decimal odds, 1 / p_draw
fair_away          float      fair decimal odds, 1 / p_away
unseen_team        boolean    true where either side had no history and a
                              prior stood in for its strength
rho_clipped        boolean    true where the Dixon-Coles rho of some draws had
                              to be moved inside this fixture's bound (only
                              with unseen teams or seasons beyond the fit)
model_version      text       the model version that made the prediction
=================  =========  ==================================================

The interval columns are named after their quantiles: at the default credible
level of 0.9 they are ``q05`` and ``q95``; a level of 0.8 gives ``q10`` and
``q90``, and 0.95 gives ``q025`` and ``q975``. Every other column of the
fixtures (``match_id``, ``kickoff_time``, prices) follows unchanged.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from engine.markets import MatchMarkets

KEY_COLUMNS = ("league", "season", "kickoff", "home_team", "away_team")
"""Columns that identify a fixture, first in the table."""

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""Leading characters that make a spreadsheet read a cell as a formula."""

_REQUIRED = ("league", "kickoff", "home_team", "away_team")


def prediction_table(
    fixtures: pl.DataFrame,
    markets: MatchMarkets,
    *,
    unseen_home: Any,
    unseen_away: Any,
    model_version: str,
    rho_clipped: Any = None,
    season: pl.Series | None = None,
) -> pl.DataFrame:
    """Return one prediction row per fixture (columns in the module notes).

    Parameters
    ----------
    fixtures : polars.DataFrame
        One row per fixture, in the order of the markets' fixture axis, with at
        least ``league``, ``kickoff`` (Date or Datetime), ``home_team`` and
        ``away_team``.
    markets : MatchMarkets
        Posterior markets of the same fixtures.
    unseen_home, unseen_away : array_like of bool
        Per fixture, whether a prior stood in for the side's history.
    model_version : str
        The version that made the predictions.
    rho_clipped : array_like of bool, optional
        Shape ``(draw, fixture)`` or ``(fixture,)``: where a Dixon–Coles rho
        was moved inside the fixture's bound; None (Poisson) is all false.
    season : polars.Series, optional
        Season per fixture. Without it the fixtures' ``season`` column is used
        where present and not null, else the kickoff (a season starts on
        1 July: a kickoff on 2024-03-01 is season 2023).

    Returns
    -------
    polars.DataFrame
        The prediction columns, then the other fixture columns unchanged.

    Raises
    ------
    ValueError
        On missing columns, lengths that disagree with the markets, non-boolean
        unseen flags, an empty model version, or a column name clash.
    """
    n_rows = _check_fixtures(fixtures, markets)
    unseen = _flags(unseen_home, "unseen_home", n_rows)
    unseen |= _flags(unseen_away, "unseen_away", n_rows)
    if not isinstance(model_version, str) or not model_version.strip():
        raise ValueError(f"expected a non-empty model_version, got {model_version!r}")

    keys = fixtures.select(
        "league",
        _season(fixtures, season).alias("season"),
        "kickoff",
        "home_team",
        "away_team",
    )
    values = pl.DataFrame(_market_columns(markets))
    values = values.with_columns(
        unseen_team=pl.Series(unseen, dtype=pl.Boolean),
        rho_clipped=pl.Series(_clipped(rho_clipped, n_rows), dtype=pl.Boolean),
        model_version=pl.lit(model_version, dtype=pl.String),
    )

    extras = [name for name in fixtures.columns if name not in KEY_COLUMNS]
    clashes = sorted(set(extras) & set(values.columns))
    if clashes:
        raise ValueError(
            f"expected fixture columns apart from the prediction columns, got "
            f"{clashes}; rename them before predicting"
        )
    return pl.concat([keys, values, fixtures.select(extras)], how="horizontal")


def neutralise_formula_cells(frame: pl.DataFrame) -> pl.DataFrame:
    """Quote text cells that a spreadsheet would run as a formula.

    A text cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return gets a leading single quote (``=SUM(A1)`` becomes ``'=SUM(A1)``), as
    OWASP advises against CSV injection. Only text columns change (categorical
    ones become plain text); numbers, dates and nulls stay as they are. A
    column name (a header cell) that would run is quoted the same way.
    """
    pattern = "^[" + "".join(FORMULA_PREFIXES).replace("-", r"\-") + "]"
    text = [
        name
        for name, dtype in frame.schema.items()
        if dtype == pl.String or isinstance(dtype, (pl.Categorical, pl.Enum))
    ]
    quoted = []
    for name in text:
        cell = pl.col(name).cast(pl.String)
        risky = cell.str.contains(pattern)
        quoted.append(pl.when(risky).then("'" + cell).otherwise(cell).alias(name))
    headers = {
        name: "'" + name for name in frame.columns if name.startswith(FORMULA_PREFIXES)
    }
    return frame.with_columns(quoted).rename(headers)


def write_predictions_csv(frame: pl.DataFrame, target: str | Path | io.IOBase) -> None:
    """Write a prediction table as CSV, with formula cells neutralised.

    Parameters
    ----------
    frame : polars.DataFrame
        Usually from :func:`prediction_table`.
    target : str, pathlib.Path or file-like
        Where to write.
    """
    neutralise_formula_cells(frame).write_csv(target)


def quantile_suffix(quantile: float) -> str:
    """Name a quantile as in the column names: 0.05 -> ``q05``, 0.025 -> ``q025``."""
    whole, _, fraction = f"{quantile * 100.0:.6f}".rstrip("0").partition(".")
    return f"q{whole.zfill(2)}{fraction}"


def _market_columns(markets: MatchMarkets) -> dict[str, np.ndarray]:
    """Prediction columns from p_home to fair_away, in table order."""
    outcomes = {
        "home": markets.home_win,
        "draw": markets.draw,
        "away": markets.away_win,
    }
    low, high = (quantile_suffix(q) for q in _quantiles(markets.level))
    columns = {f"p_{name}": est.mean for name, est in outcomes.items()}
    for name, estimate in outcomes.items():
        columns[f"p_{name}_{low}"] = estimate.lower
        columns[f"p_{name}_{high}"] = estimate.upper

    columns["exp_home_goals"] = markets.expected_home_goals.mean
    columns["exp_away_goals"] = markets.expected_away_goals.mean
    columns["p_over_2_5"] = markets.totals(2.5).over.mean
    columns["p_btts"] = markets.btts_yes.mean
    for name, estimate in outcomes.items():
        columns[f"fair_{name}"] = estimate.fair_odds
    return columns


def _clipped(flags: Any, n_rows: int) -> np.ndarray:
    """Per fixture, whether any draw's rho was clipped."""
    if flags is None:
        return np.zeros(n_rows, dtype=bool)
    values = np.asarray(flags)
    per_fixture = values.any(axis=0) if values.ndim == 2 else values
    return _flags(per_fixture, "rho_clipped", n_rows)


def _quantiles(level: float) -> tuple[float, float]:
    return (1.0 - level) / 2.0, (1.0 + level) / 2.0


def _check_fixtures(fixtures: pl.DataFrame, markets: MatchMarkets) -> int:
    missing = [name for name in _REQUIRED if name not in fixtures.columns]
    if missing:
        raise ValueError(
            f"expected fixture columns {list(_REQUIRED)}, missing {missing} "
            f"(got {fixtures.columns})"
        )
    if fixtures.height != markets.n_fixtures:
        raise ValueError(
            f"expected one fixture row per market fixture ({markets.n_fixtures}), "
            f"got {fixtures.height} rows"
        )
    kickoff = fixtures.schema["kickoff"]
    if not isinstance(kickoff, (pl.Date, pl.Datetime)):
        raise ValueError(
            f"expected kickoff as Date or Datetime, got {kickoff}; parse it with "
            f"str.to_date first"
        )
    return fixtures.height


def _flags(values: Any, name: str, n_rows: int) -> np.ndarray:
    flags = np.asarray(values)
    if flags.dtype != np.bool_ or flags.shape != (n_rows,):
        raise ValueError(
            f"expected {name} as {n_rows} booleans, got dtype {flags.dtype} "
            f"and shape {flags.shape}"
        )
    return flags.copy()


def _season(fixtures: pl.DataFrame, season: pl.Series | None) -> pl.Expr:
    """Season per fixture: given, else the fixtures' own, else from kickoff."""
    kickoff = pl.col("kickoff")
    derived = kickoff.dt.year() - (kickoff.dt.month() < 7).cast(pl.Int32)
    if season is not None:
        if not season.dtype.is_integer() or season.len() != fixtures.height:
            raise ValueError(
                f"expected season as {fixtures.height} integers, got "
                f"{season.len()} of {season.dtype}"
            )
        return pl.lit(season).cast(pl.Int32)
    if "season" in fixtures.columns:
        return pl.coalesce(pl.col("season").cast(pl.Int32), derived)
    return derived.cast(pl.Int32)
