"""Scorers and the map as Lumina runs them: background jobs over a real project, flags and
scores in the store, only new or changed samples re-scored, policies as undoable review events."""

from __future__ import annotations

import json

import pytest

from lumina.io import importers
from lumina import jobs, review
from lumina.diversity import map_job as mapping
from lumina.quality import policy, score_job as scoring
from lumina.projects import create_project
from lumina.projects.samples import get_many_for, list_for
from lumina.store import connect
from tests.helpers import completion_json, lumina, scripted_server

CLEAN = [
    ("How do I repot a root-bound houseplant without killing it?",
     "Water it a day before, ease it out, tease the circling roots apart and move it to a pot one size larger."),
    ("What is the difference between baking soda and baking powder?",
     "Baking soda is pure sodium bicarbonate and needs an acid; baking powder already contains the acid."),
    ("Why do my headphones crackle only on the left side?",
     "A loose connection in the plug or cable is most likely; wiggle the cable near each end to find it."),
    ("Explain compound interest to a twelve-year-old.",
     "If you save money, the bank pays you a little extra, and next year it pays extra on the extra too."),
    ("Which muscles does a plank exercise train?",
     "Mainly the deep abdominal muscles and the obliques, with the shoulders, glutes and back helping."),
    ("How can I tell if an egg is still fresh?",
     "Put it in a bowl of water: a fresh egg sinks and lies flat, an old one stands up or floats."),
    ("What causes the seasons on Earth?",
     "The tilt of Earth's axis: each hemisphere leans towards the Sun for part of the year and away later."),
    ("Give me three tips for a first job interview.",
     "Research the company, prepare two stories that show your skills, and ask a thoughtful question at the end."),
    ("Why does bread go stale faster in the fridge?",
     "Cold speeds up starch retrogradation, the recrystallisation that makes the crumb firm and dry."),
    ("How does a heat pump warm a house in winter?",
     "It moves heat from the cold outside air into the house by evaporating and compressing a refrigerant."),
]
EVAL = [
    {"question": "A train leaves the station at nine in the morning travelling at sixty miles per hour towards "
                 "a city that is one hundred and eighty miles away; at what time does it arrive?", "answer": "At noon."},
    {"question": "Which planet in our solar system has the largest number of confirmed natural moons orbiting "
                 "around it as of the most recent astronomical surveys?", "answer": "Saturn."},
]


@pytest.fixture
def planted(tmp_path):
    create_project("q", teacher="transformers:smollm2-135m-instruct", check_reachable=False)
    rows = [{"instruction": i, "response": r} for i, r in CLEAN]
    rows.append({"instruction": CLEAN[0][0].upper() + "  ", "response": CLEAN[0][1]})            # 11: exact dup of 1
    rows.append({"instruction": CLEAN[1][0].replace("difference", "difference, exactly,"),       # 12: near dup of 2
                 "response": CLEAN[1][1]})
    rows.append({"instruction": "Solve this: " + EVAL[0]["question"], "response": "It arrives at noon."})  # 13
    rows.append({"instruction": "Which of the planets orbiting our Sun currently has the most confirmed natural "
                                "satellites according to the latest surveys?", "response": "Saturn does."})  # 14
    f = tmp_path / "rows.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    importers.import_file("q", f)
    e = tmp_path / "bench.jsonl"
    e.write_text("\n".join(json.dumps(x) for x in EVAL), encoding="utf-8")
    importers.import_evalset("q", e, name="bench")
    return "q"


def _flags(project: str) -> dict[int, list[str]]:
    return {s.id: s.flags for s in list_for(project)}


def _details(sample_id: int, flag: str) -> dict:
    with connect() as con:
        return json.loads(con.execute("SELECT details FROM flags WHERE sample_id = ? AND flag = ?",
                                      [sample_id, flag]).fetchone()[0])


