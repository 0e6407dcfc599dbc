"""Hand review: approve / reject / edit / undo as append-only events, the review queue, progress
and inter-reviewer agreement. The Review page and `lumina review` both call these.

Every decision is a ``review_events`` row (who, when, what, why, the state before and after);
a sample's status and edited text follow from its events and are updated in the same
transaction. A bulk action is one *batch* of events, so one undo reverses all of it.

The package root is its API: decisions.py (approve / reject / edit / undo / flag), queues.py
(orders, double review, leases, near-copies), progress.py (rates, agreement).
"""

from lumina.review.decisions import (
    DECISIONS,
    STATUS_OF,
    ORDERS,
    REJECT_REASONS,
    default_reviewer,
    check_reviewer,
    DecisionResult,
    decide,
    edit,
    UndoResult,
    undo,
    history,
    recent,
    random_seed,
    flag,
)
from lumina.review.queues import (
    LEASE_S,
    double_review_fraction,
    set_double_review,
    QueueView,
    queue,
    QueuePage,
    queue_page,
    release_lease,
    filtered_ids,
    filtered_statuses,
    similar,
)
from lumina.review.progress import (
    ReviewProgress,
    progress,
    Agreement,
    agreement,
)

__all__ = [
    "DECISIONS",
    "STATUS_OF",
    "ORDERS",
    "REJECT_REASONS",
    "default_reviewer",
    "check_reviewer",
    "DecisionResult",
    "decide",
    "edit",
    "UndoResult",
    "undo",
    "history",
    "recent",
    "random_seed",
    "flag",
    "LEASE_S",
    "double_review_fraction",
    "set_double_review",
    "QueueView",
    "queue",
    "QueuePage",
    "queue_page",
    "release_lease",
    "filtered_ids",
    "filtered_statuses",
    "similar",
    "ReviewProgress",
    "progress",
    "Agreement",
    "agreement",
]
