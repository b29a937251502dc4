"""Model versions: registration, reading, export, deletion and row hashing."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import subprocess
from datetime import date
from pathlib import Path

import arviz
import numpy as np
import polars as pl
import pytest

from engine.artefacts import to_netcdf_bytes
from registry.aliases import write_move
from registry.provenance import training_rows_hash
from registry.store import Store
from registry.versions import (
    ArtefactCorrupted,
    InvalidVersionInput,
    UnknownVersion,
    VersionInUse,
    delete_version,
    export_version,
    get_version,
    list_versions,
    load_artefact,
    load_inference_data,
    register_version,
)

REPO = Path(__file__).resolve().parents[2]
DIAGNOSTICS = {"max_rhat": 1.002, "min_ess_bulk": 900.0, "min_ess_tail": 800.0,
               "divergences": 0}  # fmt: skip


def posterior(seed: int = 0, draws: int = 50) -> arviz.InferenceData:
    rng = np.random.default_rng(seed)
    return arviz.from_dict(
        posterior={"attack": rng.normal(size=(2, draws, 3))},
        dims={"attack": ["team"]},
        coords={"team": ["Arsenal", "Chelsea", "Spurs"]},
    )


@pytest.fixture(scope="module")
def payload() -> bytes:
    return to_netcdf_bytes(posterior())


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "registry.duckdb")


def register(store: Store, payload: bytes, **changes) -> object:
    values = {
        "model": "dixon_coles",
        "config": {"model": {"name": "dixon_coles"}, "sampler": {"seed": 7}},
        "selection": {"leagues": ["SP1", "E0"], "cutoff": "2024-05-01"},
        "training_hash": "ab" * 32,
        "seed": 7,
        "idata_netcdf": payload,
        "diagnostics": DIAGNOSTICS,
    }
    values.update(changes)
    return register_version(store, **values)


def test_register_keeps_every_field_and_lists_it(store, payload):
    version = register(store, payload, created_by="analyst")

    assert len(version.version_id) == 10
    int(version.version_id, 16)
    assert version.scope == "E0,SP1"
    assert version.artefact_sha256 == hashlib.sha256(payload).hexdigest()
    assert version.artefact_size == len(payload)
    assert version.package_version == importlib.metadata.version("touchline")
    assert version.created_by == "analyst"
    assert list_versions(store) == [version]
    assert get_version(store, version.version_id) == version


def test_to_dict_has_stable_json_keys(store, payload):
    version = register(store, payload)
    out = version.to_dict()

    assert list(out) == [
        "version_id", "created_at", "model", "config", "selection", "scope",
        "training_hash", "seed", "package_version", "git_commit",
        "diagnostics", "artefact_sha256", "artefact_size", "created_by",
    ]  # fmt: skip
    assert out["created_at"].endswith("Z")
    assert json.loads(json.dumps(out)) == out
    assert out["config"]["sampler"]["seed"] == 7


def test_git_commit_is_the_checkout_head_or_none(store, payload):
    version = register(store, payload)
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
            text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        head = None
    assert version.git_commit == head


def test_ids_are_unique(store, payload):
    ids = {register(store, payload, seed=seed).version_id for seed in range(12)}
    assert len(ids) == 12
    assert [v.seed for v in list_versions(store)] == list(range(12))


def test_inference_data_round_trips(store, payload):
    version = register(store, payload)
    idata = load_inference_data(store, version.version_id)

    expected = posterior().posterior["attack"].values
    np.testing.assert_array_equal(idata.posterior["attack"].values, expected)
    assert list(idata.posterior["team"].values) == ["Arsenal", "Chelsea", "Spurs"]
    assert load_artefact(store, version.version_id) == payload


def test_export_opens_in_plain_arviz(store, payload, tmp_path):
    version = register(store, payload)
    path = export_version(store, version.version_id, tmp_path / "out" / "v.nc")

    idata = arviz.from_netcdf(path)
    np.testing.assert_array_equal(
        idata.posterior["attack"].values, posterior().posterior["attack"].values
    )
    with pytest.raises(Exception, match="already exists"):
        export_version(store, version.version_id, path)
    assert export_version(store, version.version_id, path, overwrite=True) == path
    assert not [p for p in path.parent.iterdir() if p.name != "v.nc"]


def test_corrupted_artefact_is_refused_on_read(store, payload):
    version = register(store, payload)
    with store.write() as con:
        con.execute(
            "UPDATE model_versions SET netcdf = netcdf[1:100] || 'X'::BLOB || "
            "netcdf[102:]"
        )

    with pytest.raises(ArtefactCorrupted, match="sha256") as caught:
        load_artefact(store, version.version_id)
    assert version.version_id in str(caught.value)
    assert "\n" not in str(caught.value)
    with pytest.raises(ArtefactCorrupted):
        load_inference_data(store, version.version_id)


def test_changed_record_is_refused_on_read(store, payload):
    version = register(store, payload)
    with store.write() as con:
        con.execute("UPDATE model_versions SET seed = 8")

    with pytest.raises(ArtefactCorrupted, match="changed after it was registered"):
        load_artefact(store, version.version_id)


def test_unknown_id_says_how_to_list(store, payload):
    register(store, payload)
    for bad in ("0123456789", "zz", "not-an-id", "ab"):
        with pytest.raises(UnknownVersion, match="touchline registry list") as caught:
            get_version(store, bad)
        assert "\n" not in str(caught.value)


def test_unique_prefix_resolves_and_ambiguous_one_is_named(store, payload):
    version = register(store, payload)
    vid = version.version_id
    assert get_version(store, vid[:4]) == version
    assert get_version(store, vid.upper()) == version

    twin = vid[:4] + ("000000" if vid[4:] != "000000" else "ffffff")
    with store.write() as con:
        con.execute(
            "INSERT INTO model_versions BY NAME SELECT * REPLACE (? AS version_id) "
            "FROM model_versions WHERE version_id = ?",
            [twin, vid],
        )
    with pytest.raises(UnknownVersion, match="several") as caught:
        get_version(store, vid[:4])
    assert vid in str(caught.value) and twin in str(caught.value)
    assert get_version(store, vid) == version


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": ""}, "model must be"),
        ({"training_hash": "abc"}, "training_hash must be 64"),
        ({"seed": -1}, "seed must be"),
        ({"seed": True}, "seed must be"),
        ({"config": {"when": date(2024, 1, 1)}}, "config is not JSON"),
        ({"selection": ["E0"]}, "selection must be a dict"),
        ({"idata_netcdf": b"not netcdf at all"}, "not netCDF-4"),
        ({"idata_netcdf": "text"}, "must be bytes"),
        ({"selection": {"leagues": ["E 0"]}}, "league codes"),
    ],
)
def test_bad_input_is_refused_and_nothing_written(store, payload, change, message):
    with pytest.raises(InvalidVersionInput, match=message) as caught:
        register(store, payload, **change)
    assert "\n" not in str(caught.value)
    assert list_versions(store) == []


def test_netcdf_without_posterior_is_refused(store):
    prior_only = arviz.from_dict(prior={"attack": np.zeros((1, 10))})
    with pytest.raises(InvalidVersionInput, match="no posterior group"):
        register(store, to_netcdf_bytes(prior_only))


def test_scope_filter(store, payload):
    both = register(store, payload)
    england = register(store, payload, selection={"leagues": ["E0"]})
    assert list_versions(store, scope="E0") == [england]
    assert list_versions(store, scope="E0,SP1") == [both]


def test_delete_records_the_deletion(store, payload):
    version = register(store, payload)
    kept = register(store, payload, seed=8)
    assert delete_version(store, version.version_id, deleted_by="ops") == version

    assert list_versions(store) == [kept]
    with pytest.raises(UnknownVersion, match="was deleted"):
        get_version(store, version.version_id)
    with store.read() as con:
        row = con.execute("SELECT deleted_by, record FROM version_deletions").fetchone()
    assert row[0] == "ops"
    assert json.loads(row[1])["artefact_sha256"] == version.artefact_sha256


def test_deleting_from_a_missing_store_creates_no_file(tmp_path):
    store = Store(tmp_path / "typo" / "typo.duckdb")
    with pytest.raises(UnknownVersion, match="no model version has the id"):
        delete_version(store, "ffff")
    assert list(tmp_path.iterdir()) == []


def test_delete_refuses_a_version_an_alias_holds(store, payload):
    version = register(store, payload)
    with store.write() as con:
        write_move(
            con, action="promote", alias="champion", scope="E0,SP1",
            expected_from=None, to_version=version.version_id, who="t",
            reason="first", forced=True, evidence={},
        )  # fmt: skip

    with pytest.raises(VersionInUse, match="champion of E0,SP1") as caught:
        delete_version(store, version.version_id)
    assert "\n" not in str(caught.value)
    assert list_versions(store) == [version]


def test_delete_refuses_a_version_another_table_names(store, payload):
    version = register(store, payload)
    with store.write() as con:
        con.execute("CREATE TABLE validation_runs (run_id INT, version_id VARCHAR)")
        con.execute("INSERT INTO validation_runs VALUES (1, ?)", [version.version_id])

    with pytest.raises(VersionInUse, match=r"validation_runs\.version_id"):
        delete_version(store, version.version_id)
    with store.write() as con:
        con.execute("DELETE FROM validation_runs")
    delete_version(store, version.version_id)
    assert list_versions(store) == []


def frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "home_team": ["Arsenal", "Spurs", "Chelsea"],
            "kickoff": [date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)],
            "home_goals": [2, 0, 1],
            "weight": [1.0, 0.5, None],
        }
    )


def test_training_rows_hash_follows_its_documented_recipe():
    text = json.dumps(["home_goals", "home_team", "kickoff", "weight"]) + "\n"
    # columns are sorted by name, so each row's values follow that order
    lines = sorted(
        json.dumps(row)
        for row in (
            [2, "Arsenal", "2024-01-01", 1.0],
            [0, "Spurs", "2024-01-02", 0.5],
            [1, "Chelsea", "2024-01-03", None],
        )
    )
    text += "".join(line + "\n" for line in lines)
    assert training_rows_hash(frame()) == hashlib.sha256(text.encode()).hexdigest()


def test_training_rows_hash_ignores_order_but_not_content():
    base = training_rows_hash(frame())
    assert training_rows_hash(frame().reverse()) == base
    assert training_rows_hash(frame().select(reversed(frame().columns))) == base
    changed = frame().with_columns(home_goals=pl.Series([2, 0, 2]))
    assert training_rows_hash(changed) != base
    assert training_rows_hash(pl.concat([frame(), frame().head(1)])) != base
    assert training_rows_hash(frame().rename({"weight": "w"})) != base
