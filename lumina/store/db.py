"""Short-lived DuckDB connections that survive other processes holding the file.

DuckDB lets one process at a time open a database file. The web server, job workers and the CLI
all need it, so nobody keeps a connection: ``with connect() as con:`` opens, works and closes.
An open that meets another process's lock is retried with jittered backoff for a bounded time;
past it the user gets a ``StoreBusyError`` in plain words, never DuckDB's raw lock message.

Within one process (the web server's sessions are threads) connections share one database, and
two transactions writing the same rows make the later one fail ("Conflict on update!"). So
``transaction()`` lets one writer of the process in at a time, ``retry_conflicts`` re-runs a
whole unit of work that still met a conflict (an autocommit write racing a transaction), and
``connect()`` turns whatever DuckDB raises about conflicts, a full disk or a read-only folder
into one-line ``LuminaError``s.
"""

from __future__ import annotations

import functools
import random
import re
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from lumina.config import settings
from lumina.errors import LuminaError, StoreBusyError, StoreCorruptError, first_line
from lumina.store.migrations import MIGRATIONS

_migrated: set[str] = set()
# One writer per process at a time: DuckDB's optimistic concurrency makes the loser of two
# overlapping write transactions fail, so waiting here is what "retrying" costs least.
_write_lock = threading.RLock()
_open = threading.local()  # the connection whose transaction() this thread is inside

_LOCK_PATTERNS = ("could not set lock", "conflicting lock")
_FULL_PATTERNS = ("no space left", "disk full", "not enough space")
_READ_ONLY_PATTERNS = ("read-only file system", "permission denied")


class StoreConflictError(StoreBusyError):
    """Another write of this process changed the same rows at the same moment."""


def _is_lock_error(exc: Exception) -> bool:
    msg = str(exc).lower()
    return any(p in msg for p in _LOCK_PATTERNS)


def _is_conflict(exc: BaseException) -> bool:
    if isinstance(exc, StoreConflictError):
        return True
    if not isinstance(exc, duckdb.TransactionException):
        return False
    msg = str(exc).lower()
    # A unique key two transactions both inserted surfaces at commit, as a constraint error.
    return "conflict" in msg or ("failed to commit" in msg and "constraint" in msg)


def _plain(exc: BaseException, path: Path) -> LuminaError | None:
    """The one-line error for a DuckDB (or OS) failure the user can act on; None for a bug."""
    msg = str(exc).lower()
    ours = str(path.parent).lower() in msg or isinstance(exc, OSError)  # not, say, an export target
    if _is_conflict(exc):
        return StoreConflictError("Someone changed the same data at the same moment; try again.")
    if any(p in msg for p in _FULL_PATTERNS):
        where = f"the data folder {path.parent}" if ours else f"a file Lumina writes ({first_line(exc)})"
        return LuminaError(f"The disk holding {where} is full: nothing was written. "
                           "Free some space (or point LUMINA_HOME elsewhere) and try again.")
    if (ours and any(p in msg for p in _READ_ONLY_PATTERNS)) or "read-only mode" in msg:
        return LuminaError(f"Lumina cannot write to its data folder {path.parent} (read-only or no permission). "
                           "Make it writable, or point LUMINA_HOME at a folder you can write to.")
    if "invalidated" in msg:  # after a failed write DuckDB refuses work until the file is reopened
        return LuminaError(f"The database {path} stopped after a failed write (is the disk full?); try again.")
    return None


def _holder_pid(exc: Exception) -> str | None:
    m = re.search(r"PID (\d+)", str(exc))
    return m.group(1) if m else None


