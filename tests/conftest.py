"""Fixtures shared by every test folder: the real data and a loopback mirror."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data" / "football-data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real football-data.co.uk files kept beside the repository."""
    if not (SHARED_DATA / "mmz4281").is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def serve_folder(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve ``folder`` on 127.0.0.1 in a background thread; return server and URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="session")
def loopback_mirror(shared_data: Path) -> Iterator[str]:
    """The real data served on loopback in the site's URL layout; yields its URL."""
    server, url = serve_folder(shared_data)
    yield url
    server.shutdown()
    server.server_close()
