"""Two reviewers at once: what one saw is stated with every edit and decision, so the other's
change is refused (with their name) or skipped instead of silently overwritten; the queue head
is leased to whoever is shown it; settings are merged, never read-modify-written; and writes of
one process (the web server's sessions are threads) never surface DuckDB's raw conflicts."""

from __future__ import annotations

import threading

import duckdb
import pytest

from lumina import review
from lumina.errors import ConflictError, LuminaError
from lumina.projects.samples import get_many_for, text_hash
from lumina.store import connect, transaction
from lumina.store import projects as store_projects
from lumina.store.db import StoreConflictError, retry_conflicts
from tests.test_review import _event_count, _status, proj  # noqa: F401 - the fixture


def _seen(project: str, sid: int):
    s = get_many_for(project, [sid])[0]
    return s, text_hash(s.instruction, s.response)


def test_an_edit_from_a_stale_copy_is_refused(proj):
    ann_copy, ann_seen = _seen(proj, 4)
    review.edit(proj, 4, "bob", response="Bees follow scent and ultraviolet nectar guides.")
    # ann's editor still holds the old text: before, her save wrote both fields back over bob's
    with pytest.raises(ConflictError, match="changed by bob since you opened it"):
        review.edit(proj, 4, "ann", ann_copy.instruction, "Bees dance.", expected=ann_seen)
    assert get_many_for(proj, [4])[0].response.startswith("Bees follow scent")

    # Reopened, she changes only the instruction: bob's response stays as he wrote it.
    _, fresh = _seen(proj, 4)
    review.edit(proj, 4, "ann", instruction="How do honey bees find flowers?", expected=fresh)
    s = get_many_for(proj, [4])[0]
    assert s.instruction == "How do honey bees find flowers?"
    assert s.response.startswith("Bees follow scent") and s.messages[-1]["content"] == s.response
    # The CLI states nothing: it edits whatever is there now.
    review.edit(proj, 4, "carl", response="Scent, colour and ultraviolet patterns.")
    assert get_many_for(proj, [4])[0].instruction == "How do honey bees find flowers?"


def test_a_decision_on_a_changed_status_is_refused_naming_who(proj):
    review.decide(proj, [1], "approve", "bob", expected={1: "pending"})
    with pytest.raises(ConflictError, match="Sample 1 was approved by bob since you opened it"):
        review.decide(proj, [1], "reject", "ann", expected={1: "pending"})
    assert _status(proj)[1] == "approved" and _event_count() == 1
    review.decide(proj, [1], "reject", "ann")  # the CLI's "I mean it": act on the current state
    assert _status(proj)[1] == "rejected"


def test_a_bulk_action_skips_what_someone_else_decided(proj):
    shown = {1: "pending", 2: "pending", 3: "pending"}
    review.decide(proj, [2], "reject", "bob", reason="off-topic")
    res = review.decide(proj, list(shown), "approve", "ann", expected=shown, skip_changed=True)
    assert (res.decided, res.changed, res.skipped) == (2, 2, 1)
    assert _status(proj)[2] == "rejected"
    review.undo(proj, "ann")  # the batch holds only what ann decided
    assert _status(proj)[2] == "rejected" and _status(proj)[1] == "pending"


def test_the_queue_head_is_leased_to_whoever_is_shown_it(proj, monkeypatch):
    assert review.queue_page(proj, "ann").view.sample.id == 1
    bob = review.queue_page(proj, "bob").view
    assert bob.sample.id == 2 and bob.remaining == 6  # ann's head is out of bob's queue
    assert review.queue(proj, "carl").sample.id == 3  # the CLI's look skips both leases, takes none
    assert review.queue_page(proj, "ann").view.sample.id == 1  # a rerun renews her own lease

    review.queue_page(proj, "ann", exclude=[1])  # ann skips: her lease moves to sample 3
    assert review.queue_page(proj, "carl").view.sample.id == 1
    review.decide(proj, [3], "approve", "ann", expected={3: "pending"})  # a decision frees it
    assert review.queue(proj, "dan").sample.id == 4

    review.queue_page(proj, "erin")  # leases sample 4
    assert review.queue(proj, "dan").sample.id == 5
    monkeypatch.setattr(review.queues, "LEASE_S", -1.0)  # erin's next lease is already over
    review.queue_page(proj, "erin")
    assert review.queue(proj, "dan").sample.id == 4  # expired: back in everyone's queue
    review.release_lease(proj, "bob")
    assert review.queue(proj, "dan").sample.id == 2


