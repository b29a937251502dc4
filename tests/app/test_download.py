import http.server
import threading

import pytest
import requests

from app.download import DownloadError, fetch, season_code, season_url


def test_season_code_and_url():
    assert season_code(2023) == "2324"
    assert season_code(1999) == "9900"
    assert season_code(2009) == "0910"
    assert season_url("http://h/", "E0", 2000) == "http://h/mmz4281/0001/E0.csv"


def test_fetch_returns_the_served_bytes(loopback_mirror, shared_data):
    body = fetch(season_url(loopback_mirror, "E0", 2023), retries=0)
    assert body == (shared_data / "mmz4281" / "2324" / "E0.csv").read_bytes()


def test_missing_file_fails_at_once(loopback_mirror):
    waits = []
    with pytest.raises(DownloadError, match="does not exist"):
        fetch(season_url(loopback_mirror, "XX", 2023), sleep=waits.append)
    assert waits == []


def test_unreachable_source_retries_then_says_what_to_do():
    waits = []
    with pytest.raises(DownloadError) as info:
        fetch("http://127.0.0.1:9/x.csv", retries=2, timeout_s=1, sleep=waits.append)
    assert waits == [0.5, 1.0]
    assert "could not reach" in str(info.value)
    assert "touchline data import" in str(info.value)


class _Flaky(http.server.BaseHTTPRequestHandler):
    calls = 0

    def do_GET(self):
        type(self).calls += 1
        if type(self).calls < 3:
            self.send_response(503)
            self.end_headers()
            return
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"Div,Date\n")

    def log_message(self, format, *args):
        pass


def test_transient_errors_are_retried():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/f.csv"
        with requests.Session() as session:
            body = fetch(url, retries=3, sleep=lambda _: None, session=session)
        assert body == b"Div,Date\n"
        assert _Flaky.calls == 3
    finally:
        server.shutdown()
        server.server_close()
