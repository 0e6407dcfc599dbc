"""A generation mode is one file plus its templates, and a scorer is one file: a plugin mode and a
plugin scorer, written into a temporary folder (no file of Lumina changes), run end to end
through the real CLI and job workers with the real bundled teacher; and the mode settings of
older stored jobs."""

import json
import os
import textwrap

import pytest

from lumina import jobs
from lumina.config import examples_dir
from lumina.errors import InvalidInputError
from lumina.generate import MODES, get_mode
from lumina.generate.options import fields, parse_assignments
from lumina.generate.params import GenerateParams
from lumina.projects import create_project, get
from tests.helpers import lumina, scripted_server
from tests.test_scorer_plugin import TOY as TOY_SCORER

TEACHER = "transformers:smollm2-135m-instruct"

TOY_MODE = '''
"""Riddles: one per taxonomy leaf, written by the answer teacher in a single call."""

from pathlib import Path
from typing import Literal

from pydantic import Field

from lumina.errors import InvalidInputError
from lumina.generate import MODES
from lumina.generate.base import GenerationMode, ItemOutcome, NoOptions, item_seed
from lumina.records import NewSample
from lumina.taxonomy import tree as tx
from lumina.teachers.base import ChatRequest


class RiddleOptions(NoOptions):
    form: str = Field("a riddle", description="what the teacher writes about each topic")
    words: int = Field(20, ge=5, le=200, description="about how many words it may use")
    tone: Literal["playful", "dry"] = Field("playful", description="how it sounds")
    hints: dict[str, str] = Field(default_factory=dict, description="extra words per topic (JSON)")


class RiddleMode(GenerationMode):
    name = "riddle"
    help = "A riddle about each taxonomy leaf, in one teacher call."
    templates = [("riddle", "ask")]
    inputs = "taxonomy"
    Options = RiddleOptions
    examples = {"riddle/ask": {"topic": "Optics", "form": "a riddle", "words": 20}}
    templates_dir = Path(__file__).parent / "riddle_templates"
    teacher_steps = ("answer",)

    def calls_per_sample(self, params):
        return [params.answer_params.max_tokens]

    def plan(self, project, params, project_nodes):
        leaves = tx.from_store(project.taxonomy, project_nodes).leaves() if project_nodes else []
        if not leaves:
            raise InvalidInputError(f"Project '{project.name}' has no taxonomy to write riddles about.")
        return [(f"{i:07d}", {"topic": leaves[i % len(leaves)][0].rsplit(tx.SEP, 1)[-1],
                              "seed": item_seed(params.seed, i)}) for i in range(params.n)]

    def run_batch(self, ctx, items):
        t = ctx.template("riddle", "ask")
        opts = self.options_of(ctx.params)
        p = ctx.params.answer_params
        asks = [t.render(topic=it.payload["topic"], form=opts.form, words=opts.words) for it in items]
        completions = ctx.answer_teacher.chat([
            ChatRequest([{"role": "user", "content": a}], p.model_copy(update={"seed": it.payload["seed"]}))
            for it, a in zip(items, asks)])
        out = []
        for it, ask, c in zip(items, asks, completions):
            if not c.ok or not c.text.strip():
                out.append(ItemOutcome(it.key, error=f"answer: {c.error or 'empty'}", raw=c.text))
                continue
            out.append(ItemOutcome(it.key, finish_reason=c.finish_reason, sample=NewSample(
                mode=self.name, instruction=ask, response=c.text.strip(),
                messages=[{"role": "user", "content": ask}, {"role": "assistant", "content": c.text.strip()}],
                teacher=ctx.answer_teacher.identity, template=t.ref, seed=it.payload["seed"],
                params={"answer": p.model_dump(exclude={"json_schema"}), **opts.model_dump()},
                raw={"answer": c.text}, source=f"riddle:{it.payload['topic']}", job_id=ctx.job_id,
                item_key=it.key)))
        return out


MODES.register(RiddleMode())
'''


@pytest.fixture
def plugin_env(tmp_path):
    """The riddle mode as a plugin: one module and one template, on PYTHONPATH and LUMINA_PLUGINS."""
    folder = tmp_path / "plugins"
    (folder / "riddle_templates" / "riddle").mkdir(parents=True)
    (folder / "riddle_mode.py").write_text(textwrap.dedent(TOY_MODE), encoding="utf-8")
    (folder / "lumina_toy_scorer.py").write_text(TOY_SCORER, encoding="utf-8")
    (folder / "riddle_templates" / "riddle" / "ask.v1.jinja").write_text(
        "Write {{ form }} about {{ topic }} in at most {{ words }} words. Give only the riddle.\n",
        encoding="utf-8")
    path = os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, "LUMINA_PLUGINS": "riddle_mode,lumina_toy_scorer", "COLUMNS": "200",
            "folder": str(folder)}


