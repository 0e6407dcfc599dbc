"""Projects and their taxonomy nodes."""

from __future__ import annotations

import json
from typing import Any, Iterable

import duckdb

from lumina.errors import InvalidInputError, NotFoundError
from lumina.records import Project
from lumina.store.db import registered, transaction

_COLS = "id, name, created_at, teacher, student, taxonomy, settings"


def _row(r: tuple) -> Project:
    return Project(
        id=r[0], name=r[1], created_at=r[2], teacher=r[3], student=r[4],
        taxonomy=json.loads(r[5]) if r[5] else {}, settings=json.loads(r[6]) if r[6] else {},
    )


def create(
    con: duckdb.DuckDBPyConnection, name: str, teacher: str, student: str,
    taxonomy: dict[str, Any] | None = None, settings: dict[str, Any] | None = None,
) -> Project:
    if con.execute("SELECT 1 FROM projects WHERE name = ?", [name]).fetchone():
        raise InvalidInputError(f"A project named '{name}' already exists.")
    r = con.execute(
        f"INSERT INTO projects (name, teacher, student, taxonomy, settings) VALUES (?, ?, ?, ?, ?)"
        f" RETURNING {_COLS}",
        [name, teacher, student, json.dumps(taxonomy or {}), json.dumps(settings or {})],
    ).fetchone()
    return _row(r)


def get(con: duckdb.DuckDBPyConnection, name: str) -> Project:
    r = con.execute(f"SELECT {_COLS} FROM projects WHERE name = ?", [name]).fetchone()
    if not r:
        names = [n for (n,) in con.execute("SELECT name FROM projects ORDER BY name").fetchall()]
        known = f" Known projects: {', '.join(names)}." if names else " There are no projects yet."
        raise NotFoundError(f"No project named '{name}'.{known}")
    return _row(r)


def get_by_id(con: duckdb.DuckDBPyConnection, project_id: int) -> Project:
    r = con.execute(f"SELECT {_COLS} FROM projects WHERE id = ?", [project_id]).fetchone()
    if not r:
        raise NotFoundError(f"No project with id {project_id}.")
    return _row(r)


def list_all(con: duckdb.DuckDBPyConnection) -> list[Project]:
    return [_row(r) for r in con.execute(f"SELECT {_COLS} FROM projects ORDER BY name").fetchall()]


def update(con: duckdb.DuckDBPyConnection, project_id: int, **fields: Any) -> None:
    """Replace whole fields. For settings prefer ``merge_settings``: a dict read earlier and
    written back whole undoes what others changed meanwhile."""
    allowed = {"teacher", "student", "taxonomy", "settings"}
    with transaction(con):
        for key, value in fields.items():
            if key not in allowed:
                raise ValueError(f"cannot update project field {key}")
            if key in ("taxonomy", "settings"):
                value = json.dumps(value)
            con.execute(f"UPDATE projects SET {key} = ? WHERE id = ?", [value, project_id])


def merge_settings(con: duckdb.DuckDBPyConnection, project_id: int, patch: dict[str, Any]) -> dict[str, Any]:
    """Merge ``patch`` into the stored settings (JSON merge patch, RFC 7396: objects merge key by
    key, a None value removes its key) in one statement, and return the result. Writers send only
    what they change: a read-modify-write of the whole dict would undo a concurrent writer's keys."""
    with transaction(con):
        r = con.execute("UPDATE projects SET settings = json_merge_patch(coalesce(settings, '{}'), ?)"
                        " WHERE id = ? RETURNING settings", [json.dumps(patch), project_id]).fetchone()
    if not r:
        raise NotFoundError(f"No project with id {project_id}.")
    return json.loads(r[0]) if r[0] else {}


