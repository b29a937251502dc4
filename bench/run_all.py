"""Run every benchmark script under ``bench/`` in turn and print their figures.

Each ``bench_*.py`` is run in a fresh interpreter (so that first-compile times
are real), with its own output passed through. Extra arguments are given to
every script, e.g. ``python bench/run_all.py --quick``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path


def main() -> int:
    """Run the scripts; return non-zero when any failed."""
    here = Path(__file__).resolve().parent
    failed = []
    for script in sorted(here.glob("bench_*.py")):
        sys.stdout.write(f"\n=== {script.name} ===\n")
        sys.stdout.flush()
        started = time.perf_counter()
        done = subprocess.run([sys.executable, str(script), *sys.argv[1:]])
        took = time.perf_counter() - started
        sys.stdout.write(f"--- {script.name}: exit {done.returncode}, {took:.1f} s\n")
        if done.returncode:
            failed.append(script.name)
    if failed:
        sys.stdout.write(f"\nfailed: {', '.join(failed)}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
