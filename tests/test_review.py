"""Review through the library and the CLI: decisions are append-only events, status and edited
text follow from them, undo reverses the last decision (a bulk action at once), and nothing is
lost with two reviewers and a generation job writing at the same time."""

from __future__ import annotations

import json
import threading

import pytest

from lumina.io import importers
from lumina import jobs, review
from lumina.config import examples_dir
from lumina.errors import InvalidInputError, NotFoundError
from lumina.generate.launch import start_generation
from lumina.generate.params import GenerateParams
from lumina.projects import create_project
from lumina.records import SampleFilter, Score
from lumina.projects.samples import count_for, get_many_for, list_for
from lumina.store import connect
from lumina.store import samples as store_samples
from lumina.teachers import GenParams
from tests.helpers import lumina

ROWS = [
    ("How do vaccines train the immune system?", "They show it a harmless piece of a germ so it learns to respond.", "Biology"),
    ("Why does ice float on water?", "Ice is less dense than liquid water because of its open crystal lattice.", "Physics"),
    ("What makes bread rise?", "Yeast ferments sugars and releases carbon dioxide that inflates the dough.", "Chemistry"),
    ("How do bees find flowers?", "They use colour, ultraviolet patterns and scent, and share locations by dancing.", "Biology"),
    ("Why is the sea salty?", "Rivers carry dissolved minerals from rocks into the sea, where water evaporates.", "Chemistry"),
    ("What causes thunder?", "Lightning heats air so fast that it expands explosively and makes a shock wave.", "Physics"),
]


@pytest.fixture
def proj(tmp_path):
    create_project("rev", teacher="transformers:smollm2-135m-instruct", check_reachable=False)
    f = tmp_path / "rows.jsonl"
    f.write_text("\n".join(json.dumps({"instruction": i, "response": r, "node": n}) for i, r, n in ROWS) + "\n"
                 + json.dumps({"instruction": "Summarise the passage.", "response": "Plants make sugar from light.",
                               "context": "Photosynthesis turns light, water and CO2 into sugar.", "node": "Biology"}),
                 encoding="utf-8")
    importers.import_file("rev", f)
    return "rev"


def _status(project: str) -> dict[int, str]:
    return {s.id: s.status for s in list_for(project)}


def _event_count() -> int:
    with connect() as con:
        return con.execute("SELECT count(*) FROM review_events").fetchone()[0]


def test_approve_reject_edit_undo(proj):
    review.decide(proj, [1, 2], "approve", "ann")
    review.decide(proj, [3], "reject", "ann", reason="incorrect")
    assert _status(proj) == {1: "approved", 2: "approved", 3: "rejected", 4: "pending", 5: "pending",
                             6: "pending", 7: "pending"}

    ev = review.edit(proj, 4, "ann", response="Bees see ultraviolet patterns on petals and follow scent.")
    assert ev.before["response"].startswith("They use colour")
    s = get_many_for(proj, [4])[0]
    assert s.response.startswith("Bees see ultraviolet") and s.messages[-1]["content"] == s.response
    assert review.edit(proj, 4, "ann", response=s.response) is None  # nothing changed, no event

    # An edit of a grounded sample keeps the passage that opens its user turn.
    review.edit(proj, 7, "ann", instruction="Summarise the passage in one sentence.")
    g = get_many_for(proj, [7])[0]
    assert g.messages[0]["content"].startswith("Photosynthesis turns light")
    assert g.messages[0]["content"].endswith("Summarise the passage in one sentence.")

    undone = review.undo(proj, "ann")
    assert undone.action == "edit" and get_many_for(proj, [7])[0].instruction == "Summarise the passage."
    undone = review.undo(proj, "ann")
    assert undone.action == "edit" and get_many_for(proj, [4])[0].response.startswith("They use colour")
    undone = review.undo(proj, "ann")
    assert undone.action == "reject" and _status(proj)[3] == "pending"
    undone = review.undo(proj, "ann")  # the two approvals were one action: one undo
    assert sorted(undone.sample_ids) == [1, 2] and set(_status(proj).values()) == {"pending"}
    with pytest.raises(NotFoundError, match="Nothing to undo"):
        review.undo(proj, "ann")

    kinds = [e.action for e in review.history(proj, 4)]
    assert kinds == ["edit", "undo"]  # the log keeps everything, undos included
    assert _event_count() == 2 + 1 + 1 + 1 + 5  # never deleted


def test_undo_refuses_to_overwrite_another_reviewer(proj):
    review.decide(proj, [5], "approve", "ann")
    review.decide(proj, [5], "reject", "bob", reason="off-topic")
    with pytest.raises(InvalidInputError, match="since rejected by bob"):
        review.undo(proj, "ann")
    review.undo(proj, "bob")
    assert _status(proj)[5] == "approved"  # back to ann's verdict
    review.undo(proj, "ann")
    assert _status(proj)[5] == "pending"


def test_bad_input(proj):
    with pytest.raises(NotFoundError, match="No sample 999"):
        review.decide(proj, [1, 999], "approve", "ann")
    assert _status(proj)[1] == "pending"  # all or nothing
    with pytest.raises(InvalidInputError, match="reviewer name"):
        review.decide(proj, [1], "approve", "  ")
    with pytest.raises(InvalidInputError, match="Unknown decision"):
        review.decide(proj, [1], "maybe", "ann")
    with pytest.raises(InvalidInputError, match="empty"):
        review.edit(proj, 1, "ann", response="   ")
    with pytest.raises(InvalidInputError, match="Unknown queue order"):
        review.queue(proj, "ann", order="sideways")


