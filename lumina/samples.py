"""Samples as the rest of Lumina sees them: write (with heuristic scores), list, export rows."""

from __future__ import annotations

from typing import Sequence

import duckdb

import hashlib

from lumina.quality import textstats as heuristics  # v3: v2's signals plus language, echo, leftovers...
from lumina.records import NewSample, Sample
from lumina.store import connect
from lumina.store import projects as store_projects
from lumina.store import samples as store_samples


GENERATION_SCORER = "generation"  # flags a mode raised while writing the sample


def write(con: duckdb.DuckDBPyConnection, project_id: int, sample: NewSample,
          finish_reason: str | None = None, flags: dict[str, dict] | None = None) -> int:
    """Insert one sample and its heuristic scores (call inside the caller's transaction)."""
    return write_many(con, project_id, [sample], [finish_reason], [flags])[0]


def write_many(con: duckdb.DuckDBPyConnection, project_id: int, samples: Sequence[NewSample],
               finish_reasons: Sequence[str | None] | None = None,
               flags: Sequence[dict[str, dict] | None] | None = None) -> list[int]:
    """``write`` for many samples: three bulk statements instead of several per sample."""
    from lumina.store import quality as store_quality

    ids = store_samples.insert_many(con, project_id, samples)
    finish_reasons = finish_reasons or [None] * len(samples)
    flags = flags or [None] * len(samples)
    scored, flagged = [], []
    for sid, s, fin, extra in zip(ids, samples, finish_reasons, flags):
        scores, found = heuristics.score(s.instruction, s.response, fin, s.context)
        scored.append((sid, text_hash(s.instruction, s.response), scores))
        flagged += [(sid, f, heuristics.SCORER, d) for f, d in found.items()]
        flagged += [(sid, f, GENERATION_SCORER, d) for f, d in (extra or {}).items()]
    store_quality.write_scores(con, scored)
    store_samples.add_flags_many(con, flagged)
    return ids


def text_hash(instruction: str, response: str) -> str:
    """What a score was computed from (equals the store's ``TEXT_HASH`` in SQL)."""
    return hashlib.sha256(f"{instruction}\x1f{response}".encode("utf-8")).hexdigest()


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


def get_many_for(project: str, ids: Sequence[int]) -> list[Sample]:
    """These samples of the project, in the order given (ids of other projects are left out)."""
    with connect() as con:
        p = store_projects.get(con, project)
        found = store_samples.get_many(con, ids)
    return [found[i] for i in ids if i in found and found[i].project_id == p.id]
