"""Aliases, the audit log and rollback."""

from __future__ import annotations

import getpass
from pathlib import Path

import arviz
import numpy as np
import pytest

from engine.artefacts import to_netcdf_bytes
from registry.aliases import (
    AliasError,
    AliasMoved,
    NothingToRollBack,
    audit_log,
    check_scope,
    list_aliases,
    resolve_alias,
    rollback,
    write_move,
)
from registry.integrity import check_integrity
from registry.policy import PromotionPolicy
from registry.promotion import promote
from registry.provenance import canonical_scope
from registry.store import Store
from registry.versions import delete_version, register_version

NO_DRIFT = PromotionPolicy(require_drift_check=False)
DIAGNOSTICS = {"max_rhat": 1.0, "min_ess_bulk": 1000.0, "min_ess_tail": 1000.0,
               "divergences": 0}  # fmt: skip


@pytest.fixture(scope="module")
def payload() -> bytes:
    draws = np.random.default_rng(1).normal(size=(1, 20))
    return to_netcdf_bytes(arviz.from_dict(posterior={"home_advantage": draws}))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "registry.duckdb")


def version(store: Store, payload: bytes, leagues=("E0",), seed: int = 1) -> str:
    return register_version(
        store, model="poisson", config={}, selection={"leagues": list(leagues)},
        training_hash="cd" * 32, seed=seed, idata_netcdf=payload,
        diagnostics=DIAGNOSTICS,
    ).version_id  # fmt: skip


def force(store: Store, vid: str, scope: str = "E0", alias: str = "champion"):
    return promote(
        store, vid, alias=alias, scope=scope, reason="test move", force=True,
        policy=NO_DRIFT,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("given", "expected"),
    [("E0", "E0"), ("SP1,E0", "E0,SP1"), (" SP1 , E0,E0", "E0,SP1"),
     (["D1", "E0"], "D1,E0"), (("I1",), "I1")],
)  # fmt: skip
def test_canonical_scope(given, expected):
    assert canonical_scope(given) == expected


@pytest.mark.parametrize("bad", ["", ",", "E0;SP1", "E 0", []])
def test_bad_scope_is_refused(bad):
    with pytest.raises(AliasError, match="league codes"):
        check_scope(bad)


def test_first_promotion_sets_the_alias_and_writes_the_audit_row(store, payload):
    vid = version(store, payload)
    assert resolve_alias(store, "champion", "E0") is None
    with store.write() as con:  # out-of-sample scores: evidence for the gate
        con.execute(
            "CREATE TABLE version_match_scores (version_id VARCHAR, "
            "match_id VARCHAR, log_score DOUBLE, rps DOUBLE)"
        )
        con.execute(
            "INSERT INTO version_match_scores VALUES (?, 'm1', -1.0, 0.2)", [vid]
        )

    result = promote(store, vid, scope="E0", reason="first fit", policy=NO_DRIFT)

    assert resolve_alias(store, "champion", "E0") == vid
    [entry] = audit_log(store)
    assert entry == result.entry
    assert (entry.action, entry.alias, entry.scope) == ("promote", "champion", "E0")
    assert (entry.from_version, entry.to_version) == (None, vid)
    assert entry.who == getpass.getuser()
    assert entry.reason == "first fit" and entry.forced is False
    gates = {g["name"]: g for g in entry.evidence["gates"]}
    assert gates["performance"]["detail"] == "no champion to beat"
    assert entry.to_dict()["moved_at"].endswith("Z")
    [target] = list_aliases(store)
    assert (target.alias, target.scope, target.version_id) == ("champion", "E0", vid)
    assert target.audit_id == entry.audit_id


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_reason_is_required(store, payload, reason):
    vid = version(store, payload)
    with pytest.raises(AliasError, match="reason is required"):
        promote(store, vid, scope="E0", reason=reason, force=True)
    with pytest.raises(AliasError, match="reason is required"):
        rollback(store, alias="champion", scope="E0", reason=reason)
    assert audit_log(store) == []


def test_unknown_alias_is_refused(store, payload):
    vid = version(store, payload)
    with pytest.raises(AliasError, match="champion, challenger"):
        promote(store, vid, alias="king", scope="E0", reason="r", force=True)
    with pytest.raises(AliasError, match="champion, challenger"):
        resolve_alias(store, "best", "E0")


def test_promoting_the_current_version_again_is_refused(store, payload):
    vid = version(store, payload)
    force(store, vid)
    with pytest.raises(AliasError, match="already the champion of E0"):
        force(store, vid)
    assert len(audit_log(store)) == 1


def test_rollbacks_undo_promotions_in_reverse_order(store, payload):
    first, second, third = (version(store, payload, seed=s) for s in (1, 2, 3))
    for vid in (first, second, third):
        force(store, vid)

    back = rollback(store, alias="champion", scope="E0", reason="third is worse")
    assert back.version_id == second
    assert back.entry.evidence["undoes_audit_id"] == 3
    assert (
        rollback(store, alias="champion", scope="E0", reason="again").version_id
        == first
    )
    with pytest.raises(NothingToRollBack, match="no earlier version"):
        rollback(store, alias="champion", scope="E0", reason="once more")

    entries = audit_log(store)
    assert [e.action for e in entries] == ["promote"] * 3 + ["rollback"] * 2
    assert [(e.from_version, e.to_version) for e in entries[3:]] == [
        (third, second), (second, first),
    ]  # fmt: skip
    assert resolve_alias(store, "champion", "E0") == first
    assert check_integrity(store).ok


