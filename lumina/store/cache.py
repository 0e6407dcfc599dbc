"""The teacher-call cache: completion by content hash of (model, messages, params, seed)."""

from __future__ import annotations

import json
from typing import Any, Iterable

import duckdb


def get_many(con: duckdb.DuckDBPyConnection, keys: list[str]) -> dict[str, dict[str, Any]]:
    if not keys:
        return {}
    rows = con.execute(
        "SELECT key, completion FROM teacher_cache WHERE key IN (SELECT unnest(?))", [keys]
    ).fetchall()
    return {k: json.loads(v) for k, v in rows}


def put_many(con: duckdb.DuckDBPyConnection, entries: Iterable[tuple[str, str, dict[str, Any]]]) -> None:
    rows = [(k, model, json.dumps(c)) for k, model, c in entries]
    if rows:
        con.executemany(
            "INSERT OR IGNORE INTO teacher_cache (key, model, completion) VALUES (?, ?, ?)", rows
        )


def count(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("SELECT count(*) FROM teacher_cache").fetchone()[0]
