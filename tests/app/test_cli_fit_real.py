"""The default ``touchline fit`` on two real Premier League seasons.

The command as a user runs it: the default configuration (Dixon–Coles, a
one-year decay half-life, 4 chains of 1,000 warmup and 1,000 draws), every
stored E0 match before the cut-off. It must converge and rank the 2022/23 table
sensibly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import arviz
import polars as pl
import pytest
from scipy import stats

from engine.football_data import combine, read_paths
from engine.standings import league_table

TOUCHLINE = str(Path(sys.executable).parent / "touchline")

pytestmark = pytest.mark.slow


def run(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [TOUCHLINE, *args], env=env, capture_output=True, text=True, timeout=900
    )


def table_points(path: Path) -> dict[str, int]:
    table = league_table(combine(read_paths([path])).matches)
    return dict(zip(table["team"], table["points"], strict=True))


def test_default_fit_converges_and_ranks_the_table(tmp_path, shared_data):
    env = {**os.environ, "TOUCHLINE_DB": str(tmp_path / "store.duckdb"),
           "TOUCHLINE_JAX_CACHE": str(tmp_path / "jax-cache")}  # fmt: skip
    seasons = [shared_data / "mmz4281" / code / "E0.csv" for code in ("2122", "2223")]
    assert run(env, "data", "import", *map(str, seasons)).returncode == 0

    done = run(
        env, "fit", "--league", "E0", "--until", "2023-06-01", "--format", "json"
    )
    assert done.returncode == 0, done.stderr
    version = json.loads(done.stdout)
    assert version["model"] == "dixon_coles"
    assert version["selection"]["matches"] == 760
    diagnostics = version["diagnostics"]
    assert diagnostics["num_chains"] == 4 and diagnostics["num_draws"] == 1000
    assert diagnostics["max_rhat"] <= 1.01
    assert diagnostics["divergences"] == 0
    assert diagnostics["caveats"] == []

    out = tmp_path / "posterior.nc"
    exported = run(env, "registry", "export", version["version_id"], "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    posterior = arviz.from_netcdf(out).posterior
    strength = (posterior.attack + posterior.defence).mean(("chain", "draw"))
    points = table_points(seasons[1])
    teams = sorted(points)
    rank = stats.spearmanr(
        [float(strength.sel(team=t)) for t in teams], [points[t] for t in teams]
    ).statistic
    assert rank > 0.85, f"Spearman rank correlation {rank:.3f}"
    assert pl.Series(teams).is_in(posterior.team.values.tolist()).all()
