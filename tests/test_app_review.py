"""AppTest of the Review queue (approve, reject with a reason, skip, edit, undo), the review table's
bulk actions, and the Datasets page (freeze, export, compare)."""

from __future__ import annotations

from lumina import datasets, review
from lumina.projects.samples import get_many_for, list_for
from tests.test_app import make_project, run_page, text_of


def _status() -> dict[int, str]:
    return {s.id: s.status for s in list_for("science")}


def _button(at, key):
    return next(b for b in at.button if b.key == key)


def test_queue_actions():
    make_project()
    at = run_page("review")
    at.sidebar.text_input(key="reviewer_input").set_value("ann").run()
    assert "1 / 3" in text_of(at) and "Why is the sky blue during the day?" in text_of(at)

    _button(at, "review_approve").click().run()
    assert not at.exception, at.exception
    assert _status()[1] == "approved"
    assert "2 / 3" in text_of(at) and "How much sleep does a teenager need?" in text_of(at)
    assert review.history("science", 1)[0].reviewer == "ann"

    at.selectbox(key="review_reason").select("incorrect").run()
    _button(at, "review_reject").click().run()
    assert _status()[2] == "rejected" and review.history("science", 2)[0].reason == "incorrect"

    _button(at, "review_undo").click().run()
    assert _status()[2] == "pending" and "2 / 3" in text_of(at)

    _button(at, "review_skip").click().run()
    assert "What does baking soda do in a cake?" in text_of(at)

    _button(at, "review_edit").click().run()
    at.text_area(key="edit_response").input("Baking soda is a base: with an acid it releases CO2 bubbles.").run()
    _button(at, "edit_save_approve").click().run()
    assert not at.exception, at.exception
    s = get_many_for("science", [3])[0]
    assert s.status == "approved" and s.response.startswith("Baking soda is a base")
    # Only the skipped one is left: the queue says so and offers it again.
    assert "Nothing left to review here. You skipped 1." in text_of(at)
    _button(at, "review_unskip").click().run()
    assert "How much sleep" in text_of(at) and "3 / 3" in text_of(at)
    _button(at, "review_approve").click().run()
    assert "Nothing left to review here." in text_of(at) and set(_status().values()) == {"approved", "pending"} - {"pending"}


def test_review_needs_a_name():
    make_project()
    at = run_page("review")
    at.sidebar.text_input(key="reviewer_input").set_value("  ").run()
    assert "every decision records who made it" in text_of(at)


def test_table_bulk_actions_and_progress():
    make_project()
    at = run_page("review")
    at.sidebar.text_input(key="reviewer_input").set_value("bob").run()
    at.segmented_control(key="review_view").set_value("Table").run()
    assert not at.exception, at.exception
    assert "3 matching" in text_of(at)
    at.checkbox(key="rt_confirm_all").check().run()
    _button(at, "rt_approve_all").click().run()
    assert set(_status().values()) == {"approved"}
    assert "One undo reverses all of them" in text_of(at)
    _button(at, "rt_undo").click().run()
    assert set(_status().values()) == {"pending"}

    at.segmented_control(key="review_view").set_value("Progress").run()
    assert not at.exception, at.exception
    assert "Pending review" in text_of(at) and at.metric[0].value == "3"


def test_datasets_page_freeze_export_compare():
    make_project()
    review.decide("science", [1, 2], "approve", "ann")
    at = run_page("datasets")
    assert "Approved samples a version would hold today: **2**" in text_of(at)
    form_name = next(t for t in at.text_input if t.label == "Version name")
    form_name.set_value("first")
    at.button[0].click().run()  # the form's Freeze button
    assert not at.exception, at.exception
    assert "Froze first" in text_of(at)
    v = datasets.get_version("science", "first")
    assert sum(v.counts.values()) == 2

    at.selectbox(key="ds_format").select("hf").run()
    _button(at, "ds_export").click().run()
    assert not at.exception, at.exception
    assert "Written to" in text_of(at)
    assert (datasets.export_folder("science", "first", "hf") / "README.md").exists()

    review.decide("science", [3], "approve", "ann")
    datasets.freeze("science", "second", eval_fraction=0.0)
    at = run_page("datasets")
    at.selectbox(key="ds_version").select("second").run()
    at.selectbox(key="ds_other").select("first").run()
    assert not at.exception, at.exception
    assert at.metric[0].value == "1"  # one sample added