def test_queue_orders_skip_and_double_review(proj):
    with connect() as con:
        store_samples.write_scores_many(con, [(sid, [Score("judge", "1", "overall", v)])
                                              for sid, v in ((1, 4.5), (2, 1.5), (3, 3.1), (4, 2.0))])
    assert review.queue(proj, "ann").sample.id == 1
    assert review.queue(proj, "ann", "newest").sample.id == 7
    low = review.queue(proj, "ann", "lowest judge score", peek=7)
    assert [low.sample.id, *low.upcoming][:4] == [2, 4, 3, 1]  # unscored ones last
    assert review.queue(proj, "ann", "most uncertain").sample.id == 3
    assert review.queue(proj, "ann", "by node").sample.node_path == "Biology"
    r1 = review.queue(proj, "ann", "random", seed=11, peek=7)
    r2 = review.queue(proj, "ann", "random", seed=11, peek=7)
    assert [r1.sample.id, *r1.upcoming] == [r2.sample.id, *r2.upcoming]
    assert review.queue(proj, "ann", exclude=[1, 2]).sample.id == 3  # skipped
    only = review.queue(proj, "ann", filt=SampleFilter(node="Physics"))
    assert only.remaining == 2 and only.sample.node_path == "Physics"

    review.decide(proj, [1], "approve", "ann")
    assert review.queue(proj, "bob").sample.id == 2  # decided: out of everyone's queue
    review.set_double_review(proj, 1.0)  # every sample reviewed twice
    assert review.queue(proj, "bob").sample.id == 1 and review.queue(proj, "ann").sample.id == 2
    review.decide(proj, [1], "approve", "bob")
    review.decide(proj, [2], "approve", "ann")
    review.decide(proj, [2], "reject", "bob")
    review.decide(proj, [3], "reject", "ann")
    review.decide(proj, [3], "reject", "bob")
    a = review.agreement(proj)
    assert a.samples == 3 and a.agreed == 2 and a.kappa is not None
    assert a.disagreements == [{"sample_id": 2, "ann": "approve", "bob": "reject"}]
    p = review.progress(proj)
    assert p.approved + p.rejected + p.pending == 7 and p.last_hour >= 6


def test_review_cli(proj):
    r = lumina("review", "next", proj, "--limit", "3", "--json", "-r", "ann")
    assert r.returncode == 0, r.stderr
    assert [json.loads(x)["id"] for x in r.stdout.splitlines()] == [1, 2, 3]
    r = lumina("review", "approve", proj, "1", "2", "-r", "ann", "--json", check=True)
    assert json.loads(r.stdout)["decided"] == 2
    r = lumina("review", "reject", proj, "--all-matching", "--node", "Physics", "--reason", "off-topic",
               "-r", "bob", check=True)
    assert "rejected 2 samples" in r.stdout
    lumina("review", "edit", proj, "3", "--response", "Yeast makes gas bubbles.", "-r", "ann", check=True)
    assert get_many_for(proj, [3])[0].response == "Yeast makes gas bubbles."
    r = lumina("review", "undo", proj, "-r", "bob", check=True)
    assert "undid reject of 2" in r.stdout
    r = lumina("review", "history", proj, "3", "--json", check=True)
    assert [json.loads(x)["action"] for x in r.stdout.splitlines()] == ["edit"]
    r = lumina("review", "approve", proj, "--all-matching", "--score", "heuristics.response_words>=10",
               "-r", "ann", check=True)
    assert "approved" in r.stdout
    r = lumina("review", "progress", proj, "--json", check=True)
    assert json.loads(r.stdout)["approved"] >= 2
    bad = lumina("review", "approve", proj, "42", "-r", "ann")
    assert bad.returncode == 2 and "No sample 42" in bad.stderr
    bad = lumina("review", "approve", proj, "-r", "ann")
    assert bad.returncode == 2 and "--all-matching" in bad.stderr
    bad = lumina("review", "approve", proj, "--all-matching", "--score", "judge>>3", "-r", "ann")
    assert bad.returncode == 2 and "Cannot read --score" in bad.stderr


def test_two_reviewers_and_a_generation_job_lose_no_decision(bundled_model_dir, tmp_path):
    """Reviewer "ann" in this process (as the web server's sessions are), reviewer "bob" through
    the CLI in other processes, and a real generation worker writing samples, all at once."""
    create_project("busy", examples_dir() / "everyday-science.yaml", teacher="transformers:smollm2-135m-instruct")
    f = tmp_path / "rows.jsonl"
    f.write_text("\n".join(json.dumps({"instruction": f"Question {i} about the weather?",
                                       "response": f"Answer {i}: it depends on pressure and humidity."})
                           for i in range(40)), encoding="utf-8")
    importers.import_file("busy", f)
    job = start_generation("busy", GenerateParams(
        n=3, batch_size=1, instruction_params=GenParams(max_tokens=48, temperature=1.0),
        answer_params=GenParams(max_tokens=32)))
    errors: list[BaseException] = []

    def ann():
        try:
            for sid in range(1, 21):
                review.decide("busy", [sid], "approve" if sid % 3 else "reject", "ann", reason="checked")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    t = threading.Thread(target=ann)
    t.start()
    cli = [lumina("review", "reject" if k % 2 else "approve", "busy", str(sid), "-r", "bob")
           for k, sid in enumerate(range(21, 31))]
    t.join()
    final = jobs.wait(job.id, timeout_s=600)
    assert not errors, errors
    for r in cli:
        assert r.returncode == 0, r.stderr
    status = _status("busy")
    for sid in range(1, 21):
        assert status[sid] == ("approved" if sid % 3 else "rejected")
    for k, sid in enumerate(range(21, 31)):
        assert status[sid] == ("rejected" if k % 2 else "approved")
    assert _event_count() == 30
    assert final.status == "done" and count_for("busy") == 40 + final.done
