"""The review queue: its orders, double review, the lease on the head shown, and near-copies of a sample."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Sequence

from lumina import access
from lumina.review.decisions import ORDERS, check_reviewer
from lumina.errors import InvalidInputError
from lumina.records import ReviewEvent, Sample, SampleFilter
from lumina.store import connect, transaction
from lumina.store.db import retry_conflicts
from lumina.store import projects as store_projects
from lumina.store import review as store_review
from lumina.store import samples as store_samples


LEASE_S = 120.0  # how long the queue head shown to a reviewer stays out of other reviewers' queues
# --- the queue -------------------------------------------------------------------------------

def double_review_fraction(project: str) -> float:
    with connect() as con:
        p = store_projects.get(con, project)
    return float((p.settings or {}).get("review", {}).get("double_fraction", 0.0))


@access.requires("curator")
@retry_conflicts
def set_double_review(project: str, fraction: float) -> None:
    if not 0.0 <= fraction <= 1.0:
        raise InvalidInputError("The double-review share must be between 0 and 1 (e.g. 0.1 for 10%).")
    with connect() as con:
        p = store_projects.get(con, project)
        with transaction(con):
            store_projects.merge_settings(con, p.id, {"review": {"double_fraction": fraction}})


@dataclass
class QueueView:
    sample: Sample | None
    remaining: int            # samples left in the queue, the one shown included
    upcoming: list[int] = field(default_factory=list)


def queue(project: str, reviewer: str, order: str = "oldest", filt: SampleFilter | None = None,
          exclude: Sequence[int] = (), seed: int = 0, peek: int = 1) -> QueueView:
    """The next sample for this reviewer: pending ones (and, with double review, the share others
    decided and this reviewer has not seen), in ``order``, minus ``exclude`` (skipped ones) and
    those leased to another reviewer. A look only: ``queue_page`` is what leases the head."""
    with connect() as con:
        p = store_projects.get(con, project)
        return _queue(con, p, reviewer, order, filt, exclude, seed, peek)


def _queue(con, p, reviewer: str, order: str, filt: SampleFilter | None, exclude: Sequence[int],
           seed: int, peek: int, lease: bool = False) -> QueueView:
    if order not in store_review.ORDERS:
        raise InvalidInputError(f"Unknown queue order '{order}' (use one of: {', '.join(ORDERS)}).")
    filt = filt or SampleFilter()
    frac = float((p.settings or {}).get("review", {}).get("double_fraction", 0.0))
    now = datetime.now()
    ids = store_review.queue_ids(con, p.id, filt, order, reviewer, frac, exclude, seed, limit=max(1, peek), now=now)
    if not ids:
        return QueueView(None, 0)
    if lease:
        store_review.lease(con, p.id, ids[0], reviewer, now + timedelta(seconds=LEASE_S), now)
    remaining = store_review.queue_count(con, p.id, filt, reviewer, frac, exclude, now=now)
    return QueueView(store_samples.get(con, ids[0]), remaining, ids[1:])


@dataclass
class QueuePage:
    """Everything the Review page's queue shows, read in one connection: opening the database
    file is the dearest step of a decision (10-30 ms here), so the page does it once per view."""
    view: QueueView
    similar: list[tuple[Sample, float]]
    history: list[ReviewEvent]
    nodes: list[str]
    flags: list[str]


@retry_conflicts
def queue_page(project: str, reviewer: str, order: str = "oldest", filt: SampleFilter | None = None,
               exclude: Sequence[int] = (), seed: int = 0, lease: bool = True) -> QueuePage:
    """The queue as the Review page shows it. The head shown is leased to this reviewer for
    ``LEASE_S`` (renewed by each view, released by a decision), in the transaction that picked
    it, so a second reviewer's queue moves on to the next sample. ``lease=False`` for someone
    who only looks (a viewer cannot decide, so must not hold samples back from others)."""
    from lumina.store import ui as store_ui

    reviewer = check_reviewer(reviewer)
    lease = lease and access.can(project, "curator")
    with connect() as con:
        p = store_projects.get(con, project)
        with transaction(con):
            view = _queue(con, p, reviewer, order, filt, exclude, seed, 1, lease=lease)
        near = _similar(con, p.id, view.sample) if view.sample else []
        hist = store_review.history(con, view.sample.id) if view.sample else []
        tree = [n["path"] for n in store_projects.nodes(con, p.id)]
        used = store_ui.sample_node_paths(con, p.id)
        flags = list(store_ui.flag_counts(con, p.id))
    known = set(tree)
    return QueuePage(view, near, hist, tree + [u for u in used if u not in known], flags)


@access.requires("curator")
@retry_conflicts
def release_lease(project: str, reviewer: str) -> None:
    """Give back the queue head this reviewer holds (e.g. a browser session changing its name)."""
    with connect() as con:
        p = store_projects.get(con, project)
        with transaction(con):
            store_review.release_reviewer(con, p.id, reviewer)


def filtered_ids(project: str, filt: SampleFilter) -> list[int]:
    with connect() as con:
        p = store_projects.get(con, project)
        return store_review.filtered_ids(con, p.id, filt)


def filtered_statuses(project: str, filt: SampleFilter) -> dict[int, str]:
    """Status of every sample the filter matches: what a bulk action over them states it saw."""
    with connect() as con:
        p = store_projects.get(con, project)
        return store_review.filtered_statuses(con, p.id, filt)


_WORD = re.compile(r"\w+", re.UNICODE)


def similar(project: str, sample: Sample, k: int = 5, pool: int = 500) -> list[tuple[Sample, float]]:
    """Samples most like this one by word overlap (Jaccard of word sets) among the node's latest
    ``pool`` samples: enough to spot a near-copy while deciding, cheap at any project size."""
    with connect() as con:
        p = store_projects.get(con, project)
        return _similar(con, p.id, sample, k, pool)


def _similar(con, project_id: int, sample: Sample, k: int = 5, pool: int = 500) -> list[tuple[Sample, float]]:
    words = set(_WORD.findall(sample.instruction.lower()))
    if not words:
        return []
    scored = []
    for sid, text in store_review.recent_instructions(con, project_id, sample.node_path, pool):
        if sid == sample.id:
            continue
        ow = set(_WORD.findall(text.lower()))
        if ow:
            scored.append((sid, len(words & ow) / len(words | ow)))
    scored.sort(key=lambda t: -t[1])
    top = [t for t in scored[:k] if t[1] > 0]
    found = store_samples.get_many(con, [sid for sid, _ in top])
    return [(found[sid], sim) for sid, sim in top if sid in found]


# --- progress and agreement -------------------------------------------------------------------
