"""Every command's JSON output has exactly the keys the README documents."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import arviz
import numpy as np
import pytest

from engine.artefacts import to_netcdf_bytes
from registry.store import Store
from registry.versions import register_version

REPO = Path(__file__).resolve().parents[2]
TOUCHLINE = str(Path(sys.executable).parent / "touchline")


def documented() -> dict[str, list[str]]:
    """The README's JSON table: command name to its backticked keys, in order."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### JSON output", 1)[1].split("\n#", 1)[0]
    table = {}
    for line in section.splitlines():
        cells = line.split(" | ")
        if len(cells) != 2 or not cells[0].startswith("| `"):
            continue
        keys = re.findall(r"`([a-z_0-9]+)`", cells[1])
        for command in re.findall(r"`([a-z ]+)`", cells[0]):
            table[command] = keys
    return table


def run(db: Path, *args: str) -> object:
    env = {**os.environ, "TOUCHLINE_DB": str(db)}
    done = subprocess.run(
        [TOUCHLINE, *args, "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def store(tmp_path_factory, shared_data) -> tuple[Path, str, str]:
    db = tmp_path_factory.mktemp("keys") / "store.duckdb"
    season = shared_data / "mmz4281" / "2223" / "E0.csv"
    imported = run(db, "data", "import", str(season))
    versions = []
    for seed in (1, 2):
        idata = arviz.from_dict(
            posterior={"attack": np.random.default_rng(seed).normal(size=(2, 5, 2))},
            dims={"attack": ["team"]},
            coords={"team": ["Arsenal", "Chelsea"]},
        )
        versions.append(
            register_version(
                Store(db),
                model="poisson",
                config={"model": {"name": "poisson"}},
                selection={"leagues": ["E0"], "cutoff": "2023-06-01"},
                training_hash="ab" * 32,
                seed=seed,
                idata_netcdf=to_netcdf_bytes(idata),
                diagnostics={"max_rhat": 1.0, "divergences": 0},
            ).version_id
        )
    return db, imported, versions


def test_the_readme_lists_every_reporting_command():
    assert set(documented()) == {
        "data import",
        "data pull",
        "data status",
        "fit",
        "registry list",
        "registry show",
        "registry gates",
        "registry rollback",
        "registry promote",
        "registry audit",
        "registry check",
    }


def test_json_keys_are_the_documented_ones(store):
    db, imported, (first, second) = store
    keys = documented()
    assert list(imported) == keys["data import"] == keys["data pull"]
    assert list(run(db, "data", "status")) == keys["data status"]

    listed = run(db, "registry", "list")
    version_keys = keys["fit"]
    assert [list(v) for v in listed] == [[*version_keys, "aliases"]] * 2
    shown = run(db, "registry", "show", first)
    added = ["metrics", "aliases", "audit"]
    assert keys["registry show"] == ["fit", *added, "metrics", *shown["metrics"]]
    assert list(shown) == [*version_keys, *added]
    assert list(shown["metrics"]) == ["in_sample", "out_of_sample"]
    gates = run(db, "registry", "gates", first)
    assert list(gates) == keys["registry gates"]

    blocked = run(db, "registry", "promote", first, "--reason", "try")
    assert list(blocked) == ["promoted", "report"]
    assert list(blocked["report"]) == keys["registry gates"]
    moved_keys = keys["registry rollback"]
    for version in (first, second):
        promoted = run(
            db, "registry", "promote", version, "--reason", "first", "--force"
        )
        assert list(promoted) == ["promoted", *moved_keys]
    assert list(run(db, "registry", "rollback", "--reason", "undo")) == moved_keys
    assert [list(e) for e in run(db, "registry", "audit")] == [moved_keys] * 3
    assert list(run(db, "registry", "check")) == keys["registry check"]
