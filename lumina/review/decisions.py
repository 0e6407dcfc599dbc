"""Review decisions: approve / reject / edit / undo as append-only events, the review queue, progress
and inter-reviewer agreement. The Review page and `lumina review` both call these.

Every decision is a ``review_events`` row (who, when, what, why, the state before and after);
a sample's status and edited text follow from its events and are updated in the same
transaction. A bulk action is one *batch* of events, so one undo reverses all of it.
"""

from __future__ import annotations

import getpass
import os
import random
import re
import uuid
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from lumina import access
from lumina.errors import ConflictError, InvalidInputError, NotFoundError
from lumina.records import ReviewEvent
from lumina.projects.samples import text_hash
from lumina.store import connect, transaction
from lumina.store.db import retry_conflicts
from lumina.store import projects as store_projects
from lumina.store import review as store_review
from lumina.store import samples as store_samples

DECISIONS = ("approve", "reject")


STATUS_OF = {"approve": "approved", "reject": "rejected"}
ORDERS = tuple(store_review.ORDERS)
_PAST = {"approve": "approved", "reject": "rejected", "edit": "edited"}
REJECT_REASONS = ("incorrect", "unhelpful", "off-topic", "unsafe", "duplicate", "badly formatted")


def default_reviewer() -> str:
    return os.environ.get("LUMINA_REVIEWER") or getpass.getuser() or "reviewer"


