"""``touchline app``: fill an empty store, then serve on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

TOUCHLINE = str(Path(sys.executable).parent / "touchline")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app(tmp_path: Path, base_url: str) -> tuple[subprocess.Popen, str]:
    config = tmp_path / "run.toml"
    config.write_text(
        '[data]\nleagues = ["E0"]\nseasons = [2023]\nretries = 0\ntimeout_s = 5\n',
        encoding="utf-8",
    )
    port = free_port()
    env = {**os.environ, "TOUCHLINE_DB": str(tmp_path / "store.duckdb")}
    env["TOUCHLINE_DATA_URL"] = base_url
    process = subprocess.Popen(
        [TOUCHLINE, "--config", str(config), "app", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return process, f"http://127.0.0.1:{port}"


def wait_for_page(process: subprocess.Popen, url: str) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"the app exited with {process.returncode}: {process.stderr.read()}"
            )
        try:
            answer = requests.get(url, timeout=5)
            if answer.status_code == 200:
                return answer.text
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    pytest.fail(f"the app did not answer on {url}")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def status(db: Path) -> dict:
    done = subprocess.run(
        [TOUCHLINE, "--db", str(db), "data", "status", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)


@pytest.mark.slow
def test_app_pulls_into_an_empty_store_then_serves(tmp_path, loopback_mirror):
    process, url = start_app(tmp_path, loopback_mirror)
    try:
        page = wait_for_page(process, url)
        assert "Touchline" in page
    finally:
        stop(process)
    assert status(tmp_path / "store.duckdb")["matches"] == 380


@pytest.mark.slow
@pytest.mark.browser
def test_app_serves_and_explains_when_the_source_is_unreachable(tmp_path, page):
    from playwright.sync_api import expect

    process, url = start_app(tmp_path, "http://127.0.0.1:9")
    try:
        wait_for_page(process, url)
        page.goto(url)
        expect(page.get_by_text("could not be reached")).to_be_visible(timeout=15_000)
        expect(page.get_by_text("The store is empty")).to_be_visible()
        expect(page.get_by_text("data import PATH").first).to_be_visible()
    finally:
        stop(process)
    assert status(tmp_path / "store.duckdb")["matches"] == 0
