"""Scores and flags, scores that need work, embeddings, map points and diversity figures.

``write_scores`` is the one scores writer and ``add_flags`` the one flags writer (a scorer's
run goes through ``replace_flags``, which first clears that scorer's earlier flags)."""

from __future__ import annotations

import json
from typing import Any, Sequence

import duckdb

from lumina.records import Score
from lumina.store.db import registered

TEXT_HASH = "sha256(coalesce(s.instruction, '') || chr(31) || coalesce(s.response, ''))"


def texts_needing(con: duckdb.DuckDBPyConnection, project_id: int, scorer: str, version: str,
                  limit: int | None = None) -> list[tuple[int, str, str, str | None, str]]:
    """(id, instruction, response, context, text hash) of samples without a current score from
    ``scorer`` at ``version``: never scored, scored by an older version, edited since, or whose
    last attempt failed (a failure is retried by the next run)."""
    sql = (f"SELECT s.id, s.instruction, s.response, s.context, {TEXT_HASH} AS h FROM samples s"
           " WHERE s.project_id = ? AND NOT EXISTS (SELECT 1 FROM scores c WHERE c.sample_id = s.id"
           f" AND c.scorer = ? AND c.scorer_version = ? AND c.input_hash = {TEXT_HASH} AND c.value IS NOT NULL)"
           " ORDER BY s.id")
    params: list[Any] = [project_id, scorer, version]
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return con.execute(sql, params).fetchall()


def count_needing(con: duckdb.DuckDBPyConnection, project_id: int, scorer: str, version: str) -> int:
    return con.execute(
        f"SELECT count(*) FROM samples s WHERE s.project_id = ? AND NOT EXISTS (SELECT 1 FROM scores c"
        f" WHERE c.sample_id = s.id AND c.scorer = ? AND c.scorer_version = ? AND c.input_hash = {TEXT_HASH}"
        " AND c.value IS NOT NULL)",
        [project_id, scorer, version]).fetchone()[0]


def write_scores(con: duckdb.DuckDBPyConnection, scored: Sequence[tuple[int, str | None, Sequence[Score]]]) -> None:
    """(sample id, input hash, scores): replaces that scorer's earlier metrics of the sample."""
    import pyarrow as pa

    rows = [(sid, h, s) for sid, h, scores in scored for s in scores]
    if not rows:
        return
    table = pa.table({
        "sample_id": pa.array([r[0] for r in rows], type=pa.int64()),
        "scorer": [r[2].scorer for r in rows], "scorer_version": [r[2].scorer_version for r in rows],
        "metric": [r[2].metric for r in rows],
        "value": pa.array([r[2].value for r in rows], type=pa.float64()),
        "details": pa.array([json.dumps(r[2].details, default=str) if r[2].details is not None else None for r in rows],
                            type=pa.string()),
        "input_hash": [r[1] for r in rows],
    })
    with registered(con, "new_scores", table):
        con.execute("DELETE FROM scores WHERE (sample_id, scorer) IN (SELECT DISTINCT sample_id, scorer FROM new_scores)")
        con.execute("INSERT INTO scores (sample_id, scorer, scorer_version, metric, value, details, input_hash)"
                    " SELECT sample_id, scorer, scorer_version, metric, value, details, input_hash FROM new_scores")


def drop_scores(con: duckdb.DuckDBPyConnection, sample_id: int, keep: Sequence[str] = ()) -> None:
    con.execute("DELETE FROM scores WHERE sample_id = ? AND scorer NOT IN (SELECT unnest(?))",
                [sample_id, list(keep)])


def replace_flags(con: duckdb.DuckDBPyConnection, project_id: int, scorer: str,
                  flagged: Sequence[tuple[int, str, Any]], only: Sequence[int] | None = None) -> None:
    """Set ``scorer``'s flags: all of the project's (or those of ``only``) are replaced."""
    if only is None:
        con.execute("DELETE FROM flags WHERE scorer = ? AND sample_id IN (SELECT id FROM samples WHERE project_id = ?)",
                    [scorer, project_id])
    elif only:
        con.execute("DELETE FROM flags WHERE scorer = ? AND sample_id IN (SELECT unnest(?))", [scorer, list(only)])
    add_flags(con, [(sid, flag, scorer, details) for sid, flag, details in flagged])


def add_flags(con: duckdb.DuckDBPyConnection, flagged: Sequence[tuple[int, str, str, Any]]) -> None:
    """(sample id, flag, scorer, details) rows, replacing the same flag on the same sample."""
    import pyarrow as pa

    if not flagged:
        return
    table = pa.table({"sample_id": pa.array([f[0] for f in flagged], type=pa.int64()),
                      "flag": [f[1] for f in flagged], "scorer": [f[2] for f in flagged],
                      "details": [json.dumps(f[3], default=str, ensure_ascii=False) for f in flagged]})
    with registered(con, "new_flags", table):
        con.execute("INSERT OR REPLACE INTO flags (sample_id, flag, scorer, details)"
                    " SELECT sample_id, flag, scorer, details FROM new_flags")


