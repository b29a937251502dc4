"""``touchline app``: fill an empty store, then serve on loopback."""

from __future__ import annotations

import functools
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

TOUCHLINE = str(Path(sys.executable).parent / "touchline")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_args(tmp_path: Path, base_url: str) -> tuple[list[str], dict[str, str]]:
    config = tmp_path / "run.toml"
    config.write_text(
        '[data]\nleagues = ["E0"]\nseasons = [2023]\nretries = 0\ntimeout_s = 5\n',
        encoding="utf-8",
    )
    env = {**os.environ, "TOUCHLINE_DB": str(tmp_path / "store.duckdb")}
    env["TOUCHLINE_DATA_URL"] = base_url
    return [TOUCHLINE, "--config", str(config), "app"], env


def start_app(tmp_path: Path, base_url: str) -> tuple[subprocess.Popen, str]:
    args, env = app_args(tmp_path, base_url)
    port = free_port()
    process = subprocess.Popen(
        [*args, "--port", str(port)],
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


def stop(process: subprocess.Popen) -> str:
    """Stop the app; return what it wrote on stderr."""
    process.terminate()
    try:
        return process.communicate(timeout=20)[1]
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()[1]


class _CountingHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str]

    def do_GET(self):
        self.requests.append(self.path)
        super().do_GET()

    def log_message(self, format, *args):
        pass


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Path, str, list[str]]]:
    """A loopback site over a folder: yields the folder, its URL and the paths
    asked for."""
    folder = tmp_path / "site"
    (folder / "mmz4281" / "2324").mkdir(parents=True)
    asked: list[str] = []
    handler = type("Handler", (_CountingHandler,), {"requests": asked})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(folder))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}", asked
    server.shutdown()
    server.server_close()


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


HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Season files</title></head>"
    b"<body><p>Please enable JavaScript to view this page.</p></body></html>\n"
)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (HTML_PAGE, "HTML/XML page"),
        (b"Div,HomeTeam,AwayTeam\nE0,Leeds,Derby\n", "no result columns"),
    ],
)
def test_app_serves_with_a_notice_when_the_source_serves_no_season_file(
    tmp_path, site, body, expected
):
    folder, url, asked = site
    (folder / "mmz4281" / "2324" / "E0.csv").write_bytes(body)
    process, page_url = start_app(tmp_path, url)
    try:
        page = wait_for_page(process, page_url)
        assert "Touchline" in page
    finally:
        errors = stop(process)
    assert asked == ["/mmz4281/2324/E0.csv"]
    warnings = [line for line in errors.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1, errors
    assert f"The store could not be filled from {url}" in warnings[0]
    assert expected in warnings[0]
    assert "`touchline data import PATH`" in warnings[0]
    assert "`touchline data pull --base-url URL`" in warnings[0]
    assert "Traceback" not in errors
    assert status(tmp_path / "store.duckdb")["matches"] == 0


@pytest.mark.slow
def test_app_serves_with_a_notice_when_the_base_url_has_a_bad_host(tmp_path):
    process, page_url = start_app(tmp_path, "http://a..b")
    try:
        wait_for_page(process, page_url)
    finally:
        errors = stop(process)
    assert "WARNING" in errors and "could not be reached" in errors, errors
    assert "is not an address that can be fetched" in errors
    assert "touchline data pull --base-url URL" in errors


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--port", "0"], "--port must be a whole number from 1 to 65535, got 0"),
        (["--port", "65536"], "--port must be a whole number from 1 to 65535"),
        (["--port", "-5"], "--port must be a whole number from 1 to 65535, got -5"),
        (["--address", "http://127.0.0.1"], "--address must be an IP address"),
        (["--address", ""], "--address must be an IP address"),
        (["--address", "two words"], "--address must be an IP address"),
        (["--address", "192.0.2.1"], "--address 192.0.2.1 is not an address of"),
        (["--base-url", "ftp://example.org"], "--base-url (or $TOUCHLINE_DATA_URL)"),
    ],
)
def test_bad_address_port_or_base_url_is_a_usage_error_before_any_download(
    tmp_path, site, options, expected
):
    _, url, asked = site
    args, env = app_args(tmp_path, url)
    done = subprocess.run(
        [*args, *options], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"error: {expected}")
    assert done.stderr.count("\n") == 1
    assert asked == []
    assert not (tmp_path / "store.duckdb").exists()


def test_a_port_in_use_is_a_runtime_error_before_any_download(tmp_path, site):
    _, url, asked = site
    args, env = app_args(tmp_path, url)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [*args, "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1, done.stderr
    assert done.stderr == (
        f"error: port {port} on 127.0.0.1 is already in use; pass another --port "
        "or stop what is serving there\n"
    )
    assert asked == []
