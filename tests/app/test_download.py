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


class _Dropping(http.server.BaseHTTPRequestHandler):
    """Promises a longer body than it sends, then hangs up, ``drops`` times."""

    protocol_version = "HTTP/1.1"
    drops = 0
    calls = 0
    chunked = False

    def do_GET(self):
        cls = type(self)
        cls.calls += 1
        body = b"Div,Date,HomeTeam,AwayTeam,FTHG,FTAG\n"
        self.send_response(200)
        if cls.calls > cls.drops:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if cls.chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(body), body))
            self.wfile.write(b"400\r\nDiv,Da")  # a chunk cut short
        else:
            self.send_header("Content-Length", str(len(body) * 10))
            self.end_headers()
            self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, format, *args):
        pass


@pytest.fixture
def dropping():
    def start(drops: int, chunked: bool) -> str:
        handler = type("Handler", (_Dropping,), {"drops": drops, "chunked": chunked})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        servers.append((server, handler))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{server.server_address[1]}/mmz4281/2324/E0.csv"

    servers = []
    yield start, servers
    for server, _ in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("chunked", [False, True])
def test_a_connection_dropped_mid_download_is_retried(dropping, chunked):
    start, servers = dropping
    url = start(drops=2, chunked=chunked)
    waits = []
    body = fetch(url, retries=3, sleep=waits.append)
    assert body == b"Div,Date,HomeTeam,AwayTeam,FTHG,FTAG\n"
    assert servers[0][1].calls == 3
    assert waits == [0.5, 1.0]


@pytest.mark.parametrize("chunked", [False, True])
def test_a_connection_that_keeps_dropping_ends_in_the_clear_message(dropping, chunked):
    start, servers = dropping
    url = start(drops=99, chunked=chunked)
    with pytest.raises(DownloadError) as info:
        fetch(url, retries=2, sleep=lambda _: None)
    message = str(info.value)
    assert message.startswith(f"could not reach {url} after 3 attempts (")
    assert "touchline data import" in message and "\n" not in message
    assert servers[0][1].calls == 3


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("ftp://example.org/E0.csv", "is not an address that can be fetched"),
        ("example.org/E0.csv", "is not an address that can be fetched"),
        ("http://", "is not an address that can be fetched"),
        ("http://a..b/E0.csv", "is not an address that can be fetched"),
    ],
)
def test_an_address_that_cannot_be_fetched_is_a_download_error(url, expected):
    waits = []
    with pytest.raises(DownloadError, match=expected) as info:
        fetch(url, sleep=waits.append)
    assert "check --base-url" in str(info.value)
    assert waits == []
