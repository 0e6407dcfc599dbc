"""Short-lived DuckDB connections that survive other processes holding the file.

DuckDB lets one process at a time open a database file. The web server, job workers and the CLI
all need it, so nobody keeps a connection: ``with connect() as con:`` opens, works and closes.
An open that meets another process's lock is retried with jittered backoff for a bounded time;
past it the user gets a ``StoreBusyError`` in plain words, never DuckDB's raw lock message.
"""

from __future__ import annotations

import random
import re
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from lumina.config import settings
from lumina.errors import StoreBusyError, StoreCorruptError, first_line
from lumina.store.migrations import MIGRATIONS

_migrated: set[str] = set()
_migrate_lock = threading.Lock()

_LOCK_PATTERNS = ("could not set lock", "conflicting lock")


def _is_lock_error(exc: Exception) -> bool:
    msg = str(exc).lower()
    return any(p in msg for p in _LOCK_PATTERNS)


def _holder_pid(exc: Exception) -> str | None:
    m = re.search(r"PID (\d+)", str(exc))
    return m.group(1) if m else None


def open_connection(path: Path, timeout_s: float) -> duckdb.DuckDBPyConnection:
    """Open ``path``, retrying while another process holds its lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout_s
    delay = 0.01
    while True:
        try:
            return duckdb.connect(str(path))
        except duckdb.Error as exc:  # IOException for locks, others for bad files
            if not _is_lock_error(exc):
                raise StoreCorruptError(
                    f"Cannot open the database {path}: it is not a readable DuckDB file "
                    f"({_first_line(exc)}). Move it aside or point LUMINA_HOME elsewhere."
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


def _first_line(exc: Exception) -> str:
    return first_line(exc)


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
            with _migrate_lock:
                try:
                    migrate(con)
                except duckdb.Error as exc:
                    raise StoreCorruptError(
                        f"The database {db_path} cannot be brought up to date ({_first_line(exc)})."
                    ) from None
                _migrated.add(key)
        yield con
    finally:
        con.close()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All-or-nothing: a worker's batch either lands whole or not at all."""
    con.begin()
    try:
        yield con
    except BaseException:
        con.rollback()
        raise
    else:
        con.commit()


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, table) -> Iterator[None]:
    """Make an Arrow table readable by name in SQL for one statement's duration (bulk writes:
    DuckDB inserts a table at once in the time it takes to insert a few rows one by one)."""
    con.register(name, table)
    try:
        yield
    finally:
        con.unregister(name)
