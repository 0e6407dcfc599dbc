"""A generated sample's sampling parameters carry the seed its teacher calls were sent, the one
its provenance shows: per mode in process, through a real worker, and on the Samples page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lumina.generate import get_mode
from lumina.generate.base import ModeContext
from lumina.generate.params import GenerateParams
from lumina.io import importers
from lumina.projects import create_project, get, samples
from lumina.records import JobItem, NewSample
from lumina.store import connect, transaction
from lumina.store import projects as store_projects
from lumina.teachers import Completion
from lumina.teachers.cached import CachedTeacher
from tests.helpers import completion_json, lumina, scripted_server

EXAMPLE = Path(__file__).resolve().parent.parent / "data" / "examples" / "everyday-science.yaml"
TEACHER = "transformers:smollm2-135m-instruct"
QUESTION = "Into which sea does the Nile flow after Khartoum?"
ANSWER = "Sunlight is scattered by the air, and blue light is scattered the most of all colours."
PASSAGE = "The Nile is about 6,650 kilometres long and flows north into the Mediterranean Sea."


class SeedRecorder:
    """A scripted teacher answering any schema the modes ask for; it records every seed sent."""

    backend, model = "scripted", "seeds"

    def __init__(self):
        self.seeds: list[tuple[str, int | None]] = []  # (what was asked, seed)

    def chat(self, requests):
        out = []
        for r in requests:
            props = (r.params.json_schema or {}).get("properties", {})
            if "evidence" in props:
                kind, text = "answer", json.dumps({"reasoning": "The passage says so.",
                                                   "evidence": "flows north into the Mediterranean",
                                                   "answer": "Into the Mediterranean Sea."})
            elif "question" in props:
                kind, text = "instruction", json.dumps({"question": QUESTION})
            elif "instruction" in props:
                kind, text = "instruction", json.dumps(
                    {"instruction": f"Explain, step by step, why the daytime sky looks blue (take {len(self.seeds)})."})
            else:
                kind, text = "answer", ANSWER
            self.seeds.append((kind, r.params.seed))
            out.append(Completion(text=text, finish_reason="stop"))
        return out

    def close(self):
        pass


def _inputs(tmp_path: Path, name: str, mode: str) -> None:
    if mode == "seeded":
        (tmp_path / "seeds.csv").write_text("question\nWhat is the capital of Australia?\nWho wrote Emma?\n",
                                            encoding="utf-8")
        importers.import_file(name, tmp_path / "seeds.csv", "seeds")
    elif mode == "regenerate":
        (tmp_path / "prompts.csv").write_text("prompt\nWhat is 2 + 2?\nName a primary colour.\n",
                                              encoding="utf-8")
        importers.import_file(name, tmp_path / "prompts.csv", "prompts")
    elif mode == "grounded":
        (tmp_path / "nile.txt").write_text(PASSAGE, encoding="utf-8")
        importers.import_documents(name, tmp_path / "nile.txt")
    elif mode == "evolve":
        (tmp_path / "s.jsonl").write_text(json.dumps({"instruction": "What is photosynthesis?",
                                                      "response": "Plants turning light into sugar."}),
                                          encoding="utf-8")
        importers.import_file(name, tmp_path / "s.jsonl")


def _generate(tmp_path: Path, mode: str, n: int = 2, seed: int = 40) -> tuple[list[NewSample], SeedRecorder]:
    create_project(mode, teacher=TEACHER, check_reachable=False,
                   taxonomy_file=EXAMPLE if mode == "taxonomy" else None)
    _inputs(tmp_path, mode, mode)
    project = get(mode)
    with connect() as con:
        nodes = store_projects.nodes(con, project.id)
    params = GenerateParams(mode=mode, n=n, seed=seed)
    m = get_mode(mode)
    planned = m.plan(project, params, nodes)
    recorder = SeedRecorder()
    teacher = CachedTeacher(recorder, "scripted:seeds")
    ctx = ModeContext(project=project, params=params, instruction_teacher=teacher, answer_teacher=teacher,
                      job_id=1)
    items = [JobItem(1, key, i, payload, "pending", 0, None, None, None) for i, (key, payload) in enumerate(planned)]
    outcomes = m.run_batch(ctx, items)
    made = [o.sample for o in outcomes if o.sample is not None]
    assert len(made) == n, [o.error for o in outcomes]
    return made, recorder


def _param_seeds(params: dict) -> dict[str, int | None]:
    """The seed of every teacher step in a sample's params ({"answer": {...}, "instruction": {...}})."""
    return {step: v["seed"] for step, v in params.items() if isinstance(v, dict) and "seed" in v}