def test_a_plugin_mode_runs_end_to_end_through_the_cli(plugin_env, bundled_model_dir):
    env = {k: v for k, v in plugin_env.items() if k != "folder"}
    lumina("project", "create", "toys", "--taxonomy", str(examples_dir() / "everyday-science.yaml"),
           "--teacher", TEACHER, env=env, check=True)

    helptext = lumina("generate", "--help", env=env, check=True).stdout
    assert "riddle: A riddle about each taxonomy leaf" in helptext
    assert "--option words=N (default 20)" in helptext and "max_turns=N" in helptext  # every mode's options
    assert "riddle/ask" in lumina("templates", "list", env=env, check=True).stdout

    bad = lumina("generate", "toys", "--mode", "riddle", "--option", "words=2", env=env)
    assert bad.returncode == 2 and "--option words:" in bad.stderr, bad.stderr
    bad = lumina("generate", "toys", "--mode", "riddle", "--option", "colour=red", env=env)
    assert bad.returncode == 2 and "has no option 'colour'" in bad.stderr, bad.stderr
    dry = lumina("generate", "toys", "--mode", "riddle", "--n", "2", "--answer-tokens", "40", "--dry-run", env=env)
    assert dry.returncode == 0 and "up to 80 tokens" in dry.stdout, dry.stdout + dry.stderr  # one call each

    proc = lumina("generate", "toys", "--mode", "riddle", "--n", "2", "--batch-size", "2",
                  "--option", "form=a short riddle", "--option", "words=12", "--answer-tokens", "40", "--wait",
                  env=env)
    job = json.loads(lumina("jobs", "show", "1", "--json", env=env, check=True).stdout)
    assert job["status"] == "done" and job["total"] == 2, (proc.stderr, job)
    assert proc.returncode == (1 if job["failed"] else 0), proc.stderr
    assert job["params"]["mode"] == "riddle" and job["params"]["options"] == {
        "form": "a short riddle", "words": 12, "tone": "playful", "hints": {}}
    got = [json.loads(line) for line in lumina("samples", "toys", "--json", env=env, check=True).stdout.splitlines()]
    assert len(got) == job["done"] >= 1, job["failures"]
    for r in got:
        assert r["mode"] == "riddle" and r["template"] == "riddle/ask@v1" and r["teacher"] == TEACHER
        assert r["instruction"].startswith("Write a short riddle about ") and r["response"]
        assert r["params"]["words"] == 12 and r["source"].startswith("riddle:")
    shown = lumina("templates", "show", "riddle/ask@v1", env=env, check=True).stdout
    assert "{{ form }}" in shown

    # The plugin scorer grades the plugin mode's samples in its own job.
    scored = lumina("score", "toys", "toy", "-o", "word=the", "--json", env=env)
    assert scored.returncode == 0, scored.stderr
    assert json.loads(scored.stdout)["result"]["scored"] == len(got)
    rows = [json.loads(line) for line in lumina("samples", "toys", "--json", env=env, check=True).stdout.splitlines()]
    for r in rows:
        assert r["scores"]["toy.chars"] == float(len(r["response"])), r["scores"]
        assert ("mentions_the" in r["flags"]) == ("the" in r["response"].lower())

    # Without the plugin its samples stay readable; only running the mode needs it.
    assert len(lumina("samples", "toys", "--json", check=True).stdout.splitlines()) == len(got)
    gone = lumina("generate", "toys", "--mode", "riddle")
    assert gone.returncode == 2 and "Unknown generation mode 'riddle'" in gone.stderr


def test_the_generate_page_renders_a_plugin_modes_options(plugin_env, monkeypatch):
    from tests.test_app import GENERATE, run_page, text_of

    monkeypatch.syspath_prepend(plugin_env["folder"])
    monkeypatch.setenv("LUMINA_PLUGINS", "riddle_mode")
    try:
        create_project("page", examples_dir() / "everyday-science.yaml", teacher="openai:http://127.0.0.1:9/v1#x",
                       check_reachable=False)
        at = run_page("generate")
        at.radio(key="gen_mode").set_value("riddle").run()
        assert not at.exception, at.exception
        assert "riddle (7 taxonomy leaves)" in [str(o) for o in at.radio(key="gen_mode").options]
        assert "A riddle about each taxonomy leaf" in text_of(at) and "riddle/ask@v1" in text_of(at)
        assert at.text_input(key="gen_form").value == "a riddle"
        assert at.number_input(key="gen_words").value == 20 and at.number_input(key="gen_words").max == 200
        assert at.selectbox(key="gen_tone").options == ["playful", "dry"]
        assert "**Instruction step** (not used)" in text_of(at)  # the mode calls the answer teacher only
        assert "at most **3,072** tokens" in text_of(at)  # 8 samples x one 384-token call
        at.text_area(key="gen_hints").input("{not json").run()
        assert any("Hints: not valid JSON." in e.value for e in at.error) and at.button(key=GENERATE).disabled
        at.text_area(key="gen_hints").input('{"Optics": "lens"}').run()
        assert not at.error and not at.button(key=GENERATE).disabled
    finally:
        MODES.unregister("riddle")


