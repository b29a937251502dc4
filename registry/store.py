"""The store: one DuckDB file shared by many short-lived processes.

DuckDB lets one process at a time hold a file read-write, and while it does,
every other process is refused, readers included. So every command holds a
connection only for one short transaction: :meth:`Store.read` and
:meth:`Store.write` open, do one thing and close. Opening retries on a lock
held elsewhere with exponential backoff and jitter, up to ``busy_timeout_s``,
then raises :class:`StoreBusy` naming the file and the process that holds it.

Do not nest them in one process: DuckDB refuses a read-only connection to a
file the same process holds read-write (and the other way round); nesting
raises :class:`StoreError`.

Only a write creates the file. Reading a store that does not exist yet reads
an empty, fully migrated database that this process keeps in a temporary
folder, so a read-only command on a mistyped ``--db`` leaves nothing behind.
"""

from __future__ import annotations

import atexit
import logging
import os
import random
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from registry import migrations

logger = logging.getLogger(__name__)

_ENV_DB = "TOUCHLINE_DB"
_DEFAULT_DB = Path("data") / "touchline.duckdb"
_FIRST_DELAY_S = 0.005
_MAX_DELAY_S = 0.1
_JITTER = random.Random()  # backoff jitter only; never touches results
_HOLDER = re.compile(r"held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


class StoreError(RuntimeError):
    """The store cannot do what was asked; the message says what to do."""


class StoreBusy(StoreError):
    """Another process held the store's lock for longer than the busy timeout."""


def default_db_path() -> Path:
    """Return the store path: ``$TOUCHLINE_DB`` or ``./data/touchline.duckdb``.

    Returns
    -------
    pathlib.Path
        The path named by the environment variable when it is set and not
        empty, else ``data/touchline.duckdb`` under the working directory.
    """
    named = os.environ.get(_ENV_DB, "").strip()
    return Path(named).expanduser() if named else Path.cwd() / _DEFAULT_DB


class Store:
    """One DuckDB file holding everything Touchline persists.

    Parameters
    ----------
    path : str or pathlib.Path
        The database file; it and its folder are created on the first write.
    busy_timeout_s : float, default 30.0
        How long opening waits for a lock held by another process before it
        raises :class:`StoreBusy`.

    Attributes
    ----------
    path : pathlib.Path
        The database file.
    busy_timeout_s : float
        As given.
    """

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 30.0):
        if str(path) in ("", ":memory:"):
            raise StoreError(
                f"the store needs a file path, got {str(path)!r}; pass a path "
                "such as data/touchline.duckdb"
            )
        if not busy_timeout_s >= 0:
            raise StoreError(
                f"busy_timeout_s must be a number of seconds >= 0, got "
                f"{busy_timeout_s!r}; pass e.g. 30"
            )
        self.path = Path(path).expanduser()
        self.busy_timeout_s = float(busy_timeout_s)

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    def exists(self) -> bool:
        """Return whether the database file exists."""
        return self.path.is_file()

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open the store read-only for one short read.

        A store that does not exist yet reads as an empty, fully migrated
        store and is not created. One that lacks migrations is migrated first
        by a short write, so readers see every table.

        Yields
        ------
        duckdb.DuckDBPyConnection
            A read-only connection, closed when the block ends.

        Raises
        ------
        StoreBusy
            When a writer holds the file for longer than ``busy_timeout_s``.
        StoreError
            When the file is not a DuckDB database or cannot be opened.
        """
        if not self.exists():
            with _empty_store() as con:
                yield con
            return
        con = self._connect(read_only=True)
        try:
            if migrations.pending(con):
                con.close()
                self.migrate()
                con = self._connect(read_only=True)
            yield con
        finally:
            con.close()

    @contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open the store read-write for one transaction.

        Creates the folder and the file when missing and applies pending
        migrations, then begins a transaction. It commits when the block ends
        normally and rolls back on any exception, which is re-raised; the
        connection is always closed.

        Yields
        ------
        duckdb.DuckDBPyConnection
            A read-write connection inside an open transaction.

        Raises
        ------
        StoreBusy
            When another process holds the file for longer than
            ``busy_timeout_s``.
        StoreError
            When the file cannot be opened, migrated or committed.
        """
        con, _ = self._open_write()
        try:
            con.begin()
            try:
                yield con
            except BaseException:
                _rollback(con)
                raise
            self._commit(con)
        finally:
            con.close()

    def migrate(self) -> list[str]:
        """Create the store if needed and apply pending migrations.

        Returns
        -------
        list of str
            Names of the migrations applied by this call.
        """
        con, names = self._open_write()
        con.close()
        return names

    def applied_migrations(self) -> list[str]:
        """Return the names of the migrations applied to the store, in order."""
        with self.read() as con:
            return migrations.applied(con)

    def _open_write(self) -> tuple[duckdb.DuckDBPyConnection, list[str]]:
        self._make_folder()
        con = self._connect(read_only=False)
        try:
            names = migrations.apply_migrations(con)
        except migrations.MigrationError as exc:
            con.close()
            raise StoreError(f"{self.path}: {exc}") from exc
        except BaseException:
            con.close()
            raise
        return con, names

    def _make_folder(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the store's folder {self.path.parent} "
                f"({exc.strerror}); pass --db with a writable path"
            ) from exc

    def _connect(self, *, read_only: bool) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.busy_timeout_s
        delay = _FIRST_DELAY_S
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.ConnectionException as exc:
                raise self._nested(exc) from exc
            except duckdb.IOException as exc:
                if not _is_lock_error(exc):
                    raise self._open_error(exc) from exc
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._busy(exc, read_only=read_only) from exc
                logger.debug("%s is locked; retrying in up to %.3f s", self, delay)
                time.sleep(min(left, delay * _JITTER.uniform(0.5, 1.0)))
                delay = min(2 * delay, _MAX_DELAY_S)

    def _commit(self, con: duckdb.DuckDBPyConnection) -> None:
        try:
            con.commit()
        except duckdb.Error as exc:
            _rollback(con)
            raise StoreError(
                f"could not commit to {self.path} ({_first_line(exc)}); nothing "
                "was written; retry the command"
            ) from exc

    def _busy(self, exc: duckdb.Error, *, read_only: bool) -> StoreBusy:
        found = _HOLDER.search(str(exc))
        holder = (
            f"{Path(found['program']).name} PID {found['pid']}"
            if found
            else "another process"
        )
        kind = (
            "a writer (an import, fit, backtest or promote still running)"
            if read_only
            else "a reader or a writer (the app, or another touchline command)"
        )
        return StoreBusy(
            f"store {self.path} is locked by {holder}, {kind}, and stayed "
            f"locked for {self.busy_timeout_s:g} s; retry when it has finished "
            "or allow a longer busy timeout"
        )

    def _open_error(self, exc: duckdb.Error) -> StoreError:
        return StoreError(
            f"cannot open the store {self.path} ({_first_line(exc)}); pass --db "
            "with a Touchline DuckDB file or a new path"
        )

    def _nested(self, exc: duckdb.Error) -> StoreError:
        return StoreError(
            f"{self.path} is already open in this process with another mode "
            f"({_first_line(exc)}); close the open read or write block first"
        )


