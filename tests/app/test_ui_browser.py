"""Serve the app in its own process and read the page in headless Chromium."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
DATED = re.compile(r"\d{4}-\d{2}-\d{2}")
NOTICE = "the data source could not be reached: connection refused"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_served(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the app exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                if response.status == 200:
                    return
        except OSError:  # refused while starting, or a first page still building
            time.sleep(0.2)
    pytest.fail(f"the app did not answer on {url} within 30 s:\n{log.read_text()}")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Serve the app on a new store; yield its URL and the store's path."""
    db = tmp_path / "served.duckdb"
    port = _free_port()
    log = tmp_path / "server.log"
    command = [sys.executable, "-m", "app.ui", "--db", str(db), "--port", str(port)]
    with log.open("w") as sink:
        server = subprocess.Popen(
            [*command, "--notice", NOTICE], cwd=REPO, stdout=sink, stderr=sink
        )
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_until_served(url, server, log)
        yield url, db
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _season_rows(page) -> list[str]:
    rows = page.locator(".tabulator-row").filter(has_text=DATED)
    return [" ".join(text.split()) for text in rows.all_inner_texts()]


def test_page_fills_after_import_and_refresh(
    page, served, fill_store, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    url, db = served
    page.goto(url)

    expect(page.get_by_text("The store is empty")).to_be_visible(timeout=15_000)
    expect(page.get_by_text(NOTICE)).to_be_visible()
    expect(page.get_by_text("data pull --base-url URL")).to_be_visible()
    page.screenshot(path=tmp_path / "empty.png", full_page=True)

    fill_store(db)
    page.get_by_role("button", name="Refresh").click()

    expect(page.get_by_text("The store is empty")).to_be_hidden(timeout=10_000)
    expect(page.get_by_text("Matches per league and season")).to_be_visible()
    season_rows = page.locator(".tabulator-row").filter(has_text=DATED)
    expect(season_rows).to_have_count(3)
    assert "SC0 2023 2 2023-08-05 2023-08-06 3" in _season_rows(page)
    assert "E0 2023 3 2023-08-12 2024-05-19 4" in _season_rows(page)
    expect(page.get_by_text("missing team").first).to_be_visible()
    page.screenshot(path=tmp_path / "filled.png", full_page=True)

    page.locator("select").first.select_option("SC0")
    expect(season_rows).to_have_count(1)
    assert _season_rows(page) == ["SC0 2023 2 2023-08-05 2023-08-06 3"]
