"""Read-only queries the web pages need beyond the other store modules (counts for filters,
pagination and overviews). Every function takes an open connection and returns plain data."""

from __future__ import annotations

from typing import Any

import duckdb

from lumina.store.filters import SEARCH_SQL, contains
from lumina.taxonomy.tree import SEP  # joins node names into paths


def _filters(project_id: int, status: str | None, search: str | None,
             node: str | None) -> tuple[str, list[Any]]:
    """The WHERE clause shared by the Samples page's count and ``samples.list_samples``."""
    sql = "project_id = ?"
    params: list[Any] = [project_id]
    if status:
        sql += " AND status = ?"
        params.append(status)
    if node:
        sql += " AND (node_path = ? OR starts_with(node_path, ?))"
        params += [node, node + SEP]  # the node and its subtree
    if search:
        sql += " AND " + SEARCH_SQL.format(a="")
        params += [contains(search)] * 2
    return sql, params


def count_samples(con: duckdb.DuckDBPyConnection, project_id: int, status: str | None = None,
                  search: str | None = None, node: str | None = None) -> int:
    where, params = _filters(project_id, status, search, node)
    return con.execute(f"SELECT count(*) FROM samples WHERE {where}", params).fetchone()[0]


def status_counts(con: duckdb.DuckDBPyConnection, project_id: int) -> dict[str, int]:
    rows = con.execute(
        "SELECT status, count(*) FROM samples WHERE project_id = ? GROUP BY status ORDER BY status",
        [project_id],
    ).fetchall()
    return {s: n for s, n in rows}


def sample_node_paths(con: duckdb.DuckDBPyConnection, project_id: int) -> list[str]:
    """Node paths that samples carry (imported samples may use paths outside the taxonomy)."""
    rows = con.execute(
        "SELECT DISTINCT node_path FROM samples WHERE project_id = ? AND node_path IS NOT NULL"
        " ORDER BY node_path",
        [project_id],
    ).fetchall()
    return [r[0] for r in rows]


def flag_counts(con: duckdb.DuckDBPyConnection, project_id: int) -> dict[str, int]:
    rows = con.execute(
        "SELECT f.flag, count(DISTINCT f.sample_id) FROM flags f JOIN samples s ON s.id = f.sample_id"
        " WHERE s.project_id = ? GROUP BY f.flag ORDER BY 2 DESC, 1",
        [project_id],
    ).fetchall()
    return {f: n for f, n in rows}