def delete(con: duckdb.DuckDBPyConnection, project_id: int) -> None:
    """Remove a project and everything that belongs to it (used by `lumina demo` refresh)."""
    sample_ids = "SELECT id FROM samples WHERE project_id = ?"
    job_ids = "SELECT id FROM jobs WHERE project_id = ?"
    for sql in (
        f"DELETE FROM scores WHERE sample_id IN ({sample_ids})",
        f"DELETE FROM flags WHERE sample_id IN ({sample_ids})",
        f"DELETE FROM embeddings WHERE sample_id IN ({sample_ids})",
        "DELETE FROM map_points WHERE project_id = ?",
        "DELETE FROM diversity_metrics WHERE project_id = ?",
        f"DELETE FROM job_items WHERE job_id IN ({job_ids})",
        "DELETE FROM review_events WHERE project_id = ?",
        "DELETE FROM review_leases WHERE project_id = ?",
        "DELETE FROM samples WHERE project_id = ?",
        "DELETE FROM jobs WHERE project_id = ?",
        "DELETE FROM taxonomy_nodes WHERE project_id = ?",
        "DELETE FROM dataset_version_rows WHERE version_id IN"
        " (SELECT id FROM dataset_versions WHERE project_id = ?)",
        "DELETE FROM dataset_versions WHERE project_id = ?",
        "DELETE FROM training_runs WHERE project_id = ?",
        "DELETE FROM imports WHERE project_id = ?",
        "DELETE FROM inputs WHERE project_id = ?",
        "DELETE FROM prompt_overrides WHERE project_id = ?",
        "DELETE FROM projects WHERE id = ?",
    ):
        con.execute(sql, [project_id])


def replace_nodes(con: duckdb.DuckDBPyConnection, project_id: int, nodes: Iterable[dict]) -> None:
    import pyarrow as pa

    con.execute("DELETE FROM taxonomy_nodes WHERE project_id = ?", [project_id])
    rows = list(nodes)
    if not rows:
        return
    table = pa.table({
        "project_id": pa.array([project_id] * len(rows), type=pa.int64()),
        "path": [n["path"] for n in rows], "parent_path": pa.array([n.get("parent_path") for n in rows], pa.string()),
        "name": [n["name"] for n in rows], "description": pa.array([n.get("description") for n in rows], pa.string()),
        "weight": pa.array([float(n.get("weight", 1.0)) for n in rows], pa.float64()),
        "position": pa.array(range(len(rows)), pa.int32()),
    })
    with registered(con, "new_nodes", table):  # one statement: a large tree is rewritten in milliseconds
        con.execute("INSERT INTO taxonomy_nodes (project_id, path, parent_path, name, description, weight, position)"
                    " SELECT project_id, path, parent_path, name, description, weight, position FROM new_nodes")


def nodes(con: duckdb.DuckDBPyConnection, project_id: int) -> list[dict[str, Any]]:
    cur = con.execute(
        "SELECT path, parent_path, name, description, weight, position FROM taxonomy_nodes"
        " WHERE project_id = ? ORDER BY position",
        [project_id],
    )
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def record_import(con: duckdb.DuckDBPyConnection, project_id: int, kind: str, path: str, rows: int) -> int:
    (import_id,) = con.execute(
        "INSERT INTO imports (project_id, kind, path, rows) VALUES (?, ?, ?, ?) RETURNING id",
        [project_id, kind, path, rows],
    ).fetchone()
    return import_id


def summary(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """One row per project with sample counts by status, for the Projects page and CLI."""
    cur = con.execute(
        """
        SELECT p.name, p.teacher, p.student, p.created_at,
               count(s.id) AS samples,
               count(s.id) FILTER (WHERE s.status = 'approved') AS approved,
               count(s.id) FILTER (WHERE s.status = 'rejected') AS rejected,
               (SELECT count(*) FROM jobs j WHERE j.project_id = p.id AND j.status IN ('queued','running')) AS active_jobs
        FROM projects p LEFT JOIN samples s ON s.project_id = p.id
        GROUP BY ALL ORDER BY p.name
        """
    )
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]
