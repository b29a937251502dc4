"""A process killed at any moment leaves the store consistent.

Workers (this file run as a script) register, delete, promote, roll back,
create stores and import matches in a loop, printing each thing only after it
is committed. The test kills them with SIGKILL at seeded random moments, then
checks the store: the integrity check passes, everything printed is there,
and nothing is there by halves.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

MATCHES_PER_IMPORT = 1500
OUTCOMES = ("home", "draw", "away")
SEED = 20240601


# -- workers ---------------------------------------------------------------------


def register_loop(db: str, payload_path: str) -> None:
    from registry.store import Store
    from registry.versions import delete_version, register_version

    store, payload = Store(db), Path(payload_path).read_bytes()
    print("ready", flush=True)
    for seed in range(10**6):
        vid = register_version(
            store, model="poisson", config={"seed": seed},
            selection={"leagues": ["E0"]}, training_hash="bb" * 32, seed=seed,
            idata_netcdf=payload, diagnostics={},
        ).version_id  # fmt: skip
        print(f"+{vid}", flush=True)
        if seed % 3 == 2:
            print(f"~{vid}", flush=True)
            delete_version(store, vid)
            print(f"-{vid}", flush=True)


def promote_loop(db: str, *ids: str) -> None:
    from registry.aliases import resolve_alias, rollback
    from registry.policy import PromotionPolicy
    from registry.promotion import promote
    from registry.store import Store

    store, policy = Store(db), PromotionPolicy(require_drift_check=False)
    print("ready", flush=True)
    for step in range(10**6):
        alias = ("champion", "challenger")[step % 2]
        if step % 5 == 4 and resolve_alias(store, alias, "E0") is not None:
            try:
                entry = rollback(store, alias=alias, scope="E0", reason="loop").entry
            except Exception as exc:  # nothing left to undo
                print(f"skip {type(exc).__name__}", flush=True)
                continue
        else:
            current = resolve_alias(store, alias, "E0")
            target = next(v for v in ids[step % len(ids) :] + ids if v != current)
            entry = promote(
                store, target, alias=alias, scope="E0", reason="loop",
                force=True, policy=policy,
            ).entry  # fmt: skip
        print(f"audit {entry.audit_id}", flush=True)


def migrate_loop(folder: str) -> None:
    from registry.store import Store

    print("ready", flush=True)
    for i in range(10**6):
        Store(Path(folder) / f"store-{i}.duckdb").migrate()
        print(i, flush=True)


def import_loop(db: str, base: str) -> None:
    from registry.matches import import_batch
    from registry.store import Store

    store = Store(db)
    print("ready", flush=True)
    for i in range(int(base), int(base) + 10**6):
        report = import_batch(store, synthetic_batch(i))
        print(f"import {report.import_ids[0]}", flush=True)


def synthetic_batch(i: int):
    import polars as pl

    from engine.contract import (
        FIXTURE_SCHEMA,
        MATCH_SCHEMA,
        PRICE_SCHEMA,
        REJECTED_SCHEMA,
        ImportBatch,
        ParsedFile,
        empty,
        match_id,
    )  # fmt: skip

    start = date(1900, 1, 1) + timedelta(days=i * MATCHES_PER_IMPORT)
    kickoffs = [start + timedelta(days=k) for k in range(MATCHES_PER_IMPORT)]
    home_sides = [f"Home {k % 37}" for k in range(MATCHES_PER_IMPORT)]
    away_sides = [f"Away {k % 41}" for k in range(MATCHES_PER_IMPORT)]
    ids = [
        match_id("E0", d.isoformat(), h, a)
        for d, h, a in zip(kickoffs, home_sides, away_sides, strict=True)
    ]
    matches = pl.DataFrame(
        {
            "match_id": ids, "league": "E0", "season": 1900 + i,
            "kickoff": kickoffs, "kickoff_time": None, "home_team": home_sides,
            "away_team": away_sides, "home_goals": [k % 4 for k in range(len(ids))],
            "away_goals": [k % 3 for k in range(len(ids))],
        },
        schema=MATCH_SCHEMA,
    )  # fmt: skip
    prices = pl.DataFrame(
        {
            "match_id": [m for m in ids for _ in OUTCOMES], "bookmaker": "B365",
            "market": "1x2", "timing": "closing",
            "outcome": list(OUTCOMES) * len(ids), "line": None,
            "price": [2.0, 3.4, 3.9] * len(ids),
        },
        schema=PRICE_SCHEMA,
    )  # fmt: skip
    parsed = ParsedFile(
        source=f"synthetic/{i}.csv", sha256=hashlib.sha256(str(i).encode()).hexdigest(),
        league="E0", season=1900 + i, rows_read=len(ids), matches=matches,
        fixtures=empty(FIXTURE_SCHEMA), prices=prices,
        rejected=empty(REJECTED_SCHEMA),
    )  # fmt: skip
    return ImportBatch(
        files=(parsed,), matches=matches, fixtures=parsed.fixtures, prices=prices,
        rejected=parsed.rejected,
    )  # fmt: skip


# -- the harness -----------------------------------------------------------------


def run_and_kill(args: list[str], delay: float) -> list[str]:
    """Start a worker, SIGKILL it ``delay`` s after it is ready; return its lines."""
    process = subprocess.Popen(
        [sys.executable, __file__, *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    ready = process.stdout.readline().strip()
    if ready != "ready":
        process.kill()
        pytest.fail(f"worker {args[0]} did not start: {process.communicate()[1]}")
    time.sleep(delay)
    os.kill(process.pid, signal.SIGKILL)
    out, err = process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL, err
    assert "Traceback" not in err, err
    return out.split("\n")


def kill_delays(n: int, salt: int) -> list[float]:
    rng = np.random.default_rng([SEED, salt])
    return [0.2, 0.5, 1.0, *rng.uniform(0.05, 1.2, size=max(0, n - 3))][:n]


def assert_sound(db: Path) -> None:
    from registry.integrity import check_integrity
    from registry.store import Store

    report = check_integrity(Store(db))
    assert report.ok, report.problems


@pytest.fixture(scope="module")
def payload(tmp_path_factory) -> Path:
    import arviz

    from engine.artefacts import to_netcdf_bytes

    draws = np.random.default_rng(0).normal(size=(1, 60_000))
    path = tmp_path_factory.mktemp("payload") / "posterior.nc"
    path.write_bytes(to_netcdf_bytes(arviz.from_dict(posterior={"attack": draws})))
    return path


# -- the tests -------------------------------------------------------------------


def test_killed_registrations_and_deletions_leave_whole_versions(tmp_path, payload):
    from registry.store import Store
    from registry.versions import list_versions, load_artefact

    db = tmp_path / "store.duckdb"
    Store(db).migrate()
    added, deleting, deleted = set(), set(), set()
    for kills, delay in enumerate(kill_delays(5, salt=1), start=1):
        lines = run_and_kill(["register", str(db), str(payload)], delay)
        marks = {
            mark: {line[1:] for line in lines if line[:1] == mark} for mark in "+~-"
        }
        added |= marks["+"]
        deleting |= marks["~"]
        deleted |= marks["-"]

        assert_sound(db)
        stored = {v.version_id for v in list_versions(Store(db))}
        # a deletion killed between its commit and its line may or may not be done
        assert added - deleting <= stored
        assert not stored & deleted
        # at most one registration per kill was committed but not yet printed
        assert len(stored - added) <= kills
        for vid in stored:
            assert load_artefact(Store(db), vid) == payload.read_bytes()
    assert added, "no registration finished; the kill delays are too short"


def test_killed_promotions_leave_aliases_and_audit_in_step(tmp_path, payload):
    from registry.aliases import audit_log, list_aliases
    from registry.store import Store
    from registry.versions import register_version

    db = tmp_path / "store.duckdb"
    ids = [
        register_version(
            Store(db), model="poisson", config={}, selection={"leagues": ["E0"]},
            training_hash="cc" * 32, seed=seed, idata_netcdf=payload.read_bytes(),
            diagnostics={},
        ).version_id
        for seed in range(3)
    ]  # fmt: skip
    printed: set[int] = set()
    for delay in kill_delays(4, salt=2):
        lines = run_and_kill(["promote", str(db), *ids], delay)
        printed |= {int(line.split()[1]) for line in lines if line.startswith("audit")}

        assert_sound(db)
        entries = audit_log(Store(db))
        assert printed <= {e.audit_id for e in entries}
        assert {t.version_id for t in list_aliases(Store(db))} <= set(ids)
    assert printed, "no promotion finished; the kill delays are too short"


def test_killed_store_creation_leaves_no_half_applied_migration(tmp_path):
    import duckdb

    from registry import migrations
    from registry.integrity import schema_problems

    folder = tmp_path / "stores"
    folder.mkdir()
    for delay in kill_delays(3, salt=3):
        run_and_kill(["migrate", str(folder)], delay)

    files = sorted(folder.glob("store-*.duckdb"))
    assert files
    complete = 0
    for path in files:
        con = duckdb.connect(str(path), read_only=True)
        try:
            assert schema_problems(con) == [], path.name
            complete += migrations.pending(con) == []
        finally:
            con.close()
        assert_sound(path)
    assert complete >= 1


def test_killed_imports_are_all_or_nothing(tmp_path):
    from registry.store import Store

    db = tmp_path / "store.duckdb"
    Store(db).migrate()
    printed: set[str] = set()
    for round_, delay in enumerate(kill_delays(3, salt=4)):
        lines = run_and_kill(["import", str(db), str(round_ * 100)], delay + 0.5)
        printed |= {line.split()[1] for line in lines if line.startswith("import")}

        assert_sound(db)
        with Store(db).read() as con:
            rows = con.execute("SELECT import_id FROM imports").fetchall()
            imports = {str(import_id) for (import_id,) in rows}
            per_import = con.execute(
                "SELECT i.import_id, (SELECT count(*) FROM matches m "
                "WHERE m.first_import_id = i.import_id), (SELECT count(*) FROM "
                "prices p WHERE p.import_id = i.import_id) FROM imports i"
            ).fetchall()
        assert printed <= imports
        for import_id, matches, prices in per_import:
            assert (matches, prices) == (
                MATCHES_PER_IMPORT, 3 * MATCHES_PER_IMPORT,
            ), import_id  # fmt: skip
    assert printed, "no import finished; the kill delays are too short"


if __name__ == "__main__":
    workers = {
        "register": register_loop,
        "promote": promote_loop,
        "migrate": migrate_loop,
        "import": import_loop,
    }
    workers[sys.argv[1]](*sys.argv[2:])
