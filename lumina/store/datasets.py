"""Dataset versions: one row per version, and its rows copied in full (immutable once written)."""

from __future__ import annotations

import json
from typing import Any, Sequence

import duckdb

from lumina.records import DatasetVersion, VersionRow
from lumina.store.db import registered

_COLS = "id, project_id, name, content_hash, created_at, train_ids, eval_ids, lineage"


def _version(con: duckdb.DuckDBPyConnection, r: tuple) -> DatasetVersion:
    d = dict(zip([c.strip() for c in _COLS.split(",")], r))
    for k in ("train_ids", "eval_ids", "lineage"):
        d[k] = json.loads(d[k]) if d[k] is not None else ([] if k != "lineage" else {})
    v = DatasetVersion(**d)
    v.counts = dict(con.execute("SELECT split, count(*) FROM dataset_version_rows WHERE version_id = ?"
                                " GROUP BY split", [v.id]).fetchall())
    return v


def create(con: duckdb.DuckDBPyConnection, project_id: int, name: str, content_hash: str,
           train_ids: Sequence[int], eval_ids: Sequence[int], lineage: dict[str, Any],
           rows: Sequence[VersionRow]) -> int:
    import pyarrow as pa

    (vid,) = con.execute(
        "INSERT INTO dataset_versions (project_id, name, content_hash, train_ids, eval_ids, lineage)"
        " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        [project_id, name, content_hash, json.dumps(list(train_ids)), json.dumps(list(eval_ids)),
         json.dumps(lineage, ensure_ascii=False, default=str)],
    ).fetchone()
    positions: dict[str, int] = {}
    pos = []
    for r in rows:
        pos.append(positions.get(r.split, 0))
        positions[r.split] = pos[-1] + 1
    table = pa.table({
        "version_id": pa.array([vid] * len(rows), type=pa.int64()),
        "split": [r.split for r in rows], "position": pa.array(pos, type=pa.int32()),
        "sample_id": pa.array([r.sample_id for r in rows], type=pa.int64()),
        "origin": [r.origin for r in rows],
        "node_path": pa.array([r.node_path for r in rows], type=pa.string()),
        "messages": [json.dumps(r.messages, ensure_ascii=False) for r in rows],
        "row_hash": [r.row_hash for r in rows],
    })
    with registered(con, "new_version_rows", table):
        con.execute("INSERT INTO dataset_version_rows SELECT version_id, split, position, sample_id, origin,"
                    " node_path, messages, row_hash FROM new_version_rows")
    return vid


def get(con: duckdb.DuckDBPyConnection, project_id: int, name: str) -> DatasetVersion | None:
    r = con.execute(f"SELECT {_COLS} FROM dataset_versions WHERE project_id = ? AND name = ?",
                    [project_id, name]).fetchone()
    return _version(con, r) if r else None


def list_all(con: duckdb.DuckDBPyConnection, project_id: int) -> list[DatasetVersion]:
    rows = con.execute(f"SELECT {_COLS} FROM dataset_versions WHERE project_id = ? ORDER BY id",
                       [project_id]).fetchall()
    return [_version(con, r) for r in rows]


def with_hash(con: duckdb.DuckDBPyConnection, project_id: int, content_hash: str) -> list[str]:
    return [r[0] for r in con.execute("SELECT name FROM dataset_versions WHERE project_id = ? AND content_hash = ?"
                                      " ORDER BY id", [project_id, content_hash]).fetchall()]


def rows(con: duckdb.DuckDBPyConnection, version_id: int, split: str | None = None) -> list[VersionRow]:
    sql = ("SELECT split, sample_id, origin, node_path, messages, row_hash FROM dataset_version_rows"
           " WHERE version_id = ?")
    params: list[Any] = [version_id]
    if split:
        sql += " AND split = ?"
        params.append(split)
    sql += " ORDER BY CASE split WHEN 'train' THEN 0 ELSE 1 END, position"
    return [VersionRow(s, sid, o, n, json.loads(m), h) for s, sid, o, n, m, h in con.execute(sql, params).fetchall()]


def approved(con: duckdb.DuckDBPyConnection, project_id: int) -> list[tuple]:
    """(id, node_path, messages, job_id, teacher, template, mode) of the approved samples, by id."""
    return con.execute(
        "SELECT id, node_path, messages, job_id, teacher, template, mode FROM samples"
        " WHERE project_id = ? AND status = 'approved' ORDER BY id", [project_id]).fetchall()


def review_summary(con: duckdb.DuckDBPyConnection, project_id: int, ids: Sequence[int]) -> dict[str, Any]:
    """Who decided on these samples, how many edits, and which policies were applied."""
    with registered(con, "version_ids", _ids_table(ids)):
        reviewers = [r[0] for r in con.execute(
            "SELECT DISTINCT reviewer FROM review_events WHERE project_id = ? AND sample_id IN"
            " (SELECT id FROM version_ids) ORDER BY 1", [project_id]).fetchall()]
        edits = con.execute("SELECT count(DISTINCT sample_id) FROM review_events WHERE project_id = ?"
                            " AND action = 'edit' AND sample_id IN (SELECT id FROM version_ids)",
                            [project_id]).fetchone()[0]
        policies = dict(con.execute(
            "SELECT json_extract_string(after, '$.policy'), count(*) FROM review_events WHERE project_id = ?"
            " AND json_extract_string(after, '$.policy') IS NOT NULL AND sample_id IN (SELECT id FROM version_ids)"
            " GROUP BY 1", [project_id]).fetchall())
    return {"reviewers": reviewers, "edited_samples": edits, "policies": policies}


def score_values(con: duckdb.DuckDBPyConnection, ids: Sequence[int]) -> dict[str, list[float]]:
    """'scorer.metric' -> values over these samples (for the dataset card's distributions)."""
    out: dict[str, list[float]] = {}
    with registered(con, "version_ids", _ids_table(ids)):
        for name, values in con.execute(
            "SELECT scorer || '.' || metric, list(value) FROM scores WHERE value IS NOT NULL"
            " AND sample_id IN (SELECT id FROM version_ids) GROUP BY 1 ORDER BY 1").fetchall():
            out[name] = values
    return out


def flag_counts(con: duckdb.DuckDBPyConnection, ids: Sequence[int]) -> dict[str, int]:
    with registered(con, "version_ids", _ids_table(ids)):
        return dict(con.execute("SELECT flag, count(*) FROM flags WHERE sample_id IN (SELECT id FROM version_ids)"
                                " GROUP BY flag ORDER BY 2 DESC").fetchall())


def _ids_table(ids: Sequence[int]):
    import pyarrow as pa

    return pa.table({"id": pa.array(list(ids), type=pa.int64())})


def delete(con: duckdb.DuckDBPyConnection, version_id: int) -> None:
    con.execute("DELETE FROM dataset_version_rows WHERE version_id = ?", [version_id])
    con.execute("DELETE FROM dataset_versions WHERE id = ?", [version_id])
