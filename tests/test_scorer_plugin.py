"""The scorer seam: the built-ins are registered under their stored names and versions, old
stored `score` job params still load, and a plugin scorer (one new file, named in
LUMINA_PLUGINS) runs end to end through the real CLI and its job worker."""

from __future__ import annotations

import json
import os
import textwrap

import pytest

from lumina import jobs
from lumina.io import importers
from lumina.projects import create_project
from lumina.quality import score_job
from lumina.quality.scorers import SCORERS, listed
from lumina.store import connect
from tests.helpers import lumina

TOY = textwrap.dedent('''
    """A toy scorer: the length of the answer, and a flag when it mentions a word."""

    from pydantic import BaseModel, ConfigDict, Field

    from lumina.quality.scorers import SCORERS, Scorer
    from lumina.records import Score


    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")

        word: str = Field("banana", description="the word to flag")


    class Toy(Scorer):
        name = "toy"
        version = "7"
        batch_size = 2
        Options = Options
        help = "Answer length and a word to look for."

        def run(self, ctx, batch=None):
            scores = [(t.id, [Score("toy", self.version, "chars", float(len(t.response)))]) for t in batch]
            flags = [(t.id, f"mentions_{ctx.options.word}", {"word": ctx.options.word})
                     for t in batch if ctx.options.word in t.response.lower()]
            return scores, flags


    SCORERS.register(Toy())
''')

ROWS = [
    {"instruction": "Name a fruit that is yellow and curved.", "response": "A banana is yellow and curved."},
    {"instruction": "Name a small green fruit with a brown skin.", "response": "A kiwi has a fuzzy brown skin."},
    {"instruction": "Which fruit grows on palm trees by the sea?", "response": "The coconut grows on palms."},
]


@pytest.fixture
def project(tmp_path):
    create_project("q", teacher="transformers:smollm2-135m-instruct", check_reachable=False)
    f = tmp_path / "rows.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in ROWS), encoding="utf-8")
    importers.import_file("q", f)
    return "q"


@pytest.fixture
def plugin_env(tmp_path):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "lumina_toy_scorer.py").write_text(TOY, encoding="utf-8")
    path = os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH")) if p)
    return {"PYTHONPATH": path, "LUMINA_PLUGINS": "lumina_toy_scorer"}


def test_builtin_scorers_keep_their_stored_names_versions_and_scopes(project):
    from lumina import prompts
    from lumina.quality import ifd, textstats

    assert [s.name for s in listed()][:5] == ["heuristics", "judge", "ifd", "dedup", "decontam"]
    with connect() as con:
        from lumina.store import projects as store_projects

        pid = store_projects.get(con, project).id
    expected = {"heuristics": (textstats.VERSION, "sample"), "ifd": (ifd.VERSION, "sample"),
                "judge": (prompts.for_project(pid, "judge", "rubric").ref, "sample"),
                "dedup": ("1", "project"), "decontam": ("1", "project")}
    for name, (version, scope) in expected.items():
        s = SCORERS.get(name)
        assert (s.name, s.version_for(pid), s.scope) == (name, version, scope)
    assert textstats.VERSION == "4" and SCORERS.get("heuristics").batch_size == 2000
    assert SCORERS.get("judge").batch_size == 8 and SCORERS.get("ifd").batch_size == 16


def test_option_models_give_the_defaults_and_check_values():
    dedup, decontam = SCORERS.get("dedup").Options(), SCORERS.get("decontam").Options()
    assert (dedup.near_threshold, dedup.semantic_threshold, dedup.shingle, dedup.embedder) == (0.8, 0.92, 5, None)
    assert (decontam.ngram, decontam.threshold, decontam.confirm, decontam.evalsets) == (13, 0.85, False, [])
    assert all(f.description for s in SCORERS for f in s.Options.model_fields.values())
    with pytest.raises(Exception, match="near_threshold"):
        score_job.options_for(SCORERS.get("dedup"), {"near_threshold": 1.5})
    with pytest.raises(Exception, match="shingle"):
        score_job.options_for(SCORERS.get("dedup"), {"shingle": 1})


def test_old_flat_job_params_fold_into_the_scorers_options():
    old = {"scorer": "dedup", "dedup_near_threshold": 0.7, "dedup_semantic_threshold": 0.9, "dedup_shingle": 4,
           "decontam_ngram": 13, "decontam_threshold": 0.85, "decontam_confirm": False, "evalsets": [],
           "embedder": None}
    p = score_job.ScoreParams.model_validate(old)
    assert p.options == {"near_threshold": 0.7, "semantic_threshold": 0.9, "shingle": 4, "embedder": None}
    p = score_job.ScoreParams.model_validate({**old, "scorer": "decontam", "decontam_ngram": 9, "evalsets": ["b"]})
    assert p.options == {"ngram": 9, "threshold": 0.85, "confirm": False, "evalsets": ["b"], "embedder": None}
    assert score_job.ScoreParams.model_validate({**old, "scorer": "judge"}).options == {}
    assert score_job.ScoreParams("judge").to_dict() == {"scorer": "judge", "options": {}}


def test_an_old_format_score_job_still_runs(project):
    from lumina.store import projects as store_projects
    from lumina.store import quality as store_quality

    with connect() as con:
        pid = store_projects.get(con, project).id
        con.execute("DELETE FROM scores")  # as if the import had not scored them
    old = {"scorer": "heuristics", "dedup_near_threshold": 0.8, "dedup_semantic_threshold": 0.92,
           "dedup_shingle": 5, "decontam_ngram": 13, "decontam_threshold": 0.85, "decontam_confirm": False,
           "evalsets": [], "embedder": None}
    job = jobs.submit("score", pid, old, launch_worker=False)
    jobs.launch(job.id)
    final = jobs.wait(job.id, timeout_s=300)
    assert final.status == "done", final.error
    assert final.result == {"scorer": "heuristics", "version": "4", "scored": 3, "failed": 0}
    with connect() as con:
        assert store_quality.count_needing(con, pid, "heuristics", "4") == 0


def test_a_plugin_scorer_runs_end_to_end_through_the_cli(project, plugin_env):
    r = lumina("score", project, "toy", "--json")
    assert r.returncode == 2 and "Unknown scorer 'toy'" in r.stderr  # not without the plugin

    r = lumina("score", project, "toy", "-o", "word=kiwi", "--json", env=plugin_env)
    assert r.returncode == 0, r.stderr
    job = json.loads(r.stdout)
    assert job["params"] == {"scorer": "toy", "options": {"word": "kiwi"}}
    assert job["result"] == {"scorer": "toy", "version": "7", "scored": 3, "failed": 0}

    r = lumina("samples", project, "--json", check=True)
    shown = {s["id"]: s for s in map(json.loads, r.stdout.splitlines())}
    assert [shown[i]["scores"]["toy.chars"] for i in (1, 2, 3)] == [float(len(x["response"])) for x in ROWS]
    assert [("mentions_kiwi" in shown[i]["flags"]) for i in (1, 2, 3)] == [False, True, False]
    assert "heuristics.response_words" in shown[1]["scores"]  # the built-ins' scores stay

    # a re-run scores nothing new; a bad option fails before a job
    r = lumina("score", project, "toy", "--json", env=plugin_env)
    assert r.returncode == 0 and json.loads(r.stdout)["result"]["scored"] == 0, r.stderr
    r = lumina("score", project, "toy", "-o", "colour=red", env=plugin_env)
    assert r.returncode == 2 and "Invalid toy option colour" in r.stderr