def test_dedup_and_decontamination_jobs_flag_the_planted_cases(planted):
    r = lumina("score", planted, "dedup", "--json")
    assert r.returncode == 0, r.stderr
    r = lumina("score", planted, "decontam", "--json")
    assert r.returncode == 0, r.stderr
    flags = _flags(planted)
    assert "duplicate" in flags[11] and _details(11, "duplicate")["canonical"] == 1
    assert "duplicate" in flags[12] and _details(12, "duplicate")["canonical"] == 2
    assert "contaminated" in flags[13] and _details(13, "contaminated")["kind"] == "ngram"
    assert "contaminated" in flags[14] and _details(14, "contaminated")["eval_set"] == "bench"
    assert "Saturn" in _details(14, "contaminated")["eval_text"]
    for sid in range(1, 11):
        assert "duplicate" not in flags[sid] and "contaminated" not in flags[sid], (sid, flags[sid])

    # A policy previews, applies as one batch of review events, and one undo reverses it.
    pv = policy.preview(planted, "duplicate or contaminated")
    assert pv.ids == [11, 12, 13, 14]
    res = policy.apply(planted, "duplicate or contaminated", "ann")
    assert res.decided == 4 and {s.status for s in get_many_for(planted, [11, 12, 13, 14])} == {"rejected"}
    assert review.history(planted, 11)[0].reason == "policy: duplicate or contaminated"
    review.undo(planted, "ann")
    assert {s.status for s in get_many_for(planted, [11, 12, 13, 14])} == {"pending"}


def test_bad_scorer_settings_fail_before_a_job(planted):
    r = lumina("score", planted, "nonsense")
    assert r.returncode == 2 and "Unknown scorer" in r.stderr
    r = lumina("score", planted, "decontam", "--evalset", "nope")
    assert r.returncode == 2 and "No eval set 'nope'" in r.stderr
    r = lumina("score", planted, "dedup", "--near-threshold", "1.5")
    assert r.returncode == 2
    assert jobs.list_jobs() == []
    with pytest.raises(Exception, match="Cannot read"):
        policy.parse("judge.overall <<< 3")


def test_judge_job_records_failures_and_rescoring_is_incremental(planted):
    answers = iter([json.dumps({"rationale": "fine", "correctness": 4, "helpfulness": 5,
                                "instruction_following": 4, "complexity": 2})] * 100)

    def script(n, body):
        text = body["messages"][-1]["content"]
        if "Why does bread go stale" in text:
            return 200, completion_json("I think it is good!!"), 0  # never valid JSON: a recorded failure
        return 200, completion_json(next(answers)), 0

    with scripted_server(script) as (url, calls):
        from lumina.projects import update_project

        update_project("q", teacher=f"openai:{url}#judge-model", check_reachable=False)
        job = scoring.start_scoring("q", scoring.ScoreParams("judge"))
        final = jobs.wait(job.id, timeout_s=300)
    assert final.status == "done" and final.failed == 1 and final.done == 13
    by_id = {x.id: x for x in list_for("q")}
    assert by_id[1].scores["judge.overall"] == pytest.approx(3.75)
    assert by_id[9].scores["judge.overall"] is None  # failed: no number made up
    assert scoring.pending("q", "judge") == 1  # only the failed one: the next run retries it
    review.edit("q", 3, "ann", response="Check the plug and the cable; a loose wire is the usual cause.")
    assert scoring.pending("q", "judge") == 2 and scoring.pending("q", "heuristics") == 0
    assert "judge.overall" not in {x.id: x for x in list_for("q")}[3].scores  # it graded the old text
    pv = policy.preview("q", "judge < 4")
    assert len(pv.ids) == 12 and 9 not in pv.ids and 3 not in pv.ids  # 3.75s match; failed and edited do not



def test_ifd_and_map_jobs_with_the_bundled_models(planted, bundled_model_dir):
    job = scoring.start_scoring("q", scoring.ScoreParams("ifd"))
    final = jobs.wait(job.id, timeout_s=600)
    assert final.status == "done", final.error
    values = [s.scores.get("ifd.ifd") for s in list_for("q")]
    assert all(v is not None and v > 0 for v in values)

    job = mapping.start_map("q", mapping.MapParams(k=3))
    final = jobs.wait(job.id, timeout_s=600)
    assert final.status == "done", final.error
    state = mapping.map_state("q")
    assert state["placed"] == 14 and state["meta"]["clusters"]
    assert final.result["vendi"] > 1 and 0 < final.result["mean_cosine_distance"] <= 2
    data = mapping.map_data("q", "ifd.ifd")
    assert data.num_rows == 14 and data.column("value").null_count == 0