def check_reviewer(name: str | None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInputError("A reviewer name is needed: every decision records who made it.")
    if len(name) > 80:
        raise InvalidInputError("A reviewer name can be at most 80 characters.")
    return name


@dataclass
class DecisionResult:
    batch: str
    decided: int        # events recorded
    changed: int        # samples whose status changed
    skipped: int = 0    # left alone: someone else decided them after the reviewer looked


def _changed_by(con, sample_id: int, actions: Sequence[str], then: str) -> ConflictError:
    ev = store_review.last_events(con, [sample_id], actions).get(sample_id)
    done = _PAST.get(ev.action, "changed") if ev and ev.action != "edit" else "changed"
    who = ev.reviewer if ev else "someone else"
    return ConflictError(f"Sample {sample_id} was {done} by {who} since you opened it; {then}")


@access.requires("curator")
@retry_conflicts
def decide(project: str, sample_ids: Sequence[int], action: str, reviewer: str,
           reason: str | None = None, policy: str | None = None,
           only_status: str | None = None, expected: Mapping[int, str] | None = None,
           skip_changed: bool = False) -> DecisionResult:
    """Approve or reject samples (one or many: a bulk action is one batch, undone at once).

    ``expected`` is the status each sample had when the reviewer saw it (the page always says;
    None, as from the CLI, means "whatever it is now"). A sample whose status has changed since
    is refused with a ConflictError naming who decided, or, with ``skip_changed`` (bulk actions),
    left out and counted in ``skipped``.

    A decision is recorded even when the status does not change: with double review the second
    reviewer's agreeing verdict is what agreement is computed from.
    """
    if action not in DECISIONS:
        raise InvalidInputError(f"Unknown decision '{action}' (use approve or reject).")
    reviewer = check_reviewer(reviewer)
    ids = list(dict.fromkeys(int(i) for i in sample_ids))
    if not ids:
        raise InvalidInputError("No samples to decide on.")
    reason = (reason or "").strip() or None
    batch = uuid.uuid4().hex[:12]
    new_status = STATUS_OF[action]
    with connect() as con:
        p = store_projects.get(con, project)
        with transaction(con):
            current = store_review.statuses(con, p.id, ids)
            missing = [i for i in ids if i not in current]
            if missing:
                shown = ", ".join(map(str, missing[:5])) + (" …" if len(missing) > 5 else "")
                raise NotFoundError(f"No sample {shown} in project '{project}'.")
            skipped = 0
            if expected is not None:  # checked inside the transaction: a decision made meanwhile is kept
                moved = [i for i in ids if i in expected and current[i] != expected[i]]
                if moved and not skip_changed:
                    raise _changed_by(con, moved[0], ("approve", "reject", "undo"), "look at it again.")
                gone = set(moved)
                skipped = len(gone)
                ids = [i for i in ids if i not in gone]
            if only_status:
                ids = [i for i in ids if current[i] == only_status]
            if not ids:
                return DecisionResult(batch, 0, 0, skipped)
            after: dict[str, Any] = {"status": new_status, "batch": batch}
            if policy:
                after["policy"] = policy
            store_review.append(con, p.id, [
                {"sample_id": i, "reviewer": reviewer, "action": action, "reason": reason,
                 "before": {"status": current[i]}, "after": after} for i in ids])
            changes = [(i, new_status) for i in ids if current[i] != new_status]
            store_review.set_statuses(con, changes)
            store_review.release(con, ids)
    return DecisionResult(batch, len(ids), len(changes), skipped)


def _edited_messages(messages: list[dict[str, str]], old_instruction: str, new_instruction: str,
                     new_response: str) -> list[dict[str, str]]:
    """The chat form after an edit. The response is the last assistant turn. The instruction is
    the user turn that holds it (the first one for imported multi-turn chats, the last for
    generated ones); only that text is replaced, at its last occurrence, so a grounded passage
    opening the turn stays. Turns an edit did not touch stay as they were."""
    out = [dict(m) for m in messages]
    a = max((k for k, m in enumerate(out) if m["role"] == "assistant"), default=None)
    if a is None:
        out.append({"role": "assistant", "content": new_response})
    else:
        out[a]["content"] = new_response
    if new_instruction == old_instruction:
        return out
    users = [k for k, m in enumerate(out) if m["role"] == "user"]
    holding = [k for k in users if old_instruction and old_instruction in out[k]["content"]]
    if holding:
        k = holding[0]
        head, _, tail = out[k]["content"].rpartition(old_instruction)
        out[k]["content"] = head + new_instruction + tail
    elif users:
        out[users[0]]["content"] = new_instruction
    else:
        out.insert(0, {"role": "user", "content": new_instruction})
    return out


@access.requires("curator")
@retry_conflicts
def edit(project: str, sample_id: int, reviewer: str, instruction: str | None = None,
         response: str | None = None, reason: str | None = None,
         expected: str | None = None) -> ReviewEvent | None:
    """Change a sample's text; the original stays in the event. Returns None when nothing changed.

    Only the fields given change (None keeps the stored one, which may be another reviewer's
    edit). ``expected`` is ``samples.text_hash(instruction, response)`` of the text the editor
    opened (the page always says; None, as from the CLI, edits the current text); a text changed
    since is refused with a ConflictError, so nobody's edit is silently written over.

    The heuristic scores and flags are recomputed for the new text, so filters see the edit.
    """
    reviewer = check_reviewer(reviewer)
    with connect() as con:
        p = store_projects.get(con, project)
        with transaction(con):
            before = _own_text(con, p.id, project, sample_id)
            if expected is not None and text_hash(before["instruction"], before["response"]) != expected:
                raise _changed_by(con, sample_id, ("edit", "undo"), "reopen it to see their change, then edit again.")
            new_i = before["instruction"] if instruction is None else instruction
            new_r = before["response"] if response is None else response
            if not new_i.strip() or not new_r.strip():
                raise InvalidInputError("An edit cannot leave the instruction or the response empty.")
            if new_i == before["instruction"] and new_r == before["response"]:
                return None
            messages = _edited_messages(before["messages"], before["instruction"], new_i, new_r)
            store_review.set_text(con, sample_id, new_i, new_r, messages)
            after = {"instruction": new_i, "response": new_r, "messages": messages,
                     "batch": uuid.uuid4().hex[:12]}
            (eid,) = store_review.append(con, p.id, [{"sample_id": sample_id, "reviewer": reviewer,
                                                      "action": "edit", "reason": (reason or "").strip() or None,
                                                      "before": before, "after": after}])
            _rescore(con, p, sample_id)
            return store_review.get_event(con, eid)


def _own_text(con, project_id: int, project: str, sample_id: int) -> dict[str, Any]:
    state = store_review.text_of(con, sample_id)
    if state is None or sample_id not in store_review.statuses(con, project_id, [sample_id]):
        raise NotFoundError(f"No sample {sample_id} in project '{project}'.")
    return state


def _rescore(con, project, sample_id: int) -> None:
    from lumina.quality import score_job
    from lumina.quality.scorers import Text
    from lumina.store import quality as store_quality

    s = store_samples.get(con, sample_id)
    score_job.score_now(con, project, "heuristics",
                        [Text(sample_id, s.instruction, s.response, s.context, text_hash(s.instruction, s.response))])
    # Grades of the old text (judge, IFD) no longer describe it: the next run of those scorers
    # grades the new text instead of filters and policies acting on stale numbers.
    store_quality.drop_scores(con, sample_id, keep=("heuristics",))


@dataclass
class UndoResult:
    undone: list[ReviewEvent]
    action: str
    sample_ids: list[int]


@access.requires("curator")
@retry_conflicts
def undo(project: str, reviewer: str) -> UndoResult:
    """Reverse the reviewer's last decision (a whole bulk batch at once). Refuses when another
    reviewer has since decided on one of its samples: undoing would overwrite their verdict."""
    reviewer = check_reviewer(reviewer)
    with connect() as con:
        p = store_projects.get(con, project)
        with transaction(con):
            last = store_review.last_undoable(con, p.id, reviewer)
            if last is None:
                raise NotFoundError(f"Nothing to undo: {reviewer} has no decision left to reverse in '{project}'.")
            batch = (last.after or {}).get("batch")
            events = store_review.batch_events(con, p.id, reviewer, batch) if batch else [last]
            for ev in events:
                others = [e for e in store_review.later_events(con, ev.sample_id, ev.id) if e.reviewer != reviewer]
                if others:
                    o = others[-1]
                    raise InvalidInputError(
                        f"Cannot undo: sample {ev.sample_id} was since {_PAST[o.action]} by {o.reviewer}. "
                        "Decide on it again instead.")
            rows, status_changes = [], []
            for ev in events:
                now = store_review.text_of(con, ev.sample_id)
                if ev.action == "edit":
                    b = ev.before or {}
                    store_review.set_text(con, ev.sample_id, b["instruction"], b["response"], b["messages"])
                    rows.append({"sample_id": ev.sample_id, "reviewer": reviewer, "action": "undo",
                                 "before": {k: now[k] for k in ("instruction", "response", "messages")},
                                 "after": {"undoes": ev.id}})
                else:
                    restored = (ev.before or {}).get("status", "pending")
                    status_changes.append((ev.sample_id, restored))
                    rows.append({"sample_id": ev.sample_id, "reviewer": reviewer, "action": "undo",
                                 "before": {"status": now["status"]},
                                 "after": {"undoes": ev.id, "status": restored}})
            store_review.append(con, p.id, rows)
            store_review.set_statuses(con, status_changes)
            for ev in events:
                if ev.action == "edit":
                    _rescore(con, p, ev.sample_id)
    return UndoResult(events, last.action, [e.sample_id for e in events])


def history(project: str, sample_id: int) -> list[ReviewEvent]:
    with connect() as con:
        p = store_projects.get(con, project)
        _own_text(con, p.id, project, sample_id)
        return store_review.history(con, sample_id)


def recent(project: str, reviewer: str | None = None, limit: int = 50) -> list[ReviewEvent]:
    with connect() as con:
        p = store_projects.get(con, project)
        return store_review.recent(con, p.id, reviewer, limit)


def random_seed() -> int:
    return random.randrange(1, 2**31)


@access.requires("curator")
@retry_conflicts
def flag(project: str, sample_ids: Sequence[int], flag_name: str, reviewer: str) -> int:
    """Put a reviewer's flag on samples (e.g. from a map selection) for a later look; a flag is
    no decision, so it is not a review event and leaves the status as it is."""

    reviewer = check_reviewer(reviewer)
    name = (flag_name or "").strip().lower().replace(" ", "_")
    if not re.fullmatch(r"[a-z][a-z0-9_-]{0,40}", name):
        raise InvalidInputError("A flag name is a short word (letters, digits, '_' or '-'), e.g. 'check' or 'off-topic'.")
    ids = list(dict.fromkeys(int(i) for i in sample_ids))
    with connect() as con:
        p = store_projects.get(con, project)
        found = store_review.statuses(con, p.id, ids)
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFoundError(f"No sample {missing[0]} in project '{project}'.")
        with transaction(con):
            store_samples.add_flags_many(con, [(i, name, "review", {"by": reviewer}) for i in ids])
    return len(ids)
