"""``touchline fit`` and ``touchline predict`` end to end on real data."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import arviz
import numpy as np
import pytest

TOUCHLINE = str(Path(sys.executable).parent / "touchline")
FIT = ("fit", "--league", "E0", "--until", "2023-06-01", "--model", "dixon_coles",
       "--num-warmup", "150", "--num-samples", "100", "--num-chains", "2",
       "--seed", "11")  # fmt: skip
FIXTURES = (
    "league,kickoff,home_team,away_team,B365H,note\n"
    "E0,2023-08-11,Burnley,Man City,8.0,=cmd()\n"
    "E0,12/08/2023,Arsenal,Nott'm Forest,1.3,\n"
)

pytestmark = pytest.mark.slow


def run(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [TOUCHLINE, *args], env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def fitted(tmp_path_factory, shared_data):
    root = tmp_path_factory.mktemp("fit")
    env = {**os.environ, "TOUCHLINE_DB": str(root / "store.duckdb"),
           "TOUCHLINE_JAX_CACHE": str(root / "jax-cache")}  # fmt: skip
    season = shared_data / "mmz4281" / "2223" / "E0.csv"
    assert run(env, "data", "import", str(season)).returncode == 0
    done = run(env, *FIT)
    assert done.returncode == 0, done.stderr
    return env, root, done.stdout.strip().splitlines()[-1]


def test_fit_registers_a_version_with_its_lineage(fitted):
    env, _, version = fitted
    shown = json.loads(run(env, "registry", "show", version, "--format", "json").stdout)
    assert shown["model"] == "dixon_coles"
    assert shown["selection"]["cutoff"] == "2023-06-01"
    assert shown["selection"]["matches"] == 380
    assert shown["selection"]["teams"] == 20
    assert len(shown["training_hash"]) == 64
    assert shown["seed"] == 11
    assert shown["config"]["sampler"]["num_warmup"] == 150
    assert {"max_rhat", "min_ess_bulk", "divergences"} <= set(shown["diagnostics"])
    in_sample = shown["metrics"]["in_sample"]
    assert in_sample == shown["diagnostics"]["in_sample"]
    assert in_sample["matches"] == 380
    assert in_sample["log_score_loo"] < in_sample["log_score"] < 0
    assert in_sample["p_loo"] > 0
    assert shown["metrics"]["out_of_sample"] is None


def test_same_data_config_and_seed_give_the_same_posterior(fitted):
    env, root, version = fitted
    again = run(env, *FIT)
    assert again.returncode == 0, again.stderr
    twin = again.stdout.strip().splitlines()[-1]
    assert twin != version
    draws = []
    for name in (version, twin):
        out = root / f"{name}.nc"
        assert run(env, "registry", "export", name, "--out", str(out)).returncode == 0
        draws.append(arviz.from_netcdf(out).posterior)
    for variable in draws[0].data_vars:
        np.testing.assert_array_equal(draws[0][variable], draws[1][variable])


def test_predict_writes_one_row_per_fixture(fitted, tmp_path):
    env, _, version = fitted
    fixtures = tmp_path / "fixtures.csv"
    fixtures.write_text(FIXTURES, encoding="utf-8")
    done = run(env, "predict", "--fixtures", str(fixtures), "--version", version)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [r["home_team"] for r in rows] == ["Burnley", "Arsenal"]
    assert [r["unseen_team"] for r in rows] == ["true", "false"]
    for row in rows:
        total = sum(float(row[k]) for k in ("p_home", "p_draw", "p_away"))
        assert total == pytest.approx(1.0, abs=1e-9)
        assert (
            float(row["p_home_q05"]) <= float(row["p_home"]) <= float(row["p_home_q95"])
        )
        assert row["model_version"] == version
        assert row["season"] == "2023"
    assert rows[1]["p_home"] > rows[1]["p_away"]  # Arsenal at home to Forest
    assert rows[0]["note"] == "'=cmd()"
    assert rows[0]["B365H"] == "8.0"
    # one season holds no promoted side: the caveat is one line on stderr
    caveats = [x for x in done.stderr.splitlines() if x.startswith("warning: ")]
    assert caveats == [caveats[0]] and "'Burnley'" in caveats[0]
    assert "NewTeamPriorWarning" in caveats[0] and "prior stands in" in caveats[0]


def test_predict_uses_the_champion_and_says_when_there_is_none(fitted, tmp_path):
    env, _, version = fitted
    fixtures = tmp_path / "fixtures.csv"
    fixtures.write_text(FIXTURES, encoding="utf-8")
    empty = {**env, "TOUCHLINE_DB": str(tmp_path / "empty.duckdb")}
    missing = run(empty, "predict", "--fixtures", str(fixtures))
    assert missing.returncode == 1
    assert "registry promote" in missing.stderr
    assert missing.stderr.count("\n") == 1

    promoted = run(env, "registry", "promote", version, "--reason", "t", "--force")
    assert promoted.returncode == 0, promoted.stderr
    out = tmp_path / "predictions.csv"
    done = run(env, "predict", "--fixtures", str(fixtures), "--out", str(out))
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert {r["model_version"] for r in rows} == {version}

    bad_alias = run(env, "predict", "--fixtures", str(fixtures), "--alias", "best")
    assert bad_alias.returncode == 2 and "'best'" in bad_alias.stderr


def test_fit_errors_are_one_line(fitted, tmp_path):
    env, _, _ = fitted
    bad_date = run(env, "fit", "--until", "01/06/2023")
    assert bad_date.returncode == 2 and "yyyy-mm-dd" in bad_date.stderr
    no_data = run(env, "fit", "--league", "SC0", "--until", "2023-06-01")
    assert no_data.returncode == 1 and "touchline data pull" in no_data.stderr
    bad_model = run(env, "fit", "--model", "elo")
    assert bad_model.returncode == 2
    assert bad_model.stderr.startswith("error: --model must be one of poisson")
    no_chains = run(env, "fit", "--num-chains", "0")
    assert no_chains.returncode == 2
    assert no_chains.stderr == (
        "error: --num-chains must be an integer from 1 to 64, got 0\n"
    )
