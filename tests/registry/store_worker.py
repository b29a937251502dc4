"""A separate process that uses a store, for the locking and concurrency tests.

Run as ``python store_worker.py ROLE DB ARGS...``:

- ``hold-write DB SECONDS`` / ``hold-read DB SECONDS``: open the store, print
  ``held``, keep the connection for SECONDS, then print ``released``;
- ``writer DB COUNT``: import COUNT one-match batches, one transaction each,
  then print ``done``;
- ``reader DB STOP_FILE``: read the match count in a loop until STOP_FILE
  exists, then print a JSON summary of the reads.
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from registry.matches import import_batch
from registry.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parent))
from registry_batches import batch, match, parsed


def hold(db: str, seconds: float, *, write: bool) -> None:
    store = Store(db)
    opened = store.write() if write else store.read()
    with opened as con:
        con.execute("SELECT count(*) FROM matches").fetchone()
        print("held", flush=True)
        time.sleep(seconds)
    print("released", flush=True)


def writer(db: str, count: int) -> None:
    store = Store(db)
    start = date(2020, 8, 1)
    for i in range(count):
        row = match("E0", start + timedelta(days=i), f"Home {i}", f"Away {i}", 1, 0)
        import_batch(store, batch(parsed(f"w{i}.csv", matches=[row])))
    print("done", flush=True)


def reader(db: str, stop_file: str) -> None:
    store = Store(db)
    counts, failures = [], []
    while not Path(stop_file).exists() or not counts:
        try:
            with store.read() as con:
                counts.append(con.execute("SELECT count(*) FROM matches").fetchone()[0])
        except Exception as exc:  # every failure is reported, none is fatal
            failures.append(f"{type(exc).__name__}: {exc}")
    ordered = all(a <= b for a, b in itertools.pairwise(counts))
    summary = {"reads": len(counts), "failures": failures, "ordered": ordered}
    print(json.dumps({**summary, "distinct": len(set(counts))}), flush=True)


if __name__ == "__main__":
    role, db, arg = sys.argv[1], sys.argv[2], sys.argv[3]
    if role in ("hold-write", "hold-read"):
        hold(db, float(arg), write=role == "hold-write")
    elif role == "writer":
        writer(db, int(arg))
    elif role == "reader":
        reader(db, arg)
    else:
        raise SystemExit(f"unknown role {role!r}")