def test_settings_are_merged_not_overwritten(proj):
    with connect() as con:
        p = store_projects.get(con, proj)
        store_projects.merge_settings(con, p.id, {"teacher_options": {"concurrency": 4}, "review": {"x": 1}})
    review.set_double_review(proj, 0.2)
    with connect() as con:
        merged = store_projects.merge_settings(con, p.id, {"review": {"x": None}})
    assert merged == {"teacher_options": {"concurrency": 4}, "review": {"double_fraction": 0.2}}
    assert review.double_review_fraction(proj) == 0.2


def test_threads_writing_the_same_rows_get_no_raw_conflict(proj):
    """Four sessions of one server: decisions on the same samples and settings merges at once."""
    errors: list[BaseException] = []
    with connect() as con:
        pid = store_projects.get(con, proj).id

    def decide(who: str):
        try:
            for k in range(15):
                review.decide(proj, [1, 2, 3], "approve" if k % 2 else "reject", who)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def merge(key: str):
        try:
            for k in range(15):
                with connect() as con, transaction(con):
                    store_projects.merge_settings(con, pid, {"counters": {key: k}})
                review.set_double_review(proj, k / 100)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=decide, args=(w,)) for w in ("ann", "bob")]
    threads += [threading.Thread(target=merge, args=(k,)) for k in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert _event_count() == 2 * 15 * 3
    with connect() as con:
        settings = store_projects.get(con, proj).settings
    assert settings["counters"] == {"a": 14, "b": 14} and settings["review"]["double_fraction"] == 0.14


def test_a_write_racing_a_transaction_is_retried_or_explained(proj):
    """An autocommit write meeting another thread's open transaction on the same row."""
    with connect() as holder:
        holder.begin()
        holder.execute("UPDATE samples SET status = 'approved' WHERE id = 1")
        with pytest.raises(StoreConflictError) as exc:  # a LuminaError, not DuckDB's raw one
            with connect() as con:
                con.execute("UPDATE samples SET status = 'rejected' WHERE id = 1")
        assert isinstance(exc.value, LuminaError) and "same moment" in str(exc.value)
        holder.commit()

    calls = []

    @retry_conflicts
    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise duckdb.TransactionException("TransactionContext Error: Conflict on update!")
        return "done"

    assert flaky() == "done" and len(calls) == 3

    @retry_conflicts(attempts=2)
    def hopeless():
        raise duckdb.TransactionException("TransactionContext Error: Conflict on update!")

    with pytest.raises(StoreConflictError, match="try again"):
        hopeless()


def test_the_review_page_states_what_the_reviewer_saw():
    from tests.test_app import make_project, run_page, text_of
    from tests.test_app_review import _button

    make_project()
    at = run_page("review")
    at.sidebar.text_input(key="reviewer_input").set_value("ann").run()
    assert "Why is the sky blue" in text_of(at)
    review.decide("science", [1], "approve", "bob")  # from the CLI, while ann looks at it
    _button(at, "review_reject").click().run()
    assert not at.exception, at.exception
    assert "Sample 1 was approved by bob since you opened it" in text_of(at)
    assert _status("science")[1] == "approved" and len(review.history("science", 1)) == 1

    assert "How much sleep" in text_of(at)  # sample 1 left her queue
    _button(at, "review_edit").click().run()
    review.edit("science", 2, "bob", response="Eight to ten hours, says the AASM.")
    at.text_area(key="edit_response").input("About nine hours.").run()
    _button(at, "edit_save").click().run()
    assert "changed by bob since you opened it" in text_of(at)
    assert get_many_for("science", [2])[0].response == "Eight to ten hours, says the AASM."

    at.segmented_control(key="review_view").set_value("Table").run()
    at.checkbox(key="rt_confirm_all").check().run()
    review.decide("science", [3], "reject", "bob", reason="off-topic")
    _button(at, "rt_approve_all").click().run()
    assert not at.exception, at.exception
    assert "Skipped 1 that someone else decided since you looked" in text_of(at)
    assert _status("science") == {1: "approved", 2: "approved", 3: "rejected"}
