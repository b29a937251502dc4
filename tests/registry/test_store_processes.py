"""Many processes on one store file: lock retries, StoreBusy, readers and writers."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from registry.store import Store, StoreBusy

WORKER = Path(__file__).resolve().parent / "store_worker.py"


def start(role: str, db: Path, arg: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(WORKER), role, str(db), arg],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(proc: subprocess.Popen, word: str) -> None:
    line = proc.stdout.readline().strip()
    assert line == word, f"worker said {line!r}: {proc.stderr.read()}"


def finish(proc: subprocess.Popen) -> str:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return out


@pytest.fixture
def db(tmp_path) -> Path:
    path = tmp_path / "store.duckdb"
    Store(path).migrate()
    return path


def test_read_waits_for_a_short_writer_then_succeeds(db, caplog):
    holder = start("hold-write", db, "1.0")
    wait_for(holder, "held")
    assert holder.poll() is None  # the lock is held right now
    store = Store(db, busy_timeout_s=20)
    with caplog.at_level(logging.DEBUG, logger="registry.store"), store.read() as con:
        (count,) = con.execute("SELECT count(*) FROM matches").fetchone()
    assert count == 0
    assert any("is locked; retrying" in r.getMessage() for r in caplog.records)
    assert finish(holder).strip() == "released"


def test_read_gives_up_with_store_busy_when_a_writer_holds_on(db):
    holder = start("hold-write", db, "30")
    try:
        wait_for(holder, "held")
        with pytest.raises(StoreBusy) as info, Store(db, busy_timeout_s=0.4).read():
            pass
    finally:
        holder.kill()
        holder.communicate()
    message = str(info.value)
    assert str(db) in message
    assert f"PID {holder.pid}" in message
    assert "writer" in message and "0.4 s" in message
    assert "\n" not in message


def test_write_gives_up_with_store_busy_while_a_reader_holds_on(db):
    holder = start("hold-read", db, "30")
    try:
        wait_for(holder, "held")
        busy = pytest.raises(StoreBusy, match="reader or a writer")
        with busy, Store(db, busy_timeout_s=0.3).write():
            pass
    finally:
        holder.kill()
        holder.communicate()
    with Store(db).read() as con:  # nothing was written, the store still reads
        assert con.execute("SELECT count(*) FROM imports").fetchone() == (0,)


def test_a_reader_and_a_writer_process_share_the_store(db, tmp_path):
    stop = tmp_path / "stop"
    writes = 25
    reader = start("reader", db, str(stop))
    writer = start("writer", db, str(writes))
    try:
        assert finish(writer).strip() == "done"
    finally:
        stop.touch()
    summary = json.loads(finish(reader))
    assert summary["failures"] == []
    assert summary["ordered"]  # a reader never sees a count go back
    assert summary["reads"] > 1
    with Store(db).read() as con:
        assert con.execute("SELECT count(*) FROM matches").fetchone() == (writes,)
        assert con.execute("SELECT count(*) FROM imports").fetchone() == (writes,)
