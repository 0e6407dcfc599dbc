"""Imported inputs that are not samples: seed tasks and prompts to regenerate."""

from __future__ import annotations

import json
from typing import Any, Sequence

import duckdb


def add(con: duckdb.DuckDBPyConnection, project_id: int, kind: str, import_id: int | None,
        rows: Sequence[dict[str, Any]]) -> int:
    if rows:
        con.executemany(
            "INSERT INTO inputs (project_id, kind, import_id, data) VALUES (?, ?, ?, ?)",
            [(project_id, kind, import_id, json.dumps(r, ensure_ascii=False)) for r in rows],
        )
    return len(rows)


def list_inputs(con: duckdb.DuckDBPyConnection, project_id: int, kind: str,
                limit: int | None = None) -> list[tuple[int, dict[str, Any]]]:
    sql = "SELECT id, data FROM inputs WHERE project_id = ? AND kind = ? ORDER BY id"
    params: list[Any] = [project_id, kind]
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [(i, json.loads(d)) for i, d in con.execute(sql, params).fetchall()]


def count(con: duckdb.DuckDBPyConnection, project_id: int, kind: str) -> int:
    return con.execute("SELECT count(*) FROM inputs WHERE project_id = ? AND kind = ?",
                       [project_id, kind]).fetchone()[0]


def get_many(con: duckdb.DuckDBPyConnection, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    rows = con.execute("SELECT id, data FROM inputs WHERE id IN (SELECT unnest(?))", [list(ids)]).fetchall()
    return {i: json.loads(d) for i, d in rows}


def ids(con: duckdb.DuckDBPyConnection, project_id: int, kind: str) -> list[int]:
    return [r[0] for r in con.execute(
        "SELECT id FROM inputs WHERE project_id = ? AND kind = ? ORDER BY id", [project_id, kind]).fetchall()]
