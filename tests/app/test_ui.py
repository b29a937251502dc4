"""The app's page, data source and views over real temporary stores."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import panel as pn
import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from app.ui.data import ALL_LEAGUES, StoreData
from app.ui.main import allowed_origins, build_app, serve
from app.ui.views import (
    EmptyStoreNotice,
    RejectedRows,
    SeasonTable,
    StoreMessage,
    StoreOverview,
)

REPO = Path(__file__).resolve().parents[2]

SEASON_ROWS = [
    ("E0", 2022, 1, "2022-08-06", "2022-08-06", 2),
    ("E0", 2023, 3, "2023-08-12", "2024-05-19", 4),
    ("SC0", 2023, 2, "2023-08-05", "2023-08-06", 3),
]


def _find(app: pn.template.BaseTemplate, kind: type) -> list:
    return [found for part in app.main for found in part.select(kind)]


def _texts(app: pn.template.BaseTemplate) -> list[str]:
    panes = _find(app, pn.pane.Markdown)  # Alert is a Markdown pane
    return [str(pane.object) for pane in panes if pane.visible]


def _rows(frame) -> list[tuple]:
    return [tuple(row) for row in frame.itertuples(index=False)]


def test_empty_store_page_says_how_to_fill_it(empty_store: Path) -> None:
    app = build_app(empty_store, notice="the data source could not be reached: boom")

    text = "\n".join(_texts(app))
    assert app.title == "Touchline"
    assert "The store is empty" in text
    assert f"touchline --db {empty_store} data import PATH..." in text
    assert f"touchline --db {empty_store} data pull --base-url URL" in text
    assert "the data source could not be reached: boom" in text
    numbers = {
        number.label: number.value for number in _find(app, pn.indicators.Number)
    }
    assert numbers["matches"] == 0 and numbers["imports"] == 0


def test_filled_store_page_shows_counts_per_league_and_season(
    filled_store: Path,
) -> None:
    app = build_app(filled_store)

    text = "\n".join(_texts(app))
    assert "The store is empty" not in text
    numbers = {
        number.label: number.value for number in _find(app, pn.indicators.Number)
    }
    assert numbers == {
        "matches": 6,
        "fixtures": 1,
        "leagues": 2,
        "seasons": 2,
        "imports": 3,
        "rejected rows": 3,
    }
    seasons, reasons, examples = (t.value for t in _find(app, pn.widgets.Tabulator))
    assert _rows(seasons) == SEASON_ROWS
    assert _rows(reasons) == [("negative goals", 2), ("missing team", 1)]
    assert sorted(_rows(examples)) == [
        ("mmz4281/2324/E0.csv", 5, "row 5 of mmz4281/2324/E0.csv", "negative goals"),
        ("mmz4281/2324/E0.csv", 9, "row 9 of mmz4281/2324/E0.csv", "missing team"),
        ("mmz4281/2324/SC0.csv", 3, "row 3 of mmz4281/2324/SC0.csv", "negative goals"),
    ]


def test_season_table_filters_by_league_without_reading_again(
    filled_store: Path,
) -> None:
    source = StoreData(db_path=str(filled_store))
    view = SeasonTable(source=source)
    read_at = source.loaded_at

    assert view.param.league.objects == [ALL_LEAGUES, "E0", "SC0"]
    view.league = "SC0"
    assert _rows(view.table.value) == [SEASON_ROWS[2]]
    view.league = "E0"
    assert _rows(view.table.value) == SEASON_ROWS[:2]
    view.league = ALL_LEAGUES
    assert _rows(view.table.value) == SEASON_ROWS
    assert source.loaded_at == read_at


def test_refresh_shows_what_was_imported_since(empty_store: Path, fill_store) -> None:
    source = StoreData(db_path=str(empty_store))
    notice = EmptyStoreNotice(source=source)
    overview = StoreOverview(source=source)
    seasons = SeasonTable(source=source, league=ALL_LEAGUES)
    rejected = RejectedRows(source=source)
    assert notice.help.visible and not rejected.reasons.visible

    fill_store(empty_store)
    source.load()

    assert not notice.help.visible
    assert overview.totals()["matches"] == 6
    assert _rows(seasons.table.value) == SEASON_ROWS
    assert seasons.param.league.objects == [ALL_LEAGUES, "E0", "SC0"]
    assert rejected.reasons.visible
    assert _rows(rejected.reasons.value) == [
        ("negative goals", 2),
        ("missing team", 1),
    ]


def test_notice_from_the_caller_shows_on_a_filled_store(filled_store: Path) -> None:
    source = StoreData(db_path=str(filled_store))
    view = EmptyStoreNotice(source=source, notice="")
    assert not view.caller.visible and not view.help.visible

    view.notice = "the data source could not be reached: timeout"
    assert view.caller.visible
    assert view.caller.object == "the data source could not be reached: timeout"
    assert not view.help.visible


HOLD_WRITE_LOCK = textwrap.dedent(
    """
    import sys
    from registry.store import Store
    with Store(sys.argv[1]).write():
        print("locked", flush=True)
        sys.stdin.readline()
    """
)


def test_busy_store_on_refresh_becomes_a_message(filled_store: Path) -> None:
    source = StoreData(db_path=str(filled_store), busy_timeout_s=0.2)
    message = StoreMessage(source=source)
    overview = StoreOverview(source=source)
    assert not message.alert.visible

    writer = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, str(filled_store)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "locked"
        source.load()
        assert "The store is busy" in source.message
        assert str(filled_store) in source.message
        assert message.alert.visible
        assert "figures below are from the read at" in message.alert.object
        assert overview.totals()["matches"] == 6
    finally:
        writer.communicate("\n", timeout=30)

    source.load()
    assert source.message == ""
    assert not message.alert.visible


def test_busy_store_on_first_read_still_builds_the_page(filled_store: Path) -> None:
    writer = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, str(filled_store)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "locked"
        source = StoreData(db_path=str(filled_store), busy_timeout_s=0.2)
        notice = EmptyStoreNotice(source=source)
        message = StoreMessage(source=source)
    finally:
        writer.communicate("\n", timeout=30)

    assert source.status is None
    assert message.alert.visible and "The store is busy" in message.alert.object
    assert not notice.help.visible


def test_unreadable_store_becomes_a_message(tmp_path: Path) -> None:
    not_a_store = tmp_path / "notes.duckdb"
    not_a_store.write_text("these are not the bytes of a DuckDB file\n" * 100)

    source = StoreData(db_path=str(not_a_store))

    assert source.status is None
    assert source.message.startswith("The store could not be read:")
    assert not_a_store.read_text().startswith("these are not")


@pytest.mark.parametrize("port", [0, -1, 65536, 5006.0, True])
def test_serve_rejects_a_port_that_is_not_one(empty_store: Path, port) -> None:
    with pytest.raises(ValueError, match=r"port must be a whole number .* got"):
        serve(empty_store, port=port)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _websocket_status(url: str, origin: str) -> int | str:
    request = HTTPRequest(url, headers={"Origin": origin})
    try:
        connection = await websocket_connect(request, subprotocols=["bokeh"])
    except HTTPClientError as exc:
        return exc.code
    connection.close()
    return "open"


def test_serve_refuses_pages_from_other_origins(empty_store: Path) -> None:
    port = _free_port()
    server = serve(empty_store, port=port, threaded=True)
    try:
        page = None
        for _ in range(100):
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10)
                break
            except OSError:
                time.sleep(0.1)
        assert page is not None and page.status == 200
        assert "<title>Touchline</title>" in page.read().decode()

        socket_url = f"ws://127.0.0.1:{port}/ws"
        refused = (
            "http://evil.example",
            f"http://evil.example:{port}",
            f"http://localhost:{port + 1}",
            f"http://0.0.0.0:{port}",
        )
        for origin in refused:
            assert asyncio.run(_websocket_status(socket_url, origin)) == 403, origin
        for origin in (f"http://localhost:{port}", f"http://127.0.0.1:{port}"):
            assert asyncio.run(_websocket_status(socket_url, origin)) == "open"
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("address", "origins"),
    [
        ("127.0.0.1", ["localhost:5006", "127.0.0.1:5006"]),
        ("localhost", ["localhost:5006", "127.0.0.1:5006"]),
        ("127.0.0.2", ["localhost:5006", "127.0.0.1:5006", "127.0.0.2:5006"]),
        ("::1", ["localhost:5006", "127.0.0.1:5006", "[::1]:5006"]),
        ("0.0.0.0", ["0.0.0.0:5006"]),
        ("192.168.1.20", ["192.168.1.20:5006"]),
        ("touchline.example", ["touchline.example:5006"]),
    ],
)
def test_pages_may_come_from_both_loopback_names_or_the_address(address, origins):
    assert allowed_origins(address, 5006) == origins
