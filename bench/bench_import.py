"""Time reading and importing the real football-data.co.uk files into a store.

Reads every CSV file under ``--data`` with ``engine.football_data.read_paths``
and ``combine``, writes the batch into a fresh store with
``registry.matches.import_batch``, then imports the same batch again, which
must change nothing. Prints the read, write and total times and what was
stored.

Usage::

    python bench/bench_import.py [--data FOLDER] [--db FILE] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "football-data"
ALIASES = REPO / "configs" / "team_aliases.toml"
QUICK_FILES = 12


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Return the command line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="folder of CSV files"
    )
    parser.add_argument(
        "--db", type=Path, default=None, help="a new store file (default: a temp file)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"import only the first {QUICK_FILES} files",
    )
    return parser.parse_args(argv)


def read(data: Path, quick: bool):
    """Read and combine the files; return the batch and the seconds taken."""
    from engine.football_data import combine, load_team_aliases, read_paths

    paths = sorted(p for p in data.rglob("*") if p.suffix.lower() == ".csv")
    if quick:
        paths = paths[:QUICK_FILES]
    aliases = load_team_aliases(ALIASES) if ALIASES.is_file() else None
    started = time.perf_counter()
    batch = combine(read_paths(paths, aliases=aliases))
    return batch, time.perf_counter() - started


def write(db: Path, batch):
    """Import the batch; return the report and the seconds taken."""
    from registry.matches import import_batch
    from registry.store import Store

    started = time.perf_counter()
    report = import_batch(Store(db), batch)
    return report, time.perf_counter() - started


def run(data: Path, db: Path, quick: bool) -> int:
    """Run the benchmark; return the exit status."""
    from registry.status import data_status
    from registry.store import Store

    batch, read_s = read(data, quick)
    first, write_s = write(db, batch)
    status = data_status(Store(db))
    print(f"files          {len(batch.files)}")
    print(f"read           {read_s:8.2f} s")
    print(f"write          {write_s:8.2f} s")
    print(f"total          {read_s + write_s:8.2f} s")
    print(f"matches        {status.matches}")
    print(f"leagues        {len({s.league for s in status.seasons})}")
    print(f"league-seasons {len(status.seasons)}")
    print(f"fixtures       {status.fixtures}")
    print(f"prices         {status.prices}")
    print(f"rejected rows  {status.rejected_rows}")
    print(f"store size     {db.stat().st_size / 1e6:8.1f} MB")
    again, again_s = write(db, batch)
    changed = {
        "matches_added": again.matches_added,
        "matches_updated": again.matches_updated,
        "fixtures_stored": again.fixtures_stored,
        "prices_stored": again.prices_stored,
    }
    same = (
        not any(changed.values()) and data_status(Store(db)).matches == status.matches
    )
    print(f"second import  {again_s:8.2f} s")
    print(f"second import changed nothing: {same} {changed}")
    return 0 if same and first.matches_added == status.matches else 1


def main(argv: list[str] | None = None) -> int:
    """Parse the options and run the benchmark."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.db is not None:
        return run(args.data, args.db, args.quick)
    with tempfile.TemporaryDirectory(prefix="touchline-bench-") as folder:
        return run(args.data, Path(folder) / "bench.duckdb", args.quick)


if __name__ == "__main__":
    raise SystemExit(main())
