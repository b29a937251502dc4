"""Stores for the app's tests: an empty one and one filled with a tiny batch."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from engine.contract import (
    FIXTURE_SCHEMA,
    MATCH_SCHEMA,
    PRICE_SCHEMA,
    REJECTED_SCHEMA,
    ImportBatch,
    ParsedFile,
    match_id,
)
from registry.matches import import_batch
from registry.store import Store

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _match(league: str, season: int, day: date, home: str, away: str, goals=(1, 0)):
    return {
        "match_id": match_id(league, day.isoformat(), home, away),
        "league": league,
        "season": season,
        "kickoff": day,
        "kickoff_time": None,
        "home_team": home,
        "away_team": away,
        "home_goals": goals[0],
        "away_goals": goals[1],
    }


def _fixture(league: str, season: int, day: date, home: str, away: str) -> dict:
    row = _match(league, season, day, home, away)
    return {key: row[key] for key in FIXTURE_SCHEMA}


def _rejected(source: str, line: int, reason: str) -> dict:
    return {
        "source": source,
        "line": line,
        "raw": f"row {line} of {source}",
        "reason": reason,
    }


def _file(source, league, season, matches=(), fixtures=(), rejected=()) -> ParsedFile:
    return ParsedFile(
        source=source,
        sha256=hashlib.sha256(source.encode()).hexdigest(),
        league=league,
        season=season,
        rows_read=len(matches) + len(fixtures) + len(rejected),
        matches=pl.DataFrame(list(matches), schema=MATCH_SCHEMA),
        fixtures=pl.DataFrame(list(fixtures), schema=FIXTURE_SCHEMA),
        prices=pl.DataFrame(schema=PRICE_SCHEMA),
        rejected=pl.DataFrame(list(rejected), schema=REJECTED_SCHEMA),
    )


def tiny_batch() -> ImportBatch:
    """Three league-seasons, one fixture and three rejected rows in two files.

    E0 2023: 3 matches among 4 teams; E0 2022: 1 match; SC0 2023: 2 matches
    among 3 teams. Rejected: 2 ``negative goals``, 1 ``missing team``.
    """
    e0_2023 = "mmz4281/2324/E0.csv"
    files = (
        _file(
            e0_2023,
            "E0",
            2023,
            matches=[
                _match("E0", 2023, date(2023, 8, 12), "Arsenal", "Chelsea", (2, 1)),
                _match("E0", 2023, date(2023, 8, 19), "Everton", "Fulham", (0, 0)),
                _match("E0", 2023, date(2024, 5, 19), "Chelsea", "Everton"),
            ],
            fixtures=[_fixture("E0", 2023, date(2099, 8, 1), "Fulham", "Arsenal")],
            rejected=[
                _rejected(e0_2023, 5, "negative goals"),
                _rejected(e0_2023, 9, "missing team"),
            ],
        ),
        _file(
            "mmz4281/2223/E0.csv",
            "E0",
            2022,
            matches=[_match("E0", 2022, date(2022, 8, 6), "Arsenal", "Fulham")],
        ),
        _file(
            "mmz4281/2324/SC0.csv",
            "SC0",
            2023,
            matches=[
                _match("SC0", 2023, date(2023, 8, 5), "Celtic", "Hearts", (4, 0)),
                _match("SC0", 2023, date(2023, 8, 6), "Hearts", "Rangers", (1, 2)),
            ],
            rejected=[_rejected("mmz4281/2324/SC0.csv", 3, "negative goals")],
        ),
    )
    return ImportBatch(
        files=files,
        matches=pl.concat([parsed.matches for parsed in files]),
        fixtures=pl.concat([parsed.fixtures for parsed in files]),
        prices=pl.concat([parsed.prices for parsed in files]),
        rejected=pl.concat([parsed.rejected for parsed in files]),
    )


def fill(path: Path) -> None:
    """Import :func:`tiny_batch` into the store at ``path``."""
    import_batch(Store(path, busy_timeout_s=10), tiny_batch())


@pytest.fixture
def fill_store() -> Callable[[Path], None]:
    """A function that imports :func:`tiny_batch` into the store at a path."""
    return fill


@pytest.fixture
def empty_store(tmp_path: Path) -> Path:
    """The path of a store that does not exist yet."""
    return tmp_path / "empty.duckdb"


@pytest.fixture
def filled_store(tmp_path: Path) -> Path:
    """The path of a store holding :func:`tiny_batch`."""
    path = tmp_path / "filled.duckdb"
    fill(path)
    return path


@pytest.fixture
def page():
    """A page of headless Chromium, the system's build, never a downloaded one."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found; install the chromium package to run this")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 1000})
        finally:
            browser.close()
