"""Samples as the rest of Lumina sees them: write (with heuristic scores), list, export rows.

Heuristics take ~1 ms a sample; a 10k-row import computing them inside its transaction held the
database (every other process waits on it) for all of that. ``prepare_many`` scores before the
transaction opens, and ``write_many`` of prepared samples only writes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Sequence

import duckdb

from lumina.quality.scorers import heuristics
from lumina.records import NewSample, Sample
from lumina.store import connect
from lumina.store import projects as store_projects
from lumina.store import samples as store_samples


GENERATION_SCORER = "generation"  # flags a mode raised while writing the sample


@dataclass
class Prepared:
    """A sample with its heuristic scores and flags computed, ready to be written."""

    sample: NewSample
    text_hash: str
    scores: list[Any]
    flags: list[tuple[str, str, dict]]  # (flag, scorer, details)


def prepare_many(samples: Sequence[NewSample], finish_reasons: Sequence[str | None] | None = None,
                 flags: Sequence[dict[str, dict] | None] | None = None) -> list[Prepared]:
    """Score samples (call before opening the write transaction: this is the slow part)."""
    finish_reasons = finish_reasons or [None] * len(samples)
    flags = flags or [None] * len(samples)
    out = []
    for s, fin, extra in zip(samples, finish_reasons, flags):
        scores, found = heuristics.measure(s.instruction, s.response, s.context, fin)
        raised = [(f, heuristics.Heuristics.name, d) for f, d in found.items()]
        raised += [(f, GENERATION_SCORER, d) for f, d in (extra or {}).items()]
        out.append(Prepared(s, text_hash(s.instruction, s.response), scores, raised))
    return out


def write(con: duckdb.DuckDBPyConnection, project_id: int, sample: NewSample,
          finish_reason: str | None = None, flags: dict[str, dict] | None = None) -> int:
    """Insert one sample and its heuristic scores (call inside the caller's transaction)."""
    return write_many(con, project_id, [sample], [finish_reason], [flags])[0]


def write_many(con: duckdb.DuckDBPyConnection, project_id: int, samples: Sequence[NewSample | Prepared],
               finish_reasons: Sequence[str | None] | None = None,
               flags: Sequence[dict[str, dict] | None] | None = None) -> list[int]:
    """``write`` for many samples: three bulk statements instead of several per sample. Give it
    ``prepare_many``'s output to keep the scoring out of the transaction; plain samples are
    scored here (``finish_reasons`` and ``flags`` are only read for those)."""
    from lumina.store import quality as store_quality

    todo = [s for s in samples if not isinstance(s, Prepared)]
    if todo and len(todo) != len(samples):
        raise ValueError("write_many takes prepared samples or plain ones, not a mix")
    ready = prepare_many(todo, finish_reasons, flags) if todo else list(samples)
    ids = store_samples.insert_many(con, project_id, [p.sample for p in ready])
    store_quality.write_scores(con, [(sid, p.text_hash, p.scores) for sid, p in zip(ids, ready)])
    store_quality.add_flags(con, [(sid, *f) for sid, p in zip(ids, ready) for f in p.flags])
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