def all_texts(con: duckdb.DuckDBPyConnection, project_id: int) -> list[tuple[int, str, str, str | None]]:
    return con.execute("SELECT id, instruction, response, node_path FROM samples WHERE project_id = ? ORDER BY id",
                       [project_id]).fetchall()


def metric_values(con: duckdb.DuckDBPyConnection, project_id: int, metric: str) -> dict[int, float]:
    scorer, _, name = metric.partition(".")
    rows = con.execute("SELECT c.sample_id, c.value FROM scores c JOIN samples s ON s.id = c.sample_id"
                       " WHERE s.project_id = ? AND c.scorer = ? AND c.metric = ? AND c.value IS NOT NULL",
                       [project_id, scorer, name]).fetchall()
    return dict(rows)


def all_metric_values(con: duckdb.DuckDBPyConnection, project_id: int) -> dict[str, list[float]]:
    rows = con.execute("SELECT c.scorer || '.' || c.metric, list(c.value) FROM scores c JOIN samples s"
                       " ON s.id = c.sample_id WHERE s.project_id = ? AND c.value IS NOT NULL GROUP BY 1 ORDER BY 1",
                       [project_id]).fetchall()
    return dict(rows)


def text_hashes(con: duckdb.DuckDBPyConnection, project_id: int, ids: Sequence[int]) -> dict[int, str]:
    """Sample id -> the hash of its current text (what a score records it was computed from)."""
    if not ids:
        return {}
    return dict(con.execute(f"SELECT s.id, {TEXT_HASH} FROM samples s WHERE s.project_id = ?"
                            " AND s.id IN (SELECT unnest(?))", [project_id, list(ids)]).fetchall())


# --- embeddings -------------------------------------------------------------------------------

def texts_without_embedding(con: duckdb.DuckDBPyConnection, project_id: int, model: str) -> list[tuple[int, str, str]]:
    """(id, text, hash) of samples with no embedding from ``model`` for their current text."""
    return con.execute(
        f"SELECT s.id, s.instruction || chr(10) || s.response, {TEXT_HASH} FROM samples s"
        " LEFT JOIN embeddings e ON e.sample_id = s.id AND e.model = ?"
        f" WHERE s.project_id = ? AND (e.sample_id IS NULL OR e.text_hash <> {TEXT_HASH}) ORDER BY s.id",
        [model, project_id]).fetchall()


def put_embeddings(con: duckdb.DuckDBPyConnection, model: str, ids: Sequence[int], hashes: Sequence[str], vectors) -> None:
    import pyarrow as pa

    if not len(ids):
        return
    table = pa.table({"sample_id": pa.array(list(ids), type=pa.int64()), "model": [model] * len(ids),
                      "text_hash": list(hashes),
                      "vector": pa.array([v.tolist() for v in vectors], type=pa.list_(pa.float32()))})
    with registered(con, "new_emb", table):
        con.execute("INSERT OR REPLACE INTO embeddings SELECT sample_id, model, text_hash, vector FROM new_emb")


def embeddings(con: duckdb.DuckDBPyConnection, project_id: int, model: str, ids: Sequence[int] | None = None):
    """(ids, float32 matrix) of the project's stored embeddings (optionally of ``ids``)."""
    import numpy as np

    sql = ("SELECT e.sample_id, e.vector FROM embeddings e JOIN samples s ON s.id = e.sample_id"
           " WHERE s.project_id = ? AND e.model = ?")
    params: list[Any] = [project_id, model]
    if ids is not None:
        sql += " AND e.sample_id IN (SELECT unnest(?))"
        params.append(list(ids))
    # A cursor: the caller may have left a result open, and a relation needs a clean connection.
    tbl = con.cursor().sql(sql + " ORDER BY e.sample_id", params=params).to_arrow_table()
    out_ids = tbl.column("sample_id").to_pylist()
    if not out_ids:
        return [], np.zeros((0, 0), dtype=np.float32)
    flat = tbl.column("vector").combine_chunks()
    dim = len(flat[0])
    mat = np.asarray(flat.flatten().to_numpy(zero_copy_only=False), dtype=np.float32).reshape(len(out_ids), dim)
    return out_ids, mat


# --- map points -------------------------------------------------------------------------------