def test_promotion_after_a_rollback_is_undone_first(store, payload):
    first, second, third = (version(store, payload, seed=s) for s in (1, 2, 3))
    force(store, first)
    force(store, second)
    rollback(store, alias="champion", scope="E0", reason="undo second")
    force(store, third)
    assert rollback(store, alias="champion", scope="E0", reason="r").version_id == first


def test_rollback_with_no_history_or_a_deleted_target(store, payload):
    with pytest.raises(NothingToRollBack):
        rollback(store, alias="champion", scope="E0", reason="nothing yet")

    first, second = version(store, payload, seed=1), version(store, payload, seed=2)
    force(store, first)
    force(store, second)
    delete_version(store, first)
    with pytest.raises(NothingToRollBack, match=f"{first}, which was deleted"):
        rollback(store, alias="champion", scope="E0", reason="r")
    assert resolve_alias(store, "champion", "E0") == second
    assert check_integrity(store).ok


def test_rollback_without_a_scope_uses_the_one_scope_holding_the_alias(store, payload):
    first, second = version(store, payload, seed=1), version(store, payload, seed=2)
    both = version(store, payload, leagues=("E0", "SP1"), seed=3)
    force(store, first)
    force(store, second)
    force(store, both, scope="E0,SP1", alias="challenger")

    back = rollback(store, alias="champion", reason="second is worse")
    assert (back.entry.scope, back.version_id) == ("E0", first)
    assert resolve_alias(store, "champion", "E0") == first
    assert resolve_alias(store, "challenger", "E0,SP1") == both


def test_rollback_without_a_scope_refuses_several_scopes_or_none(store, payload):
    with pytest.raises(NothingToRollBack, match="no scope has a champion"):
        rollback(store, alias="champion", reason="nothing yet")

    first, second = version(store, payload, seed=1), version(store, payload, seed=2)
    both = version(store, payload, leagues=("E0", "SP1"), seed=3)
    force(store, first)
    force(store, second)
    force(store, both, scope="E0,SP1")
    with pytest.raises(AliasError) as caught:
        rollback(store, alias="champion", reason="which one")
    message = str(caught.value)
    assert "(E0; E0,SP1)" in message and "--scope" in message
    assert "\n" not in message
    assert len(audit_log(store)) == 3
    assert resolve_alias(store, "champion", "E0") == second


def test_a_refused_rollback_on_a_missing_store_creates_no_file(tmp_path):
    store = Store(tmp_path / "typo.duckdb")
    with pytest.raises(NothingToRollBack):
        rollback(store, alias="champion", scope="E0", reason="r")
    with pytest.raises(NothingToRollBack):
        rollback(store, alias="champion", reason="r")
    assert not store.exists()


def test_aliases_are_separate_per_alias_and_scope(store, payload):
    england = version(store, payload, leagues=("E0",), seed=1)
    both = version(store, payload, leagues=("E0", "SP1"), seed=2)
    force(store, england, scope="E0")
    force(store, both, scope="SP1,E0")
    force(store, both, scope="E0", alias="challenger")

    assert resolve_alias(store, "champion", "E0") == england
    assert resolve_alias(store, "champion", "E0,SP1") == both
    assert resolve_alias(store, "challenger", "E0") == both
    assert resolve_alias(store, "challenger", "E0,SP1") is None
    assert [(t.scope, t.alias) for t in list_aliases(store)] == [
        ("E0", "challenger"), ("E0", "champion"), ("E0,SP1", "champion"),
    ]  # fmt: skip


def test_audit_log_filters(store, payload):
    first, second = version(store, payload, seed=1), version(store, payload, seed=2)
    force(store, first)
    force(store, second)
    force(store, first, alias="challenger")

    assert len(audit_log(store)) == 3
    assert [e.to_version for e in audit_log(store, alias="challenger")] == [first]
    assert len(audit_log(store, scope="E0")) == 3
    assert audit_log(store, scope="SP1") == []
    assert [e.audit_id for e in audit_log(store, version_id=second)] == [2]
    assert [e.audit_id for e in audit_log(store, limit=2)] == [2, 3]
    with pytest.raises(AliasError, match="limit"):
        audit_log(store, limit=0)


def test_a_move_checks_the_alias_did_not_move_meanwhile(store, payload):
    first, second = version(store, payload, seed=1), version(store, payload, seed=2)
    force(store, first)
    with pytest.raises(AliasMoved, match="run it again"), store.write() as con:
        write_move(
            con, action="promote", alias="champion", scope="E0",
            expected_from=None, to_version=second, who="t", reason="stale",
            forced=False, evidence={},
        )  # fmt: skip
    assert resolve_alias(store, "champion", "E0") == first
    assert len(audit_log(store)) == 1
