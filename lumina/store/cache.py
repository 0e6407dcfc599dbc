"""The teacher-call cache: completion by content hash of (model, messages, params, seed).

A completion a paid teacher returned is written before the caller sees it. When the database
stays busy past the lock timeout it goes to a spool file instead ($LUMINA_HOME/cache-spool/,
one complete JSONL file per write), read by lookups and merged into the table by the next write
that gets through: a paid answer is never lost to a busy database.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from pathlib import Path
from typing import Any, Iterable

import duckdb

from lumina.config import settings
from lumina.errors import LuminaError
from lumina.store.db import connect, retry_conflicts, transaction

log = logging.getLogger(__name__)

Entry = tuple[str, str, dict[str, Any]]  # (key, model, completion)


def get_many(con: duckdb.DuckDBPyConnection, keys: list[str]) -> dict[str, dict[str, Any]]:
    if not keys:
        return {}
    rows = con.execute(
        "SELECT key, completion FROM teacher_cache WHERE key IN (SELECT unnest(?))", [keys]
    ).fetchall()
    return {k: json.loads(v) for k, v in rows}


def put_many(con: duckdb.DuckDBPyConnection, entries: Iterable[Entry]) -> None:
    rows = [(k, model, json.dumps(c)) for k, model, c in entries]
    if rows:
        con.executemany(
            "INSERT OR IGNORE INTO teacher_cache (key, model, completion) VALUES (?, ?, ?)", rows
        )


def count(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("SELECT count(*) FROM teacher_cache").fetchone()[0]


# --- the spool --------------------------------------------------------------------------------

def spool_dir() -> Path:
    return settings().home / "cache-spool"


def _spool_files() -> list[Path]:
    d = spool_dir()
    return sorted(d.glob("*.jsonl")) if d.is_dir() else []


def _read(path: Path) -> list[Entry]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:  # merged by another process meanwhile
        return []
    return [(e["key"], e["model"], e["completion"]) for e in map(json.loads, filter(None, lines))]


def spooled(keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Completions of these keys that wait in the spool."""
    wanted = set(keys)
    files = _spool_files() if wanted else []
    return {k: c for f in files for k, _, c in _read(f) if k in wanted}


def spool(entries: list[Entry]) -> Path:
    """Keep entries in a new spool file, written whole and renamed into place, so a reader (or
    a merge in another process) never sees half of it."""
    d = spool_dir()
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{os.getpid()}-{uuid.uuid4().hex[:12]}.jsonl"
    tmp = path.with_suffix(".part")
    with open(tmp, "w", encoding="utf-8") as f:
        for k, model, c in entries:
            f.write(json.dumps({"key": k, "model": model, "completion": c}) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def save(entries: list[Entry]) -> bool:
    """Write entries (and whatever waits in the spool) to the cache; False when the database
    stayed busy and the entries were spooled instead."""
    files = _spool_files()
    if not entries and not files:
        return True

    @retry_conflicts
    def write() -> None:
        with connect() as con, transaction(con):
            put_many(con, entries)
            for f in files:
                put_many(con, _read(f))

    try:
        write()
    except LuminaError as exc:
        if entries:
            try:
                spool(entries)
            except OSError as err:  # the disk is gone too: the caller still gets its answers
                log.error("could not keep %d teacher answers: %s; %s", len(entries), exc, err)
                return False
            log.warning("kept %d teacher answers in %s: %s", len(entries), spool_dir(), exc)
        return False
    for f in files:  # only once their rows are committed (a second merge of them is ignored)
        f.unlink(missing_ok=True)
    return True
