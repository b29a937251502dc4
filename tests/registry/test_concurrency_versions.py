"""Many processes, one store: writers register while a reader keeps reading.

The workers are this file run as a script, so every process is a real one
with its own DuckDB connection and lock.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

WRITE_SECONDS = 3.0
DRAWS = 262_144  # 2 MiB of float64 draws


def make_payload(path: Path) -> bytes:
    import arviz
    import numpy as np

    from engine.artefacts import to_netcdf_bytes

    draws = np.random.default_rng(0).normal(size=(1, DRAWS))
    data = to_netcdf_bytes(arviz.from_dict(posterior={"attack": draws}))
    path.write_bytes(data)
    return data


def writer(db: str, payload_path: str, seconds: str, tag: str) -> None:
    from registry.store import Store
    from registry.versions import register_version

    store, payload = Store(db), Path(payload_path).read_bytes()
    print("ready", flush=True)
    deadline, seed = time.monotonic() + float(seconds), 0
    while time.monotonic() < deadline:
        version = register_version(
            store, model=f"writer-{tag}", config={"seed": seed},
            selection={"leagues": ["E0"]}, training_hash="aa" * 32,
            seed=seed, idata_netcdf=payload, diagnostics={},
        )  # fmt: skip
        print(version.version_id, flush=True)
        seed += 1


def reader(db: str, stop_path: str, expected_sha: str) -> None:
    from registry.store import Store
    from registry.versions import list_versions, load_artefact

    store, stop = Store(db), Path(stop_path)
    reads = seen = 0
    print("ready", flush=True)
    while True:
        last = stop.exists()
        versions = list_versions(store)
        if versions:
            data = load_artefact(store, versions[-1].version_id)
            assert hashlib.sha256(data).hexdigest() == expected_sha
            seen = max(seen, len(versions))
        reads += 1
        if last:
            break
    print(json.dumps({"reads": reads, "seen": seen}), flush=True)


def start(*args: str) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, __file__, *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready", process.stderr.read()
    return process


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_readers_never_fail_while_writers_register(tmp_path):
    from registry.integrity import check_integrity
    from registry.store import Store
    from registry.versions import list_versions

    db = tmp_path / "shared.duckdb"
    Store(db).migrate()
    payload = make_payload(tmp_path / "payload.nc")
    sha = hashlib.sha256(payload).hexdigest()
    stop = tmp_path / "stop"

    read = start("reader", str(db), str(stop), sha)
    writers = [
        start("writer", str(db), str(tmp_path / "payload.nc"), str(WRITE_SECONDS), tag)
        for tag in ("a", "b")
    ]
    outputs = [w.communicate(timeout=90) for w in writers]
    stop.touch()
    read_out, read_err = read.communicate(timeout=60)

    for process, (_, err) in zip(writers, outputs, strict=True):
        assert process.returncode == 0, err
    assert read.returncode == 0, read_err
    per_writer = [out.split() for out, _ in outputs]
    written = [vid for ids in per_writer for vid in ids]
    assert all(ids for ids in per_writer)
    assert all(len(vid) == 10 for vid in written)
    stats = json.loads(read_out.strip().splitlines()[-1])
    assert stats["reads"] >= 2
    assert stats["seen"] == len(written)

    stored = list_versions(Store(db))
    assert sorted(v.version_id for v in stored) == sorted(written)
    assert {v.model for v in stored} == {"writer-a", "writer-b"}
    assert check_integrity(Store(db)).ok


if __name__ == "__main__":
    {"writer": writer, "reader": reader}[sys.argv[1]](*sys.argv[2:])
