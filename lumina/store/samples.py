"""Samples, their scores and flags."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any, Sequence

import duckdb


from lumina.records import NewSample, Sample, SampleFilter, Score
from lumina.store.db import registered
from lumina.store.filters import where
from lumina.taxonomy.tree import SEP  # joins node names into paths

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


_ARROW_TYPES = {"seed": "int64", "job_id": "int64", "parent_id": "int64", "project_id": "int64"}


def insert_many(con: duckdb.DuckDBPyConnection, project_id: int, samples: Sequence[NewSample]) -> list[int]:
    """Insert many samples in one statement (DuckDB is slow row by row: ~40 ms a row here);
    returns their ids in order."""
    import pyarrow as pa

    if not samples:
        return []
    ids = [r[0] for r in con.execute("SELECT nextval('sample_ids') FROM range(?)", [len(samples)]).fetchall()]
    rows = [asdict(x) for x in samples]
    columns: dict[str, pa.Array] = {"id": pa.array(ids, type=pa.int64())}
    for c in _INSERT_COLS:
        if c == "project_id":
            values = [project_id] * len(rows)
        elif c in _JSON_COLS:
            values = [json.dumps(r[c], ensure_ascii=False) if r[c] is not None else None for r in rows]
        else:
            values = [r[c] for r in rows]
        columns[c] = pa.array(values, type=getattr(pa, _ARROW_TYPES.get(c, "string"))())
    names = ", ".join(["id", *_INSERT_COLS])
    with registered(con, "new_samples", pa.table(columns)):
        con.execute(f"INSERT INTO samples ({names}) SELECT {names} FROM new_samples")
    return ids


def write_scores_many(con: duckdb.DuckDBPyConnection, scored: Sequence[tuple[int, Sequence[Score]]]) -> None:
    """Scores of many samples that record no text hash (``quality.write_scores`` with none)."""
    from lumina.store import quality

    quality.write_scores(con, [(sid, None, scores) for sid, scores in scored])


def add_flags_many(con: duckdb.DuckDBPyConnection, flagged: Sequence[tuple[int, str, str, Any]]) -> None:
    """(sample id, flag, scorer, details) rows (``quality.add_flags``)."""
    from lumina.store import quality

    quality.add_flags(con, flagged)


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
    search: str | None = None, node: str | None = None, newest_first: bool = False,
) -> list[Sample]:
    cond, params = where(project_id, SampleFilter(status=status, node=node, search=search))
    sql = f"SELECT {_COLS} FROM samples WHERE {cond}"
    sql += " ORDER BY id DESC" if newest_first else " ORDER BY id"
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


def rename_node_paths(con: duckdb.DuckDBPyConnection, project_id: int, old: str, new: str) -> int:
    """Relabel samples of node ``old`` and its subtree as ``new`` (a renamed or moved node)."""
    (n,) = con.execute(
        "SELECT count(*) FROM samples WHERE project_id = ? AND (node_path = ? OR starts_with(node_path, ?))",
        [project_id, old, old + SEP],
    ).fetchone()
    con.execute(
        "UPDATE samples SET node_path = ? || substr(node_path, ?)"
        " WHERE project_id = ? AND (node_path = ? OR starts_with(node_path, ?))",
        [new, len(old) + 1, project_id, old, old + SEP],
    )
    return n


def get_many(con: duckdb.DuckDBPyConnection, ids: Sequence[int]) -> dict[int, Sample]:
    if not ids:
        return {}
    rows = con.execute(f"SELECT {_COLS} FROM samples WHERE id IN (SELECT unnest(?))", [list(ids)]).fetchall()
    return {s.id: s for s in map(_row, rows)}


def select_ids(con: duckdb.DuckDBPyConnection, project_id: int, status: str | None = None,
               ids: Sequence[int] | None = None, limit: int | None = None) -> list[int]:
    """Ids of the project's samples, optionally of one status and/or among ``ids``."""
    sql = "SELECT id FROM samples WHERE project_id = ?"
    params: list[Any] = [project_id]
    if status:
        sql += " AND status = ?"
        params.append(status)
    if ids is not None:
        sql += " AND id IN (SELECT unnest(?))"
        params.append(list(ids))
    sql += " ORDER BY id"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [r[0] for r in con.execute(sql, params).fetchall()]


def list_filtered(con: duckdb.DuckDBPyConnection, project_id: int, filt, limit: int | None = None,
                  offset: int = 0) -> list[Sample]:
    """Samples matching a ``SampleFilter`` (score ranges and flags included), by id."""
    from lumina.store.filters import where

    cond, params = where(project_id, filt)
    sql = f"SELECT {_COLS} FROM samples WHERE {cond} ORDER BY id"
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [limit, offset]
    out = [_row(r) for r in con.execute(sql, params).fetchall()]
    if out:
        _attach_scores(con, out)
    return out


def count_filtered(con: duckdb.DuckDBPyConnection, project_id: int, filt) -> int:
    from lumina.store.filters import where

    cond, params = where(project_id, filt)
    return con.execute(f"SELECT count(*) FROM samples WHERE {cond}", params).fetchone()[0]


def metric_names(con: duckdb.DuckDBPyConnection, project_id: int) -> list[str]:
    """'scorer.metric' names that have values in this project (for score filters)."""
    rows = con.execute(
        "SELECT DISTINCT scorer || '.' || metric FROM scores WHERE value IS NOT NULL AND sample_id IN"
        " (SELECT id FROM samples WHERE project_id = ?) ORDER BY 1", [project_id]).fetchall()
    return [r[0] for r in rows]