_EMPTY_LOCK = threading.Lock()
_EMPTY: dict[tuple[migrations.Migration, ...], Path] = {}


@contextmanager
def _empty_store() -> Iterator[duckdb.DuckDBPyConnection]:
    """Open, read-only, an empty store holding every migration of this process.

    The file is made once per set of migrations in a temporary folder that is
    removed when the process exits.
    """
    wanted = tuple(migrations.MIGRATIONS)
    with _EMPTY_LOCK:
        path = _EMPTY.get(wanted)
        if path is None or not path.is_file():
            path = _make_empty_store(len(_EMPTY))
            _EMPTY[wanted] = path
    con = duckdb.connect(str(path), read_only=True)
    try:
        yield con
    finally:
        con.close()


def _make_empty_store(number: int) -> Path:
    try:
        folder = Path(tempfile.mkdtemp(prefix="touchline-empty-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        path = folder / f"empty-{number}.duckdb"
        con = duckdb.connect(str(path))
    except (OSError, duckdb.Error) as exc:
        raise StoreError(
            f"cannot make an empty store to read in the temporary folder "
            f"({_first_line(exc)}); set TMPDIR to a writable folder"
        ) from exc
    try:
        migrations.apply_migrations(con)
    except migrations.MigrationError as exc:
        raise StoreError(f"an empty store: {exc}") from exc
    finally:
        con.close()
    return path


def _is_lock_error(exc: duckdb.Error) -> bool:
    return "could not set lock" in str(exc).lower()


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.rollback()
    except duckdb.Error:
        logger.debug("rollback found no open transaction", exc_info=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