def open_connection(path: Path, timeout_s: float) -> duckdb.DuckDBPyConnection:
    """Open ``path``, retrying while another process holds its lock."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _plain(exc, path) or LuminaError(f"Cannot create the data folder {path.parent} ({first_line(exc)}).") from None
    deadline = time.monotonic() + timeout_s
    delay = 0.01
    while True:
        try:
            return duckdb.connect(str(path))
        except duckdb.Error as exc:  # IOException for locks, others for bad files
            if not _is_lock_error(exc):
                raise _plain(exc, path) or StoreCorruptError(
                    f"Cannot open the database {path}: it is not a readable DuckDB file "
                    f"({first_line(exc)}). Move it aside or point LUMINA_HOME elsewhere."
                ) from None
            if time.monotonic() >= deadline:
                who = _holder_pid(exc)
                holder = f" (held by process {who})" if who else ""
                raise StoreBusyError(
                    f"The database {path} stayed busy for {timeout_s:.0f} s{holder}. "
                    "Another Lumina process is writing; try again, or raise LUMINA_DB_LOCK_TIMEOUT."
                ) from None
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.25)


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply every migration not yet recorded; return how many ran."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS _migrations ("
        " id INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
        " applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)"
    )
    done = {row[0] for row in con.execute("SELECT id FROM _migrations").fetchall()}
    ran = 0
    for number, name, fn in MIGRATIONS:
        if number in done:
            continue
        con.begin()
        try:
            fn(con)
            con.execute("INSERT INTO _migrations (id, name) VALUES (?, ?)", [number, name])
            con.commit()
        except Exception:
            con.rollback()
            raise
        ran += 1
    return ran


@contextmanager
def connect(path: Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection for one unit of work. Close it quickly: other processes are waiting."""
    cfg = settings()
    db_path = Path(path) if path else cfg.db_path
    con = open_connection(db_path, cfg.db_lock_timeout_s)
    try:
        key = str(db_path.resolve())
        if key not in _migrated:
            with _write_lock:
                try:
                    migrate(con)
                except duckdb.Error as exc:
                    raise _plain(exc, db_path) or StoreCorruptError(
                        f"The database {db_path} cannot be brought up to date ({first_line(exc)})."
                    ) from None
                _migrated.add(key)
        yield con
    except duckdb.Error as exc:
        plain = _plain(exc, db_path)
        if plain is None:
            raise
        raise plain from None
    finally:
        con.close()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All-or-nothing: a worker's batch either lands whole or not at all. Keep it to writes:
    every other writer of this process (and every other process) waits while it is open.
    Inside another ``transaction()`` of the same connection it joins that one, so store
    functions can make their own writes atomic whether or not their caller already did."""
    if getattr(_open, "con", None) is con:
        yield con
        return
    timeout = settings().db_lock_timeout_s
    if not _write_lock.acquire(timeout=timeout):
        raise StoreBusyError(f"Another write of this server kept the database for {timeout:.0f} s; try again.")
    outer, _open.con = getattr(_open, "con", None), con
    try:
        con.begin()
        try:
            yield con
        except BaseException:
            try:
                con.rollback()
            except duckdb.Error:  # already ended by the failure: the original error is the news
                pass
            raise
        else:
            con.commit()
    finally:
        _open.con = outer
        _write_lock.release()


def retry_conflicts(fn=None, *, attempts: int = 6):
    """Re-run a whole unit of work (it opens its own connection) that met a write conflict; the
    rerun decides against the new state. Past ``attempts`` the user reads one plain line."""
    if fn is None:
        return functools.partial(retry_conflicts, attempts=attempts)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        delay = 0.02
        for attempt in range(attempts):
            try:
                return fn(*args, **kwargs)
            except (duckdb.TransactionException, StoreConflictError) as exc:
                if not _is_conflict(exc):
                    raise
                if attempt == attempts - 1:
                    raise StoreConflictError("Someone changed the same data at the same moment "
                                             f"{attempts} times in a row; try again.") from None
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.5)
    return wrapper


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, table) -> Iterator[None]:
    """Make an Arrow table readable by name in SQL for one statement's duration (bulk writes:
    DuckDB inserts a table at once in the time it takes to insert a few rows one by one)."""
    con.register(name, table)
    try:
        yield
    finally:
        con.unregister(name)
