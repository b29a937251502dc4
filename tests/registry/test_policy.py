"""The promotion policy: its fields, the paired bootstrap and every gate."""

from __future__ import annotations

from pathlib import Path

import arviz
import numpy as np
import pytest

from engine.artefacts import to_netcdf_bytes
from registry.aliases import audit_log, resolve_alias
from registry.policy import (
    PolicyError,
    PromotionPolicy,
    diagnostics_gate,
    paired_bootstrap,
    performance_gate,
)
from registry.promotion import PromotionBlocked, evaluate_gates, promote
from registry.store import Store
from registry.versions import register_version

GOOD = {"max_rhat": 1.004, "min_ess_bulk": 950.0, "min_ess_tail": 700.0,
        "divergences": 0}  # fmt: skip
NO_DRIFT = PromotionPolicy(require_drift_check=False)


@pytest.fixture(scope="module")
def payload() -> bytes:
    draws = np.random.default_rng(2).normal(size=(1, 20))
    return to_netcdf_bytes(arviz.from_dict(posterior={"home_advantage": draws}))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "registry.duckdb")


def version(store, payload, leagues=("E0",), diagnostics=GOOD, seed=1) -> str:
    return register_version(
        store, model="poisson", config={}, selection={"leagues": list(leagues)},
        training_hash="ef" * 32, seed=seed, idata_netcdf=payload,
        diagnostics=diagnostics,
    ).version_id  # fmt: skip


def verdicts(report) -> dict:
    return {v.name: v for v in report.verdicts}


# -- the policy's fields -------------------------------------------------------


def test_defaults_and_from_mapping():
    policy = PromotionPolicy()
    assert (policy.max_rhat, policy.min_ess_bulk, policy.min_ess_tail) == (
        1.01, 400.0, 400.0,
    )  # fmt: skip
    assert (policy.max_divergences, policy.bootstrap_samples) == (0, 2000)
    assert (policy.bootstrap_level, policy.require_drift_check) == (0.9, True)
    assert PromotionPolicy.from_mapping({}) == policy
    custom = PromotionPolicy.from_mapping({"max_rhat": 1.05, "seed": 3})
    assert (custom.max_rhat, custom.seed) == (1.05, 3)
    whole = PromotionPolicy.from_mapping({"min_ess_bulk": 500})
    assert isinstance(whole.min_ess_bulk, float) and whole.min_ess_bulk == 500.0
    assert PromotionPolicy.from_mapping(custom.to_dict()) == custom


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"max_rhat": 0.9}, "max_rhat"),
        ({"max_rhat": "1.01"}, "max_rhat"),
        ({"min_ess_bulk": -1}, "min_ess_bulk"),
        ({"max_divergences": 1.5}, "max_divergences"),
        ({"max_divergences": True}, "max_divergences"),
        ({"bootstrap_level": 1.0}, "bootstrap_level"),
        ({"bootstrap_samples": 10}, "bootstrap_samples"),
        ({"min_log_score_gain": float("nan")}, "min_log_score_gain"),
        ({"require_drift_check": "yes"}, "require_drift_check"),
        ({"seed": -4}, "seed"),
        ({"max_rhatt": 1.01}, "max_rhatt"),
    ],
)
def test_bad_fields_are_named(values, field):
    with pytest.raises(PolicyError, match=f"promotion.{field} ") as caught:
        PromotionPolicy.from_mapping(values)
    assert isinstance(caught.value, ValueError)
    assert "\n" not in str(caught.value)


# -- the paired bootstrap ------------------------------------------------------


def test_bootstrap_is_repeatable_with_its_seed():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=300), rng.normal(size=300)
    first = paired_bootstrap(a, b, num_resamples=500, seed=11)
    assert paired_bootstrap(a, b, num_resamples=500, seed=11) == first
    assert paired_bootstrap(a, b, num_resamples=500, seed=12) != first
    assert first.lower < first.mean < first.upper
    assert first.mean == pytest.approx(np.mean(a - b))
    assert (first.num_matches, first.num_resamples) == (300, 500)


