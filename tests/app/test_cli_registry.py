"""``touchline registry`` end to end on versions registered through the API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import arviz
import duckdb
import numpy as np
import pytest

from engine.artefacts import to_netcdf_bytes
from registry.store import Store
from registry.versions import register_version

TOUCHLINE = str(Path(sys.executable).parent / "touchline")
GOOD = {"max_rhat": 1.002, "min_ess_bulk": 900.0, "min_ess_tail": 800.0,
        "divergences": 0}  # fmt: skip


def run(db: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TOUCHLINE_DB": str(db)}
    return subprocess.run(
        [TOUCHLINE, *args], env=env, capture_output=True, text=True, timeout=120
    )


def register(store: Store, seed: int, diagnostics: dict) -> str:
    rng = np.random.default_rng(seed)
    idata = arviz.from_dict(
        posterior={"attack": rng.normal(size=(2, 20, 3))},
        dims={"attack": ["team"]},
        coords={"team": ["Arsenal", "Chelsea", "Spurs"]},
    )
    version = register_version(
        store,
        model="poisson",
        config={"model": {"name": "poisson"}},
        selection={"leagues": ["E0"], "cutoff": "2024-05-01"},
        training_hash="cd" * 32,
        seed=seed,
        idata_netcdf=to_netcdf_bytes(idata),
        diagnostics=diagnostics,
    )
    return version.version_id


@pytest.fixture
def registered(tmp_path):
    db = tmp_path / "store.duckdb"
    store = Store(db)
    good = register(store, 1, GOOD)
    bad = register(store, 2, {**GOOD, "max_rhat": 1.2, "divergences": 5})
    return db, good, bad


def test_list_show_and_export(registered, tmp_path):
    db, good, bad = registered
    listed = json.loads(run(db, "registry", "list", "--format", "json").stdout)
    assert {v["version_id"] for v in listed} == {good, bad}

    shown = run(db, "registry", "show", good[:6], "--format", "json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["diagnostics"]["max_rhat"] == 1.002
    assert json.loads(shown.stdout)["metrics"] == {
        "in_sample": None,
        "out_of_sample": None,
    }
    table = run(db, "registry", "show", good)
    assert "none yet: no validation run has scored" in table.stdout

    out = tmp_path / "posterior.nc"
    exported = run(db, "registry", "export", good, "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.strip().splitlines()[-1] == str(out)
    assert arviz.from_netcdf(out).posterior["attack"].shape == (2, 20, 3)


def test_first_promotion_is_blocked_without_drift_evidence_then_forced(registered):
    db, good, _ = registered
    blocked = run(db, "registry", "promote", good, "--reason", "first")
    assert blocked.returncode == 1
    assert "drift" in blocked.stdout
    assert blocked.stderr.count("\n") == 1

    forced = run(db, "registry", "promote", good, "--reason", "first", "--force")
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout.strip().splitlines()[-1] == good
    audit = json.loads(run(db, "registry", "audit", "--format", "json").stdout)
    assert audit[0]["forced"] is True and audit[0]["reason"] == "first"


def test_diagnostics_gate_fails_a_bad_version(registered):
    db, _, bad = registered
    gates = run(db, "registry", "gates", bad, "--format", "json")
    assert gates.returncode == 3
    verdicts = {g["name"]: g["passed"] for g in json.loads(gates.stdout)["gates"]}
    assert verdicts["diagnostics"] is False


def test_rollback_delete_and_check(registered):
    db, good, bad = registered
    for version in (good, bad):
        done = run(db, "registry", "promote", version, "--reason", "r", "--force")
        assert done.returncode == 0, done.stderr
    in_use = run(db, "registry", "delete", bad)
    assert in_use.returncode == 1 and "champion" in in_use.stderr

    back = run(db, "registry", "rollback", "--scope", "E0", "--reason", "worse")
    assert back.returncode == 0, back.stderr
    assert back.stdout.strip().splitlines()[-1] == good
    deleted = run(db, "registry", "delete", bad)
    assert deleted.returncode == 0, deleted.stderr
    assert run(db, "registry", "check").returncode == 0


def test_check_raises_an_alert_on_a_corrupted_artefact(registered):
    db, good, _ = registered
    with duckdb.connect(str(db)) as con:
        con.execute(
            "UPDATE model_versions SET netcdf = ? WHERE version_id = ?",
            [b"not netcdf", good],
        )
    done = run(db, "registry", "check", "--format", "json")
    assert done.returncode == 3
    assert any(good in problem for problem in json.loads(done.stdout)["problems"])


def test_unknown_version_and_bad_policy(registered, tmp_path):
    db, _, _ = registered
    unknown = run(db, "registry", "show", "ffffffffff")
    assert unknown.returncode == 1
    assert "touchline registry list" in unknown.stderr
    config = tmp_path / "run.toml"
    config.write_text("[promotion]\nmax_rhat = 0.5\n", encoding="utf-8")
    bad = run(db, "--config", str(config), "registry", "gates", "ffff")
    assert bad.returncode == 1
    assert "promotion.max_rhat" in bad.stderr


def test_show_reports_out_of_sample_scores_once_a_run_has_scored(registered):
    db, good, bad = registered
    with duckdb.connect(str(db)) as con:
        con.execute(
            "CREATE TABLE version_match_scores (version_id VARCHAR, "
            "match_id VARCHAR, log_score DOUBLE, rps DOUBLE)"
        )
        con.executemany(
            "INSERT INTO version_match_scores VALUES (?, ?, ?, ?)",
            [
                (good, "m1", -1.0, 0.2),
                (good, "m1", -3.0, 0.4),  # a second run of the same match
                (good, "m2", -2.0, 0.1),
                (bad, "m1", -9.0, 0.9),
            ],
        )
    shown = json.loads(run(db, "registry", "show", good, "--format", "json").stdout)
    assert shown["metrics"]["out_of_sample"] == pytest.approx(
        {"matches": 2, "log_score": -2.0, "rps": 0.2}
    )
    table = run(db, "registry", "show", good).stdout
    assert "out_of_sample.matches" in table and "out_of_sample.rps" in table
