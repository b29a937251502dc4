"""The integrity check finds each kind of damage it names."""

from __future__ import annotations

from pathlib import Path

import arviz
import duckdb
import numpy as np
import pytest

from engine.artefacts import to_netcdf_bytes
from registry import migrations
from registry.integrity import check_integrity, schema_problems
from registry.policy import PromotionPolicy
from registry.promotion import promote
from registry.store import Store
from registry.versions import delete_version, register_version

NO_DRIFT = PromotionPolicy(require_drift_check=False)


@pytest.fixture(scope="module")
def payload() -> bytes:
    draws = np.random.default_rng(3).normal(size=(1, 20))
    return to_netcdf_bytes(arviz.from_dict(posterior={"attack": draws}))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "registry.duckdb")


@pytest.fixture
def filled(store: Store, payload: bytes) -> dict[str, str]:
    ids = {}
    for name, seed in (("old", 1), ("champion", 2), ("gone", 3)):
        ids[name] = register_version(
            store, model="poisson", config={}, selection={"leagues": ["E0"]},
            training_hash="01" * 32, seed=seed, idata_netcdf=payload,
            diagnostics={},
        ).version_id  # fmt: skip
    for name in ("gone", "old", "champion"):
        promote(store, ids[name], scope="E0", reason="r", force=True, policy=NO_DRIFT)
    delete_version(store, ids["gone"])
    return ids


def sql(store: Store, statement: str, params: list | None = None) -> None:
    with store.write() as con:
        con.execute(statement, params or [])


def test_a_sound_store_passes(store, filled):
    report = check_integrity(store)
    assert report.ok, report.problems
    assert report.rows["model_versions"] == 2
    assert report.rows["audit_log"] == 3
    assert report.rows["version_deletions"] == 1
    assert report.migrations == [m.name for m in migrations.MIGRATIONS]
    assert report.database_size["block_size"] > 0
    assert report.to_dict()["ok"] is True


def test_a_missing_store_is_reported_not_created(tmp_path):
    store = Store(tmp_path / "nowhere" / "x.duckdb")
    report = check_integrity(store)
    assert not report.ok and "no store at" in report.problems[0]
    assert not store.path.exists()


def test_a_corrupted_artefact_is_found(store, filled):
    vid = filled["old"]
    sql(store, "UPDATE model_versions SET netcdf = netcdf || 'x'::BLOB "
        "WHERE version_id = ?", [vid])  # fmt: skip
    [problem] = check_integrity(store).problems
    assert vid in problem and "fails its sha256 check" in problem


def test_a_changed_record_is_found(store, filled):
    sql(store, "UPDATE model_versions SET diagnostics = '{}' || ' ' "
        "WHERE version_id = ?", [filled["old"]])  # fmt: skip
    [problem] = check_integrity(store).problems
    assert f"{filled['old']} was changed after it was registered" in problem


def test_an_alias_that_disagrees_with_its_audit_row_is_found(store, filled):
    sql(store, "UPDATE aliases SET version_id = ?", [filled["old"]])
    [problem] = check_integrity(store).problems
    assert f"champion of E0 names {filled['old']}" in problem
    assert f"moved it to {filled['champion']}" in problem


def test_an_audit_row_naming_an_unknown_version_is_found(store, filled):
    sql(store, "UPDATE audit_log SET from_version = 'ffffffffff' WHERE audit_id = 2")
    [problem] = check_integrity(store).problems
    assert "audit row 2 names model version ffffffffff" in problem


def test_an_unknown_migration_is_found(store, filled):
    sql(store, "INSERT INTO schema_migrations VALUES ('9999_future', now())")
    [problem] = check_integrity(store).problems
    assert "9999_future is applied but unknown" in problem


def test_a_store_row_naming_a_missing_import_is_found(store, filled):
    sql(store, "INSERT INTO imports VALUES (1, 's', 'h', 'E0', 2023, 1, 1, 0, now())")
    sql(
        store,
        "INSERT INTO matches VALUES ('m', 'E0', 2023, '2023-08-12', NULL, 'A', "
        "'B', 1, 0, 1, 99)",
    )
    [problem] = check_integrity(store).problems
    assert "matches name an import (last_import_id)" in problem


def ledger_only(path: Path, upto: int, extra: str | None = None) -> None:
    """Build a store by hand: the first ``upto`` migrations, plus raw SQL."""
    con = duckdb.connect(str(path))
    migrations.apply_migrations(con, migrations.MIGRATIONS[:upto])
    if extra:
        con.execute(extra)
    con.close()


def test_a_half_applied_migration_is_found(tmp_path):
    path = tmp_path / "half.duckdb"
    third = migrations.MIGRATIONS[2]
    ledger_only(path, 2, third.statements[0])

    con = duckdb.connect(str(path), read_only=True)
    problems = schema_problems(con)
    con.close()
    assert any(f"{third.name} is not recorded" in p and "half" in p for p in problems)

    report = check_integrity(Store(path))
    assert not report.ok
    assert third.name in report.problems[0]


def test_an_empty_database_file_is_a_store_not_yet_migrated(tmp_path):
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    con = duckdb.connect(str(path), read_only=True)
    assert schema_problems(con) == []
    con.close()
    assert check_integrity(Store(path)).ok


def test_a_migration_missing_in_the_middle_is_found(tmp_path):
    path = tmp_path / "gap.duckdb"
    ledger_only(path, 3)
    second = migrations.MIGRATIONS[1].name
    con = duckdb.connect(str(path))
    con.execute("DELETE FROM schema_migrations WHERE name = ?", [second])
    problems = schema_problems(con)
    con.close()
    assert any(f"{second} are missing before applied ones" in p for p in problems)


def test_objects_of_a_recorded_migration_must_exist(tmp_path):
    path = tmp_path / "lost.duckdb"
    ledger_only(path, len(migrations.MIGRATIONS))
    con = duckdb.connect(str(path))
    con.execute("DROP TABLE version_deletions")
    problems = schema_problems(con)
    con.close()
    assert any("version_deletions do not exist" in p for p in problems)
