"""Project members and their roles (lumina.access decides what a role may do)."""

from __future__ import annotations

import duckdb


def role(con: duckdb.DuckDBPyConnection, project_id: int, member: str) -> str | None:
    r = con.execute("SELECT role FROM project_members WHERE project_id = ? AND member = ?",
                    [project_id, member]).fetchone()
    return r[0] if r else None


def set_role(con: duckdb.DuckDBPyConnection, project_id: int, member: str, role: str, granted_by: str) -> None:
    con.execute(
        "INSERT INTO project_members (project_id, member, role, granted_by) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (project_id, member) DO UPDATE SET role = excluded.role, granted_by = excluded.granted_by, "
        "granted_at = now()",
        [project_id, member, role, granted_by],
    )


def remove(con: duckdb.DuckDBPyConnection, project_id: int, member: str) -> bool:
    return bool(con.execute("DELETE FROM project_members WHERE project_id = ? AND member = ? RETURNING 1",
                            [project_id, member]).fetchall())


def list_members(con: duckdb.DuckDBPyConnection, project_id: int) -> list[tuple[str, str, str | None]]:
    """(member, role, granted_by), owners first."""
    return [tuple(r) for r in con.execute(
        "SELECT member, role, granted_by FROM project_members WHERE project_id = ? "
        "ORDER BY CASE role WHEN 'owner' THEN 0 WHEN 'curator' THEN 1 ELSE 2 END, member",
        [project_id]).fetchall()]


def count_owners(con: duckdb.DuckDBPyConnection, project_id: int) -> int:
    return con.execute("SELECT count(*) FROM project_members WHERE project_id = ? AND role = 'owner'",
                       [project_id]).fetchone()[0]


def projects_of(con: duckdb.DuckDBPyConnection, member: str) -> dict[int, str]:
    return dict(con.execute("SELECT project_id, role FROM project_members WHERE member = ?", [member]).fetchall())


def delete_project(con: duckdb.DuckDBPyConnection, project_id: int) -> None:
    con.execute("DELETE FROM project_members WHERE project_id = ?", [project_id])
