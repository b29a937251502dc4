"""Simulated leagues with known strengths, and the tiny settings of fit tests.

Every fit of the engine tests shares one array bucket (20 teams, two seasons:
760 matches) and these settings, so each distinct sampler compiles once per
test process.
"""

from __future__ import annotations

import warnings
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
import xarray as xr

from engine.contract import MATCH_SCHEMA
from engine.model import ConvergenceWarning, Fit, fit

SETTINGS: dict[str, Any] = {
    "num_warmup": 200,
    "num_samples": 200,
    "num_chains": 2,
    "chain_method": "sequential",
}
CUTOFF = date(2024, 6, 1)
TEAMS = [f"Team {chr(65 + i)}" for i in range(20)]
TRUTH = {"intercept": 0.1, "home_advantage": 0.3, "attack_sd": 0.35, "defence_sd": 0.25}


def _centred(rng: np.random.Generator, scale: float) -> np.ndarray:
    values = rng.normal(0.0, scale, len(TEAMS))
    return values - values.mean()


def simulate(seed: int) -> tuple[pl.DataFrame, dict[str, np.ndarray]]:
    """Two double round-robin seasons from the Poisson model with known values."""
    rng = np.random.default_rng(seed)
    attack = _centred(rng, TRUTH["attack_sd"])
    defence = _centred(rng, TRUTH["defence_sd"])
    rows = []
    for season in (2022, 2023):
        pairs = [(h, a) for h in range(20) for a in range(20) if h != a]
        order = rng.permutation(len(pairs))
        for slot, k in enumerate(order):
            h, a = pairs[k]
            kickoff = date(season, 8, 5) + timedelta(days=7 * (slot // 10))
            log_home = TRUTH["intercept"] + TRUTH["home_advantage"]
            log_home += attack[h] - defence[a]
            log_away = TRUTH["intercept"] + attack[a] - defence[h]
            goals = rng.poisson(np.exp([log_home, log_away]))
            rows.append(("E0", season, kickoff, TEAMS[h], TEAMS[a], *map(int, goals)))
    return match_frame(rows), {
        "attack": attack,
        "defence": defence,
    }


def simulate_leagues(seed: int) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Two leagues of ten over two seasons; two promoted sides each in 2023.

    The leagues score at different rates, and promoted sides are weaker by a
    known offset in both attack and defence.
    """
    rng = np.random.default_rng(seed)
    truth = {"intercept": {"L1": 0.0, "L2": 0.35}, "new_team": -0.5}
    rows = []
    for league, intercept in truth["intercept"].items():
        names = [f"{league} side {i}" for i in range(12)]
        attack, defence = _centred(rng, 0.3)[:12], _centred(rng, 0.2)[:12]
        for season, members in ((2022, range(10)), (2023, [*range(8), 10, 11])):
            for h in members:
                for a in members:
                    if h == a:
                        continue
                    offset = [truth["new_team"] * (t >= 10) for t in (h, a)]
                    log_home = intercept + 0.25 + attack[h] + offset[0]
                    log_home -= defence[a] + offset[1]
                    log_away = intercept + attack[a] + offset[1]
                    log_away -= defence[h] + offset[0]
                    goals = rng.poisson(np.exp([log_home, log_away]))
                    kickoff = date(season, 8, 1) + timedelta(
                        days=int(rng.integers(270))
                    )
                    rows.append((league, season, kickoff, names[h], names[a], *goals))
    return match_frame(rows, numbered=True), truth


def match_frame(rows: list[tuple], *, numbered: bool = False) -> pl.DataFrame:
    """Return matches in the contract's schema from rows of league, season,
    kickoff, home_team, away_team, home_goals and away_goals.

    ``match_id`` joins league, kickoff and teams, and the row number when
    ``numbered`` (for data that may repeat a pairing on one day).
    """
    columns = ["league", "season", "kickoff", "home_team", "away_team"]
    frame = pl.DataFrame(
        rows, schema=[*columns, "home_goals", "away_goals"], orient="row"
    )
    parts = [pl.col(c).cast(pl.String) for c in ("league", "kickoff", *columns[3:])]
    if numbered:
        parts.append(pl.int_range(pl.len()).cast(pl.String))
    frame = frame.with_columns(
        kickoff_time=pl.lit(None, pl.Time),
        match_id=pl.concat_str(parts, separator="-"),
    )
    return frame.cast(dict(MATCH_SCHEMA)).select(list(MATCH_SCHEMA))


def quiet_fit(*args: Any, **kwargs: Any) -> Fit:
    """Fit with the tiny test settings, not failing on convergence caveats."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit(*args, **{**SETTINGS, **kwargs})


def interval(values: xr.DataArray, level: float) -> tuple[np.ndarray, np.ndarray]:
    low = values.quantile((1 - level) / 2, dim=("chain", "draw")).values
    high = values.quantile((1 + level) / 2, dim=("chain", "draw")).values
    return low, high