def test_bootstrap_matches_the_normal_interval_for_a_large_sample():
    rng = np.random.default_rng(5)
    diff = rng.normal(0.02, 0.3, size=4000)
    interval = paired_bootstrap(diff, np.zeros_like(diff), num_resamples=4000,
                                level=0.9, seed=1)  # fmt: skip
    half = 1.6449 * diff.std(ddof=1) / np.sqrt(diff.size)
    assert interval.lower == pytest.approx(diff.mean() - half, abs=0.15 * half)
    assert interval.upper == pytest.approx(diff.mean() + half, abs=0.15 * half)


def test_bootstrap_pairs_the_scores():
    # Large spread between matches, tiny constant gain within each pair: a
    # paired interval is exact; an unpaired one would straddle zero.
    base = np.random.default_rng(3).normal(scale=5.0, size=200)
    interval = paired_bootstrap(base + 0.01, base, num_resamples=300, seed=0)
    assert interval.lower == pytest.approx(0.01)
    assert interval.upper == pytest.approx(0.01)


def test_bootstrap_level_widens_the_interval():
    diff = np.random.default_rng(4).normal(size=100)
    zeros = np.zeros(100)
    narrow = paired_bootstrap(diff, zeros, level=0.5, seed=2)
    wide = paired_bootstrap(diff, zeros, level=0.99, seed=2)
    assert wide.lower < narrow.lower < narrow.upper < wide.upper


@pytest.mark.parametrize(
    ("candidate", "baseline"),
    [([1.0, 2.0], [1.0]), ([1.0], [2.0]), ([1.0, np.nan], [0.0, 0.0]),
     ([[1.0, 2.0]], [[1.0, 2.0]])],
)  # fmt: skip
def test_bootstrap_refuses_bad_scores(candidate, baseline):
    with pytest.raises(ValueError, match="paired scores"):
        paired_bootstrap(candidate, baseline, seed=0)


# -- the diagnostics gate ------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "failing"),
    [
        ({}, None),
        ({"max_rhat": 1.02}, "max_rhat"),
        ({"max_rhat": float("nan")}, "max_rhat"),
        ({"min_ess_bulk": 399.0}, "min_ess_bulk"),
        ({"min_ess_tail": 12.0}, "min_ess_tail"),
        ({"divergences": 1}, "divergences"),
    ],
)
def test_diagnostics_gate(change, failing):
    verdict = diagnostics_gate({**GOOD, **change}, PromotionPolicy())
    assert verdict.passed is (failing is None)
    if failing:
        assert verdict.detail.startswith(failing)
    assert (
        verdict.evidence["diagnostics"]["min_ess_tail"]
        == {**GOOD, **change}["min_ess_tail"]
    )


def test_diagnostics_gate_without_numbers_has_no_evidence():
    verdict = diagnostics_gate({"method": "svi", "elbo": -10.0}, PromotionPolicy())
    assert verdict.passed is None
    assert "no evidence" in verdict.detail and "max_rhat" in verdict.detail


# -- the gates on a store ------------------------------------------------------


def test_first_promotion_needs_a_drift_check_by_default(store, payload):
    vid = version(store, payload)
    report = evaluate_gates(store, vid, "champion", "E0")
    gates = verdicts(report)

    assert gates["performance"].passed is None
    assert "no out-of-sample scores" in gates["performance"].detail
    assert gates["drift"].passed is None
    assert not report.passed
    assert [v.name for v in report.blocking] == ["performance", "drift"]
    with pytest.raises(PromotionBlocked, match="drift: no evidence"):
        promote(store, vid, scope="E0", reason="first")
    assert audit_log(store) == []
    assert resolve_alias(store, "champion", "E0") is None

    relaxed = verdicts(evaluate_gates(store, vid, "champion", "E0", NO_DRIFT))
    assert relaxed["drift"].passed is True
    assert "not required" in relaxed["drift"].detail


def test_scope_defaults_to_the_versions_own(store, payload):
    vid = version(store, payload, leagues=("SP1", "E0"))
    assert evaluate_gates(store, vid).scope == "E0,SP1"


