"""AppTest of the Quality page (distributions, policy preview and apply, undo) and of the
Diversity page before and after a map exists."""

from __future__ import annotations

from lumina import jobs
from lumina.diversity import map_job as mapping
from lumina.records import Score
from lumina.projects.samples import list_for
from lumina.store import connect
from lumina.store import samples as store_samples
from tests.test_app import make_project, run_page, text_of


def _button(at, key):
    return next(b for b in at.button if b.key == key)


def test_quality_policy_preview_apply_undo():
    make_project()
    with connect() as con:
        store_samples.add_flags_many(con, [(1, "duplicate", "dedup", {"canonical": 2, "kind": "near"})])
        store_samples.write_scores_many(con, [(2, [Score("judge", "judge/rubric@v1", "overall", 2.0)]),
                                              (3, [Score("judge", "judge/rubric@v1", "overall", 4.5)])])
    at = run_page("quality")
    assert not at.exception, at.exception
    text = text_of(at)
    assert "**2** pending samples match" in text  # sample 1 (duplicate) and 2 (judge 2.0 < 3)
    assert "heuristics (up to date)" in [b.label for b in at.button]
    at.selectbox(key="q_metric").select("judge.overall").run()
    assert "**2 of 2** scored samples pass" in text_of(at)
    _button(at, "q_apply").click().run()
    assert not at.exception, at.exception
    assert {s.id: s.status for s in list_for("science")} == {1: "rejected", 2: "rejected", 3: "pending"}
    assert "Undo reverses all of them" in text_of(at)
    _button(at, "q_undo").click().run()
    assert {s.status for s in list_for("science")} == {"pending"}
    at.text_input(key="q_policy").input("judge.overall <<< 3").run()
    assert "Cannot read" in text_of(at)


def test_diversity_page_before_and_after_a_map(bundled_model_dir):
    make_project()
    at = run_page("diversity")
    assert "No map yet" in text_of(at)
    _button(at, "dv_update").click().run()
    assert not at.exception, at.exception
    [job] = [j for j in jobs.list_jobs() if j.kind == "map"]
    assert jobs.wait(job.id, timeout_s=300).status == "done"
    at = run_page("diversity")
    assert not at.exception, at.exception
    assert "**3 of 3** samples on the map" in text_of(at) and "Vendi score" in text_of(at)
    at.selectbox(key="dv_colour").select("cluster").run()
    assert not at.exception, at.exception
    assert mapping.map_state("science")["placed"] == 3
