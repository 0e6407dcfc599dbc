"""Review progress (decisions per hour, what is left) and inter-reviewer agreement (Cohen's kappa)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lumina.store import connect
from lumina.store import projects as store_projects
from lumina.store import review as store_review


@dataclass
class ReviewProgress:
    last_hour: int                     # decisions in the last hour (all reviewers, or one)
    per_hour: float | None             # this reviewer's (or everyone's) rate over the last 8 hours
    pending: int
    approved: int
    rejected: int
    by_node: list[dict[str, Any]]
    reviewers: list[dict[str, Any]]


def progress(project: str, reviewer: str | None = None) -> ReviewProgress:
    with connect() as con:
        p = store_projects.get(con, project)
        last_hour = store_review.decisions_since(con, p.id, datetime.now() - timedelta(hours=1), reviewer)
        # The rate is over the working day, so yesterday's break does not dilute it.
        day = datetime.now() - timedelta(hours=8)
        reviewers = [{"reviewer": r, "decisions": n, "first": a, "last": b,
                      "per_hour": _rate(n, a, b)} for r, n, a, b in store_review.per_reviewer(con, p.id, day)]
        nodes = store_review.status_by_node(con, p.id)
    by_node = [{"node": n or "(none)", "pending": a, "approved": b, "rejected": c} for n, a, b, c in nodes]
    mine = [r for r in reviewers if reviewer is None or r["reviewer"] == reviewer]
    rates = [r["per_hour"] for r in mine if r["per_hour"]]
    return ReviewProgress(
        last_hour=last_hour, per_hour=sum(rates) if rates else None,
        pending=sum(r["pending"] for r in by_node), approved=sum(r["approved"] for r in by_node),
        rejected=sum(r["rejected"] for r in by_node), by_node=by_node, reviewers=reviewers)


def _rate(n: int, first: datetime, last: datetime) -> float | None:
    """Decisions per hour between a reviewer's first and last decision (None for too few)."""
    span = (last - first).total_seconds()
    return n / span * 3600 if n >= 2 and span > 0 else None


@dataclass
class Agreement:
    samples: int                   # samples with verdicts from at least two reviewers
    agreed: int
    kappa: float | None            # Cohen's kappa of the first two verdicts; None when undefined
    disagreements: list[dict[str, Any]]
    note: str = ""


def agreement(project: str) -> Agreement:
    """Cohen's kappa between the first two reviewers' standing verdicts on each doubly reviewed
    sample (pairs from any reviewers: kappa over "first verdict" vs "second verdict")."""
    from sklearn.metrics import cohen_kappa_score

    with connect() as con:
        p = store_projects.get(con, project)
        rows = store_review.standing_decisions(con, p.id)
    by_sample: dict[int, list[tuple[str, str]]] = {}
    for sid, who, action, _ in rows:
        by_sample.setdefault(sid, []).append((who, action))
    pairs = {sid: v[:2] for sid, v in by_sample.items() if len(v) >= 2}
    if not pairs:
        return Agreement(0, 0, None, [], "No sample has verdicts from two reviewers yet.")
    first = [v[0][1] for v in pairs.values()]
    second = [v[1][1] for v in pairs.values()]
    agreed = sum(a == b for a, b in zip(first, second))
    disagreements = [{"sample_id": sid, **{w: a for w, a in v}} for sid, v in pairs.items() if v[0][1] != v[1][1]]
    if len(set(first) | set(second)) < 2:
        return Agreement(len(pairs), agreed, None, disagreements,
                         "Every verdict is the same, so kappa is undefined (agreement is total).")
    kappa = float(cohen_kappa_score(first, second))
    return Agreement(len(pairs), agreed, kappa, disagreements)
