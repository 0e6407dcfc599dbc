"""Per-project overrides of prompt templates (append-only versions)."""

from __future__ import annotations

from datetime import datetime

import duckdb


def latest(con: duckdb.DuckDBPyConnection, project_id: int, template: str) -> tuple[int, str | None] | None:
    """(version, source) of the newest override; source None means 'use the built-in'."""
    r = con.execute(
        "SELECT version, source FROM prompt_overrides WHERE project_id = ? AND template = ?"
        " ORDER BY version DESC LIMIT 1",
        [project_id, template],
    ).fetchone()
    return (r[0], r[1]) if r else None


def get(con: duckdb.DuckDBPyConnection, project_id: int, template: str, version: int) -> str | None:
    r = con.execute(
        "SELECT source FROM prompt_overrides WHERE project_id = ? AND template = ? AND version = ?",
        [project_id, template, version],
    ).fetchone()
    return r[0] if r else None


def add(con: duckdb.DuckDBPyConnection, project_id: int, template: str, source: str | None) -> int:
    (version,) = con.execute(
        "SELECT coalesce(max(version), 0) + 1 FROM prompt_overrides WHERE project_id = ? AND template = ?",
        [project_id, template],
    ).fetchone()
    con.execute(
        "INSERT INTO prompt_overrides (project_id, template, version, source) VALUES (?, ?, ?, ?)",
        [project_id, template, version, source],
    )
    return version


def history(con: duckdb.DuckDBPyConnection, project_id: int,
            template: str) -> list[tuple[int, str | None, datetime]]:
    return con.execute(
        "SELECT version, source, created_at FROM prompt_overrides WHERE project_id = ? AND template = ?"
        " ORDER BY version DESC",
        [project_id, template],
    ).fetchall()