def put_points(con: duckdb.DuckDBPyConnection, project_id: int, ids: Sequence[int], xy, clusters=None,
               replace_all: bool = False) -> None:
    import pyarrow as pa

    if replace_all:
        con.execute("DELETE FROM map_points WHERE project_id = ?", [project_id])
    if not len(ids):
        return
    table = pa.table({"project_id": pa.array([project_id] * len(ids), type=pa.int64()),
                      "sample_id": pa.array(list(ids), type=pa.int64()),
                      "x": pa.array([float(p[0]) for p in xy], type=pa.float64()),
                      "y": pa.array([float(p[1]) for p in xy], type=pa.float64()),
                      "cluster": pa.array([None if clusters is None else int(c) for c in (clusters if clusters is not None
                                                                                          else [None] * len(ids))],
                                          type=pa.int32())})
    with registered(con, "new_points", table):
        con.execute("INSERT OR REPLACE INTO map_points SELECT project_id, sample_id, x, y, cluster FROM new_points")


def set_clusters(con: duckdb.DuckDBPyConnection, project_id: int, ids: Sequence[int], clusters: Sequence[int]) -> None:
    import pyarrow as pa

    table = pa.table({"sample_id": pa.array(list(ids), type=pa.int64()),
                      "cluster": pa.array([int(c) for c in clusters], type=pa.int32())})
    with registered(con, "new_clusters", table):
        con.execute("UPDATE map_points SET cluster = c.cluster FROM new_clusters c"
                    " WHERE map_points.project_id = ? AND map_points.sample_id = c.sample_id", [project_id])


MAP_SQL = (
    "WITH f AS (SELECT sample_id, string_agg(flag, ', ' ORDER BY flag) AS flags FROM flags"
    "           WHERE sample_id IN (SELECT sample_id FROM map_points WHERE project_id = $pid) GROUP BY 1),"
    "     c AS (SELECT sample_id, value FROM scores WHERE scorer = $scorer AND metric = $metric)"
    " SELECT p.sample_id AS id, p.x, p.y, p.cluster, coalesce(s.node_path, '(none)') AS node, s.status,"
    " coalesce(f.flags, '') AS flags, left(s.instruction, 160) AS instruction, c.value AS value"
    " FROM map_points p JOIN samples s ON s.id = p.sample_id LEFT JOIN f ON f.sample_id = p.sample_id"
    " LEFT JOIN c ON c.sample_id = p.sample_id WHERE p.project_id = $pid ORDER BY p.sample_id"
)


def map_rows(con: duckdb.DuckDBPyConnection, project_id: int, metric: str | None = None):
    """The map page's one query: every placed sample with what it can be coloured by (an Arrow
    table: id, x, y, cluster, node, status, flags, instruction preview, metric value). Flags and
    the score are joined pre-aggregated, not looked up per row (8x faster at 100k)."""
    scorer, _, name = (metric or "").partition(".")
    # A cursor: the caller may have left a result open, and a relation needs a clean connection.
    return con.cursor().sql(MAP_SQL, params={"pid": project_id, "scorer": scorer, "metric": name}).to_arrow_table()


def count_points(con: duckdb.DuckDBPyConnection, project_id: int) -> int:
    return con.execute("SELECT count(*) FROM map_points WHERE project_id = ?", [project_id]).fetchone()[0]


def add_metrics(con: duckdb.DuckDBPyConnection, project_id: int, version_id: int | None, metrics: dict) -> None:
    con.execute("INSERT INTO diversity_metrics (project_id, version_id, metrics) VALUES (?, ?, ?)",
                [project_id, version_id, json.dumps(metrics, default=str)])


def metrics_history(con: duckdb.DuckDBPyConnection, project_id: int) -> list[tuple[int | None, Any, dict]]:
    rows = con.execute("SELECT version_id, created_at, metrics FROM diversity_metrics WHERE project_id = ? ORDER BY id",
                       [project_id]).fetchall()
    return [(v, t, json.loads(m)) for v, t, m in rows]


def placed_ids(con: duckdb.DuckDBPyConnection, project_id: int) -> set[int]:
    """Samples that already have a point on the map."""
    return {r[0] for r in con.execute("SELECT sample_id FROM map_points WHERE project_id = ?", [project_id]).fetchall()}


def sample_count(con: duckdb.DuckDBPyConnection, project_id: int) -> int:
    return con.execute("SELECT count(*) FROM samples WHERE project_id = ?", [project_id]).fetchone()[0]


def node_paths(con: duckdb.DuckDBPyConnection, project_id: int) -> dict[int, str | None]:
    """Sample id -> taxonomy node path."""
    return dict(con.execute("SELECT id, node_path FROM samples WHERE project_id = ?", [project_id]).fetchall())
