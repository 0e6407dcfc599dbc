"""Samples, their scores and flags."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any, Sequence

import duckdb

from lumina.records import NewSample, Sample, Score

_COLS = (
    "id, project_id, mode, instruction, response, messages, status, node_path, task_type,"
    " difficulty, persona, context, reasoning, teacher, instruction_teacher, template, params,"
    " seed, raw, job_id, item_key, source, parent_id, created_at"
)
_JSON_COLS = {"messages", "params", "raw"}
_INSERT_COLS = [
    "project_id", "mode", "instruction", "response", "messages", "node_path", "task_type",
    "difficulty", "persona", "context", "reasoning", "teacher", "instruction_teacher", "template",
    "params", "seed", "raw", "job_id", "item_key", "source", "parent_id",
]


def _row(r: tuple) -> Sample:
    names = [c.strip() for c in _COLS.split(",")]
    d = dict(zip(names, r))
    for k in _JSON_COLS:
        d[k] = json.loads(d[k]) if d[k] is not None else None
    return Sample(**d)


def insert(con: duckdb.DuckDBPyConnection, project_id: int, sample: NewSample) -> int:
    d = asdict(sample)
    d["project_id"] = project_id
    values = [json.dumps(d[c]) if c in _JSON_COLS and d[c] is not None else d[c] for c in _INSERT_COLS]
    placeholders = ", ".join("?" for _ in _INSERT_COLS)
    (sid,) = con.execute(
        f"INSERT INTO samples ({', '.join(_INSERT_COLS)}) VALUES ({placeholders}) RETURNING id",
        values,
    ).fetchone()
    return sid


def write_scores(con: duckdb.DuckDBPyConnection, sample_id: int, scores: Sequence[Score]) -> None:
    if not scores:
        return
    con.executemany(
        "INSERT OR REPLACE INTO scores (sample_id, scorer, scorer_version, metric, value, details)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [
            (sample_id, s.scorer, s.scorer_version, s.metric, s.value,
             json.dumps(s.details) if s.details is not None else None)
            for s in scores
        ],
    )


def set_flags(con: duckdb.DuckDBPyConnection, sample_id: int, scorer: str, flags: dict[str, Any]) -> None:
    """Replace the flags one scorer set on a sample (a re-score can clear a flag)."""
    con.execute("DELETE FROM flags WHERE sample_id = ? AND scorer = ?", [sample_id, scorer])
    if flags:
        con.executemany(
            "INSERT OR REPLACE INTO flags (sample_id, flag, scorer, details) VALUES (?, ?, ?, ?)",
            [(sample_id, f, scorer, json.dumps(d)) for f, d in flags.items()],
        )


def count(con: duckdb.DuckDBPyConnection, project_id: int, status: str | None = None) -> int:
    sql = "SELECT count(*) FROM samples WHERE project_id = ?"
    params: list[Any] = [project_id]
    if status:
        sql += " AND status = ?"
        params.append(status)
    return con.execute(sql, params).fetchone()[0]


def list_samples(
    con: duckdb.DuckDBPyConnection, project_id: int, status: str | None = None,
    limit: int | None = None, offset: int = 0, with_scores: bool = True,
    search: str | None = None, node: str | None = None,
) -> list[Sample]:
    sql = f"SELECT {_COLS} FROM samples WHERE project_id = ?"
    params: list[Any] = [project_id]
    if status:
        sql += " AND status = ?"
        params.append(status)
    if node:
        sql += " AND (node_path = ? OR starts_with(node_path, ?))"
        params += [node, node + " > "]  # taxonomy.SEP: the node and its subtree
    if search:
        sql += " AND (instruction ILIKE ? OR response ILIKE ?)"
        params += [f"%{search}%", f"%{search}%"]
    sql += " ORDER BY id"
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [limit, offset]
    out = [_row(r) for r in con.execute(sql, params).fetchall()]
    if with_scores and out:
        _attach_scores(con, out)
    return out


def get(con: duckdb.DuckDBPyConnection, sample_id: int) -> Sample | None:
    r = con.execute(f"SELECT {_COLS} FROM samples WHERE id = ?", [sample_id]).fetchone()
    if not r:
        return None
    s = _row(r)
    _attach_scores(con, [s])
    return s


def _attach_scores(con: duckdb.DuckDBPyConnection, samples: list[Sample]) -> None:
    by_id = {s.id: s for s in samples}
    ids = list(by_id)
    for sid, scorer, metric, value in con.execute(
        "SELECT sample_id, scorer, metric, value FROM scores WHERE sample_id IN (SELECT unnest(?))",
        [ids],
    ).fetchall():
        by_id[sid].scores[f"{scorer}.{metric}"] = value
    for sid, flag in con.execute(
        "SELECT sample_id, flag FROM flags WHERE sample_id IN (SELECT unnest(?)) ORDER BY flag", [ids]
    ).fetchall():
        by_id[sid].flags.append(flag)


def counts_by_node(con: duckdb.DuckDBPyConnection, project_id: int) -> dict[str, dict[str, int]]:
    rows = con.execute(
        "SELECT node_path, count(*), count(*) FILTER (WHERE status = 'approved')"
        " FROM samples WHERE project_id = ? GROUP BY node_path",
        [project_id],
    ).fetchall()
    return {r[0]: {"generated": r[1], "approved": r[2]} for r in rows if r[0]}