def test_scope_gate_refuses_leagues_the_version_never_saw(store, payload):
    vid = version(store, payload, leagues=("E0",))
    gates = verdicts(evaluate_gates(store, vid, "champion", "E0,SP1", NO_DRIFT))
    assert gates["scope"].passed is False
    assert "not trained on SP1" in gates["scope"].detail
    wider = version(store, payload, ("E0", "D1"), seed=2)
    subset = verdicts(evaluate_gates(store, wider, "champion", "E0", NO_DRIFT))
    assert subset["scope"].passed is True


def test_performance_without_scores_blocks_until_forced(store, payload):
    champion = version(store, payload, seed=1)
    promote(store, champion, scope="E0", reason="first", force=True, policy=NO_DRIFT)
    candidate = version(store, payload, seed=2)

    with pytest.raises(PromotionBlocked, match="performance: no evidence"):
        promote(store, candidate, scope="E0", reason="try", policy=NO_DRIFT)
    forced = promote(store, candidate, scope="E0", reason="ops decision",
                     force=True, policy=NO_DRIFT)  # fmt: skip

    assert forced.entry.forced is True
    assert forced.entry.from_version == champion
    gates = {g["name"]: g for g in forced.entry.evidence["gates"]}
    assert gates["performance"]["passed"] is None
    assert forced.entry.evidence["passed"] is False
    assert resolve_alias(store, "champion", "E0") == candidate


def test_force_is_not_recorded_when_every_gate_passed(store, payload):
    vid = version(store, payload)
    add_own_scores(store, vid, n=3)
    result = promote(store, vid, scope="E0", reason="r", force=True, policy=NO_DRIFT)
    assert result.entry.forced is False


def test_bad_diagnostics_block_promotion(store, payload):
    vid = version(store, payload, diagnostics={**GOOD, "divergences": 3})
    with pytest.raises(PromotionBlocked, match="divergences 3 not <= 0"):
        promote(store, vid, scope="E0", reason="r", policy=NO_DRIFT)


def add_scores(store, champion, candidate, gain, n, seed=0):
    rng = np.random.default_rng(seed)
    log_score = rng.normal(-1.0, 0.4, size=n)
    rps = rng.uniform(0.1, 0.3, size=n)
    noise = rng.normal(0.0, 0.02, size=n)
    rows = [(champion, f"m{i}", log_score[i], rps[i]) for i in range(n)]
    rows += [
        (candidate, f"m{i}", log_score[i] + gain + noise[i], rps[i] - gain / 10)
        for i in range(n)
    ]
    with store.write() as con:
        con.execute(
            "CREATE TABLE IF NOT EXISTS version_match_scores (version_id VARCHAR, "
            "match_id VARCHAR, log_score DOUBLE, rps DOUBLE)"
        )
        con.executemany("INSERT INTO version_match_scores VALUES (?, ?, ?, ?)", rows)


def add_own_scores(store, vid, n):
    rows = [(vid, f"m{i}", -1.0, 0.2) for i in range(n)]
    with store.write() as con:
        con.execute(
            "CREATE TABLE IF NOT EXISTS version_match_scores (version_id VARCHAR, "
            "match_id VARCHAR, log_score DOUBLE, rps DOUBLE)"
        )
        con.executemany("INSERT INTO version_match_scores VALUES (?, ?, ?, ?)", rows)


@pytest.mark.parametrize(
    ("scored", "passed", "detail"),
    [(0, None, "no evidence: model version v1 has no out-of-sample scores"),
     (1, True, "no champion to beat")],
)  # fmt: skip
def test_performance_with_no_champion_needs_scores(scored, passed, detail):
    verdict = performance_gate(
        "v1", None, None, PromotionPolicy(), scored_matches=scored
    )
    assert verdict.passed is passed
    assert verdict.detail.startswith(detail)
    assert verdict.evidence == {"champion": None, "scored_matches": scored}


def test_first_promotion_without_scores_is_blocked_until_forced(store, payload):
    vid = version(store, payload)
    with pytest.raises(PromotionBlocked, match="performance: no evidence"):
        promote(store, vid, scope="E0", reason="first", policy=NO_DRIFT)
    assert resolve_alias(store, "champion", "E0") is None

    forced = promote(store, vid, scope="E0", reason="first", force=True,
                     policy=NO_DRIFT)  # fmt: skip
    assert forced.entry.forced is True
    gates = {g["name"]: g for g in forced.entry.evidence["gates"]}
    assert gates["performance"]["passed"] is None


