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
from typer.testing import CliRunner

from app.cli import cli
from engine.artefacts import to_netcdf_bytes
from registry import policy, provenance
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


def register(store: Store, seed: int, diagnostics: dict, leagues=("E0",)) -> str:
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
        selection={"leagues": list(leagues), "cutoff": "2024-05-01"},
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


def test_list_is_newest_first_and_takes_a_scope_in_any_form(registered):
    db, good, bad = registered
    store = Store(db)
    both = register(store, 3, GOOD, leagues=("SP1", "E0"))
    listed = json.loads(run(db, "registry", "list", "--format", "json").stdout)
    assert [v["version_id"] for v in listed] == [both, bad, good]

    for given in ("SP1,E0", "E0, SP1", " SP1 ,E0,E0"):
        done = run(db, "registry", "list", "--scope", given, "--format", "json")
        assert done.returncode == 0, done.stderr
        assert [v["version_id"] for v in json.loads(done.stdout)] == [both]
    only_e0 = run(db, "registry", "list", "--scope", "E0", "--format", "json")
    assert [v["version_id"] for v in json.loads(only_e0.stdout)] == [bad, good]

    bad_scope = run(db, "registry", "list", "--scope", "E0;SP1")
    assert bad_scope.returncode == 1 and bad_scope.stdout == ""
    assert bad_scope.stderr.count("\n") == 1
    assert "league codes such as E0,SP1" in bad_scope.stderr
    assert "'E0;SP1'" in bad_scope.stderr


def test_rollback_finds_the_scope_or_says_which_to_pass(registered):
    db, good, bad = registered
    nothing = run(db, "registry", "rollback", "--reason", "r")
    assert nothing.returncode == 1 and nothing.stderr.count("\n") == 1
    assert "nothing to roll back" in nothing.stderr

    for version in (good, bad):
        done = run(db, "registry", "promote", version, "--reason", "r", "--force")
        assert done.returncode == 0, done.stderr
    back = run(db, "registry", "rollback", "--reason", "worse", "--format", "json")
    assert back.returncode == 0, back.stderr
    entry = json.loads(back.stdout)
    assert (entry["scope"], entry["to_version"], entry["action"]) == (
        "E0", good, "rollback",
    )  # fmt: skip

    both = register(Store(db), 3, GOOD, leagues=("E0", "SP1"))
    forced = run(db, "registry", "promote", both, "--reason", "r", "--force")
    assert forced.returncode == 0, forced.stderr
    several = run(db, "registry", "rollback", "--reason", "r")
    assert several.returncode == 1 and several.stderr.count("\n") == 1
    assert "E0; E0,SP1" in several.stderr and "--scope" in several.stderr
    audit = json.loads(run(db, "registry", "audit", "--format", "json").stdout)
    assert len(audit) == 4


@pytest.mark.parametrize(
    "args",
    [
        ("gates", "ffff", "--alias", "king"),
        ("promote", "ffff", "--reason", "r", "--alias", "Champion"),
        ("rollback", "--reason", "r", "--alias", "best"),
        ("audit", "--alias", "king"),
    ],
)
def test_a_bad_alias_is_a_usage_error(registered, args):
    db, _, _ = registered
    before = db.read_bytes()
    done = run(db, "registry", *args)
    assert done.returncode == 2
    assert "champion" in done.stderr and "challenger" in done.stderr
    assert db.read_bytes() == before


@pytest.mark.parametrize(
    "args",
    [
        ("registry", "show", "ffff"),
        ("registry", "gates", "ffff"),
        ("registry", "promote", "ffff", "--reason", "r", "--force"),
        ("registry", "delete", "ffff"),
        ("registry", "rollback", "--reason", "r"),
        ("registry", "rollback", "--reason", "r", "--scope", "E0"),
        ("registry", "export", "ffff", "--out", "x.nc"),
        ("registry", "list", "--scope", "E0;SP1"),
    ],
)
def test_a_failed_command_on_a_missing_db_creates_no_file(tmp_path, args):
    typo = tmp_path / "typo" / "typo.duckdb"
    done = run(tmp_path / "unused.duckdb", "--db", str(typo), *args)
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_reading_a_missing_db_shows_an_empty_store_and_creates_no_file(tmp_path):
    typo = tmp_path / "typo.duckdb"
    listed = run(tmp_path / "unused.duckdb", "--db", str(typo), "registry", "list",
                 "--format", "json")  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []
    check = run(tmp_path / "unused.duckdb", "--db", str(typo), "registry", "check")
    assert check.returncode == 3 and "no store at" in check.stdout
    assert list(tmp_path.iterdir()) == []


def test_promote_prints_the_verdicts_it_decided_on(registered, monkeypatch):
    db, good, _ = registered
    calls = []

    def drift_once(version_id, latest, rules):
        calls.append(version_id)
        passed = len(calls) == 1  # a second judgement would disagree
        return policy.GateVerdict("drift", passed, f"judgement {len(calls)}", {})

    monkeypatch.setattr("registry.promotion.drift_gate", drift_once)
    done = CliRunner().invoke(
        cli, ["--db", str(db), "registry", "promote", good, "--reason", "r",
              "--force"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert calls == [good]
    assert "judgement 1" in done.output and "judgement 2" not in done.output
    assert done.output.strip().splitlines()[-1] == good
    audit = json.loads(run(db, "registry", "audit", "--format", "json").stdout)
    gates = {g["name"]: g for g in audit[0]["evidence"]["gates"]}
    assert gates["drift"]["detail"] == "judgement 1"


def test_blocked_promote_prints_the_report_that_blocked_it(registered, monkeypatch):
    db, _, bad = registered
    calls = []
    judge = policy.diagnostics_gate

    def counted(*args):
        calls.append(args)
        return judge(*args)

    monkeypatch.setattr("registry.promotion.diagnostics_gate", counted)
    done = CliRunner().invoke(
        cli, ["--db", str(db), "registry", "promote", bad, "--reason", "r",
              "--format", "json"],
    )  # fmt: skip
    assert done.exit_code == 1 and len(calls) == 1
    printed = json.loads(done.output)
    assert printed["promoted"] is False and printed["report"]["version_id"] == bad
    gates = {g["name"]: g["passed"] for g in printed["report"]["gates"]}
    assert gates["diagnostics"] is False


@pytest.mark.parametrize("user", ["", None])
def test_moves_and_deletions_fall_back_to_an_unknown_user(
    registered, monkeypatch, user
):
    db, good, bad = registered

    def getuser():
        if user is None:
            raise OSError("no user name")
        return user

    monkeypatch.setattr(provenance.getpass, "getuser", getuser)
    runner = CliRunner()
    for version in (good, bad):
        done = runner.invoke(cli, ["--db", str(db), "registry", "promote", version,
                                   "--reason", "r", "--force"])  # fmt: skip
        assert done.exit_code == 0, done.output
    back = runner.invoke(cli, ["--db", str(db), "registry", "rollback", "--reason",
                               "r"])  # fmt: skip
    assert back.exit_code == 0, back.output
    deleted = runner.invoke(cli, ["--db", str(db), "registry", "delete", bad])
    assert deleted.exit_code == 0, deleted.output
    audit = json.loads(run(db, "registry", "audit", "--format", "json").stdout)
    assert [e["who"] for e in audit] == ["unknown"] * 3
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT deleted_by FROM version_deletions").fetchall() == [
            ("unknown",)
        ]
