"""Teacher-assisted taxonomy expansion: suggestions to accept, and expand-to-depth jobs."""

import json

import pytest

from lumina import jobs
from lumina.taxonomy import edit as taxonomy_edit, expand as taxonomy_expand
from lumina.taxonomy import ops
from lumina.config import examples_dir
from lumina.errors import InvalidInputError, NotFoundError
from lumina.projects import create_project
from lumina.taxonomy.tree import SEP
from tests.helpers import completion_json, lumina, scripted_server

TEACHER = "transformers:smollm2-135m-instruct"


def subtopics(*names):
    return completion_json(json.dumps({"subtopics": [{"name": n, "description": f"all about {n.lower()}"}
                                                     for n in names]}))


def test_suggestions_are_cleaned_and_only_accepted_ones_are_added():
    def script(n, body):
        # Duplicates, an existing child, a path separator and an empty name: all cleaned away.
        return 200, subtopics("Lenses", "lenses", "Optics", "Light > Colour", "  ", "Mirrors"), 0

    with scripted_server(script) as (url, calls):
        create_project("sci", examples_dir() / "everyday-science.yaml", teacher=f"openai:{url}#fake")
        taxonomy_edit.add_node("sci", "Physics", "Optics2")
        got = taxonomy_expand.suggest("sci", f"Physics{SEP}Optics", n=5)  # remote: answered in-process
        prompt = calls[0]["body"]["messages"][0]["content"]
    assert isinstance(got, taxonomy_expand.Suggestion) and got.error is None
    assert [p.name for p in got.proposals] == ["Lenses", "Optics", "Light - Colour", "Mirrors"]
    assert '"Optics"' in prompt and f"Physics{SEP}Optics" in prompt and "light, lenses" in prompt
    assert taxonomy_expand.accept("sci", f"Physics{SEP}Optics", got.proposals[::3]) == 2
    kids = [c.name for c in ops.find(taxonomy_edit.load("sci"), f"Physics{SEP}Optics").children]
    assert kids == ["Lenses", "Mirrors"]


def test_unusable_answers_are_retried_then_reported_with_raw_text():
    with scripted_server(lambda n, body: (200, completion_json("Sure! Physics has many parts."), 0)) as (url, calls):
        create_project("bad", examples_dir() / "everyday-science.yaml", teacher=f"openai:{url}#fake")
        got = taxonomy_expand.suggest("bad", "Physics", n=3)
    assert got.proposals == [] and "malformed JSON after 3 attempt(s)" in got.error
    assert got.raw.count("Sure! Physics has many parts.") == 3 and len(calls) == 3
    with pytest.raises(NotFoundError, match="No taxonomy node 'Nope'"):
        taxonomy_expand.suggest("bad", "Nope")
    with pytest.raises(InvalidInputError, match="1 to 30"):
        taxonomy_expand.suggest("bad", "Physics", n=0)


def test_expand_job_grows_an_empty_tree_level_by_level():
    def script(n, body):
        prompt = body["messages"][0]["content"]
        if "top-level subjects" in prompt:
            return 200, subtopics("Baking", "Grilling"), 0
        if '"Grilling"' in prompt:
            return 200, completion_json("not json at all"), 0  # this node fails: reported, not hidden
        return 200, subtopics("Bread", "Cakes", "Pastry"), 0

    with scripted_server(script) as (url, calls):
        create_project("cook", teacher=f"openai:{url}#fake")
        job = taxonomy_expand.expand_tree("cook", depth=2, n=3)
        final = jobs.wait(job.id, timeout_s=120)
    tree = taxonomy_edit.load("cook")
    assert [leaf for leaf, _, _ in tree.leaves()] == [f"Baking{SEP}Bread", f"Baking{SEP}Cakes",
                                                      f"Baking{SEP}Pastry", "Grilling"]
    assert tree.task_types and tree.difficulty  # a new tree gets default lists
    assert final.status == "done" and (final.done, final.failed, final.total) == (2, 1, 3)
    assert final.result["added"] == 5 and final.result["errors"][0]["path"] == "Grilling"
    assert "not json at all" in final.result["errors"][0]["raw"]
    assert jobs.outcome(final) == "finished with 1 of 3 items failed"


def test_suggest_with_the_bundled_teacher_runs_in_a_worker(bundled_model_dir):
    lumina("project", "create", "sci", "--taxonomy", str(examples_dir() / "everyday-science.yaml"),
           "--teacher", TEACHER, check=True)
    proc = lumina("taxonomy", "suggest", "sci", "--node", "Physics", "--n", "3", "--json")
    job = json.loads(lumina("jobs", "show", "1", "--json", check=True).stdout)
    assert job["kind"] == "expand" and job["status"] == "done", job
    (suggestion,) = job["result"]["suggestions"]
    assert json.loads(proc.stdout) == suggestion
    if suggestion["error"]:  # a 135M teacher may fail; then it says so, with its raw text, and exits 1
        assert proc.returncode == 1 and suggestion["raw"]
    else:
        assert proc.returncode == 0 and 1 <= len(suggestion["proposals"]) <= 3
        existing = {"optics", "thermodynamics", "electricity"}
        assert not {p["name"].lower() for p in suggestion["proposals"]} & existing


def test_an_expansion_too_large_is_refused_before_it_starts():
    create_project("huge", examples_dir() / "everyday-science.yaml", teacher=TEACHER)
    tree = taxonomy_edit.load("huge")
    assert taxonomy_expand.would_add(tree, 3, 4) == 7 * 4  # 7 leaves at depth 2, one level to add
    with pytest.raises(InvalidInputError, match="could add up to .* nodes"):
        taxonomy_expand.expand_tree("huge", depth=8, n=30)
    assert jobs.list_jobs() == []
