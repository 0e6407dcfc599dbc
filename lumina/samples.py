"""Samples as the rest of Lumina sees them: write (with heuristic scores), list, export rows."""

from __future__ import annotations

import duckdb

from lumina.quality import heuristics
from lumina.records import NewSample, Sample
from lumina.store import connect
from lumina.store import projects as store_projects
from lumina.store import samples as store_samples


def write(con: duckdb.DuckDBPyConnection, project_id: int, sample: NewSample,
          finish_reason: str | None = None) -> int:
    """Insert one sample and its heuristic scores (call inside the caller's transaction)."""
    sid = store_samples.insert(con, project_id, sample)
    scores, flags = heuristics.score(sample.instruction, sample.response, finish_reason)
    store_samples.write_scores(con, sid, scores)
    store_samples.set_flags(con, sid, heuristics.SCORER, flags)
    return sid


def list_for(project: str, status: str | None = None, limit: int | None = None, offset: int = 0,
             search: str | None = None, node: str | None = None) -> list[Sample]:
    with connect() as con:
        p = store_projects.get(con, project)
        return store_samples.list_samples(con, p.id, status=status, limit=limit, offset=offset,
                                          search=search, node=node)


def count_for(project: str, status: str | None = None) -> int:
    with connect() as con:
        p = store_projects.get(con, project)
        return store_samples.count(con, p.id, status)
