"""Read-only queries the web pages need beyond the other store modules (the choices a filter bar
offers, overviews). Every function takes an open connection and returns plain data; the WHERE
clause of sample lists and counts is ``lumina.store.filters.where``."""

from __future__ import annotations

import duckdb


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
