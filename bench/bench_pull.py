"""Time pulling every real season file over HTTP with ``touchline data pull``.

Serves ``--data`` (a folder in football-data.co.uk's URL layout) on 127.0.0.1,
then runs ``touchline data pull`` in fresh processes until every league-season
the folder holds is in a new store: one pull per group of seasons that share
the same leagues, since a pull fails whole when a file it asks for is missing.
Then it pulls everything again, which must change nothing, and prints the
times beside what ``touchline data status`` reports.

Usage::

    python bench/bench_pull.py [--data FOLDER] [--quick]
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "football-data"
QUICK_SEASONS = 2
TOUCHLINE = Path(sys.executable).with_name("touchline")


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Return the command line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="folder in the site's layout"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"pull only the last {QUICK_SEASONS} seasons",
    )
    return parser.parse_args(argv)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def season_groups(data: Path, quick: bool) -> list[tuple[list[str], list[int]]]:
    """Return (leagues, seasons) pairs covering every file under ``mmz4281``.

    A season folder ``0001`` holds the 2000/01 files; seasons with the same
    set of leagues form one group, so that each pull asks only for files that
    exist.
    """
    seasons: dict[int, list[str]] = {}
    for folder in sorted((data / "mmz4281").iterdir()):
        leagues = sorted(p.stem for p in folder.glob("*.csv"))
        if folder.is_dir() and len(folder.name) == 4 and leagues:
            seasons[2000 + int(folder.name[:2]) % 100] = leagues
    if quick:
        seasons = dict(sorted(seasons.items())[-QUICK_SEASONS:])
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for season, leagues in sorted(seasons.items()):
        groups[tuple(leagues)].append(season)
    return [(list(leagues), years) for leagues, years in groups.items()]


def touchline(db: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the CLI on ``db`` in a fresh process; fail loudly when it fails."""
    command = [str(TOUCHLINE), "--db", str(db), *args]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr.strip()}")
    return done


def pull_all(db: Path, url: str, groups: list) -> tuple[float, list[dict]]:
    """Pull every group; return the seconds taken and each pull's JSON report."""
    reports = []
    started = time.perf_counter()
    for leagues, seasons in groups:
        args = ["data", "pull", "--base-url", url, "--format", "json"]
        args += [f"--league={code}" for code in leagues]
        args += [f"--season={year}" for year in seasons]
        reports.append(json.loads(touchline(db, *args).stdout))
    return time.perf_counter() - started, reports


def run(data: Path, db: Path, quick: bool) -> int:
    """Run the benchmark; return the exit status."""
    if not TOUCHLINE.is_file():
        raise SystemExit(f"expected the touchline command at {TOUCHLINE}; make setup")
    groups = season_groups(data, quick)
    files = sum(len(leagues) * len(seasons) for leagues, seasons in groups)
    handler = functools.partial(_QuietHandler, directory=str(data))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        first_s, _ = pull_all(db, url, groups)
        status = json.loads(touchline(db, "data", "status", "--format", "json").stdout)
        again_s, again = pull_all(db, url, groups)
        after = json.loads(touchline(db, "data", "status", "--format", "json").stdout)
    finally:
        server.shutdown()
        server.server_close()

    changed = {
        key: sum(report[key] for report in again)
        for key in ("matches_added", "matches_updated", "fixtures_stored")
    }
    same = not any(changed.values()) and after["matches"] == status["matches"]
    leagues = {row["league"] for row in status["seasons"]}
    print(f"pulls          {len(groups)} (one per group of seasons)")
    print(f"files          {files}")
    print(f"first pull     {first_s:8.2f} s (fresh processes, HTTP on loopback)")
    print(f"matches        {status['matches']}")
    print(f"leagues        {len(leagues)}")
    print(f"league-seasons {len(status['seasons'])}")
    print(f"rejected rows  {status['rejected_rows']}")
    print(f"second pull    {again_s:8.2f} s")
    print(f"second pull changed nothing: {same} {changed}")
    return 0 if same else 1


def main(argv: list[str] | None = None) -> int:
    """Parse the options and run the benchmark."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory(prefix="touchline-bench-") as folder:
        return run(args.data, Path(folder) / "bench.duckdb", args.quick)


if __name__ == "__main__":
    raise SystemExit(main())