LEGACY = {  # a job's params as versions before mode options stored them: every mode's, flat
    "mode": "grounded", "n": 2, "seed": 0, "batch_size": 2, "instruction_teacher": None, "answer_teacher": None,
    "instruction_params": {"max_tokens": 64, "temperature": 1.0, "top_p": 1.0, "seed": None, "json_schema": None,
                           "stop": None},
    "answer_params": {"max_tokens": 128, "temperature": 0.7, "top_p": 1.0, "seed": None, "json_schema": None,
                      "stop": None},
    "retries": 2, "seed_examples": 3, "max_turns": 3, "question_types": ["comparison"], "show_reasoning": False,
    "operations": ["deepen"], "source_ids": None, "source_status": None,
}


def test_stored_flat_mode_settings_fold_into_options():
    p = GenerateParams.model_validate(LEGACY)
    assert p.options == {"question_types": ["comparison"], "show_reasoning": False}
    assert GenerateParams.model_validate(p.model_dump(mode="json")) == p  # the new form round-trips
    evolve = GenerateParams.model_validate({**LEGACY, "mode": "evolve", "source_status": "approved"})
    assert evolve.options == {"operations": ["deepen"], "source_status": "approved", "source_ids": None}
    assert GenerateParams(mode="regenerate", max_turns=2).options == {"max_turns": 2}
    assert GenerateParams(mode="seeded").options == {"seed_examples": 3}  # defaults recorded with the job
    with pytest.raises(ValueError, match="operations"):
        GenerateParams(mode="evolve", options={"operations": ["sideways"]})
    with pytest.raises(ValueError, match="bogus"):
        GenerateParams(mode="taxonomy", options={"bogus": 1})


def test_a_stored_job_with_flat_settings_still_runs(tmp_path):
    from tests.test_modes import RIVERS, grounded_script

    from lumina.io import importers

    (tmp_path / "nile.txt").write_text(RIVERS, encoding="utf-8")
    with scripted_server(grounded_script) as (url, _):
        create_project("old", teacher=f"openai:{url}#fake", check_reachable=False)
        importers.import_documents("old", tmp_path / "nile.txt")
        job = jobs.submit("generate", get("old").id, dict(LEGACY))
        final = jobs.wait(job.id, timeout_s=120)
    assert final.status == "done" and final.done == 2, jobs.log_tail(final)
    from lumina.projects import samples

    got = samples.list_for("old")
    assert {s.task_type for s in got} == {"comparison"}  # its question types, not the defaults
    assert all(s.response == "Answer: Into the Mediterranean." for s in got)  # show_reasoning off


def test_option_assignments_and_fields():
    evolve = get_mode("evolve")
    assert parse_assignments("evolve", evolve.Options, ["operations=deepen,broaden", "source-ids=[1, 2]",
                                                        "source_status=approved"]) == {
        "operations": ["deepen", "broaden"], "source_ids": [1, 2], "source_status": "approved"}
    grounded = get_mode("grounded")
    assert parse_assignments("grounded", grounded.Options, ["show_reasoning=false", 'question_types=["a, b"]']) == {
        "show_reasoning": False, "question_types": ["a, b"]}
    with pytest.raises(InvalidInputError, match="KEY=VALUE"):
        parse_assignments("evolve", evolve.Options, ["operations"])
    kinds = {f.name: (f.kind, f.key) for m in MODES for f in fields(m.Options)}
    assert kinds == {"seed_examples": ("int", "seed_examples"), "max_turns": ("int", "max_turns"),
                     "question_types": ("multi", "qtypes"), "show_reasoning": ("bool", "show_reasoning"),
                     "operations": ("multi", "ops"), "source_status": ("choice", "src_status"),
                     "source_ids": ("int_list", "src_ids")}
    assert MODES.names()[:5] == ["taxonomy", "seeded", "regenerate", "grounded", "evolve"]