@pytest.mark.parametrize("mode", ["taxonomy", "seeded", "regenerate", "grounded", "evolve"])
def test_params_carry_the_item_seed_the_teacher_was_sent(tmp_path, mode):
    made, recorder = _generate(tmp_path, mode)
    answer_seeds = {seed for kind, seed in recorder.seeds if kind == "answer"}
    assert len({s.seed for s in made}) == len(made)  # one seed per item
    for s in made:
        seeds = _param_seeds(s.params)
        assert seeds and set(seeds.values()) == {s.seed}, (mode, s.params, s.seed)
        assert s.seed in answer_seeds  # the very seed the answer was asked with
        expected_steps = {"answer"} if mode == "regenerate" else {"answer", "instruction"}
        assert set(seeds) == expected_steps


def test_a_worker_stores_the_seed_in_params_and_the_samples_page_shows_it(tmp_path):
    sent: list[int] = []

    def script(n, body):
        sent.append(body.get("seed"))
        if "response_format" in body:
            return 200, completion_json(json.dumps({"instruction": f"Explain why the sky is blue, case {n}."})), 0
        return 200, completion_json(ANSWER), 0

    with scripted_server(script) as (url, _):
        create_project("science", taxonomy_file=EXAMPLE, teacher=f"openai:{url}#fake", check_reachable=False)
        proc = lumina("generate", "science", "--n", "2", "--batch-size", "2", "--seed", "5", "--wait")
        assert proc.returncode == 0, proc.stderr
    stored = samples.list_for("science")
    assert len(stored) == 2
    for s in stored:
        assert _param_seeds(s.params) == {"answer": s.seed, "instruction": s.seed}
        assert s.seed is not None and s.seed in sent

    # Provenance and the "Sampling parameters" expander agree on the page, also for a sample
    # written before the params kept the seed (a job-wide null there).
    with connect() as con, transaction(con):
        old = samples.write(con, get("science").id, NewSample(
            mode="taxonomy", instruction="Why do leaves change colour?", response=ANSWER,
            messages=[{"role": "user", "content": "Why do leaves change colour?"},
                      {"role": "assistant", "content": ANSWER}],
            teacher="openai:x#fake", seed=2, job_id=1, item_key="legacy",
            params={"answer": {"max_tokens": 64, "seed": None}, "instruction": {"seed": None}}))
    from tests.test_app import run_page

    def shown(at) -> tuple[dict, dict]:
        assert not at.exception, at.exception
        provenance = next(d.value for d in at.dataframe if "field" in d.value.columns)
        return dict(zip(provenance["field"], provenance["value"])), json.loads(at.json[0].value)

    at = run_page("samples")
    fields, params = shown(at)  # the first sample: a worker's
    assert fields["seed"] == str(stored[0].seed)
    assert _param_seeds(params) == {"answer": stored[0].seed, "instruction": stored[0].seed}
    at.text_input(key="samples_search").input("leaves change colour").run()
    fields, params = shown(at)
    assert fields["item"] == "legacy" and fields["seed"] == "2"
    assert _param_seeds(params) == {"answer": 2, "instruction": 2} and params["answer"]["max_tokens"] == 64
    assert samples.list_for("science")[-1].params["answer"]["seed"] is None  # shown, never rewritten
    assert old == samples.list_for("science")[-1].id