def test_first_promotion_with_scores_has_no_champion_to_beat(store, payload):
    vid = version(store, payload)
    add_own_scores(store, vid, n=5)
    report = evaluate_gates(store, vid, "champion", "E0", NO_DRIFT)
    performance = verdicts(report)["performance"]
    assert performance.passed is True and report.passed
    assert performance.detail == "no champion to beat"
    assert performance.evidence["scored_matches"] == 5
    result = promote(store, vid, scope="E0", reason="r", policy=NO_DRIFT)
    assert result.entry.forced is False


@pytest.mark.parametrize(("gain", "passed"), [(0.05, True), (-0.05, False)])
def test_performance_gate_reads_paired_scores(store, payload, gain, passed):
    champion = version(store, payload, seed=1)
    promote(store, champion, scope="E0", reason="first", force=True, policy=NO_DRIFT)
    candidate = version(store, payload, seed=2)
    add_scores(store, champion, candidate, gain, n=150)

    gate = verdicts(evaluate_gates(store, candidate, "champion", "E0", NO_DRIFT))
    performance = gate["performance"]
    assert performance.passed is passed
    assert performance.evidence["num_matches"] == 150
    log_gain = performance.evidence["log_score_gain"]
    assert log_gain["mean"] == pytest.approx(gain, abs=0.01)
    assert (log_gain["lower"] > 0) is passed
    assert performance.evidence["rps_gain"]["mean"] == pytest.approx(gain / 10)


def test_performance_gate_applies_its_margin_and_minimum(store, payload):
    champion = version(store, payload, seed=1)
    promote(store, champion, scope="E0", reason="first", force=True, policy=NO_DRIFT)
    candidate = version(store, payload, seed=2)
    add_scores(store, champion, candidate, 0.05, n=150)

    strict = PromotionPolicy(require_drift_check=False, min_log_score_gain=0.2)
    assert (
        verdicts(evaluate_gates(store, candidate, "champion", "E0", strict))[
            "performance"
        ].passed
        is False
    )
    few = PromotionPolicy(require_drift_check=False, min_paired_matches=151)
    gate = verdicts(evaluate_gates(store, candidate, "champion", "E0", few))
    assert gate["performance"].passed is None
    assert "150 matches scored by both" in gate["performance"].detail

    result = promote(store, candidate, scope="E0", reason="better", policy=NO_DRIFT)
    assert result.entry.forced is False
    assert result.entry.evidence["gates"][2]["evidence"]["num_matches"] == 150


@pytest.mark.parametrize(("alert", "passed"), [(False, True), (True, False)])
def test_drift_gate_reads_the_latest_check(store, payload, alert, passed):
    vid = version(store, payload)
    with store.write() as con:
        con.execute(
            "CREATE TABLE version_drift_checks (version_id VARCHAR, "
            "checked_at TIMESTAMP, alert BOOLEAN, detail VARCHAR)"
        )
        con.execute(
            "INSERT INTO version_drift_checks VALUES "
            "(?, '2024-01-01', ?, 'older'), (?, '2024-02-01', ?, 'goals up')",
            [vid, not alert, vid, alert],
        )
    drift = verdicts(evaluate_gates(store, vid, "champion", "E0"))["drift"]
    assert drift.passed is passed
    assert drift.evidence["latest_check"]["checked_at"].startswith("2024-02-01")


def test_challenger_needs_scope_and_diagnostics_only(store, payload):
    champion = version(store, payload, seed=1)
    promote(store, champion, scope="E0", reason="first", force=True, policy=NO_DRIFT)
    candidate = version(store, payload, seed=2)

    report = evaluate_gates(store, candidate, "challenger", "E0")
    assert report.passed
    assert "not required for the challenger" in verdicts(report)["drift"].detail
    promote(store, candidate, alias="challenger", scope="E0", reason="shadow")
    assert resolve_alias(store, "challenger", "E0") == candidate
    assert resolve_alias(store, "champion", "E0") == champion
