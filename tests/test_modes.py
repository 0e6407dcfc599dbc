"""Seeded and regenerate modes, from imported files, with the real bundled teacher."""

import json

import pytest

from lumina import importers
from lumina.errors import InvalidInputError
from lumina.generate.base import ModeContext
from lumina.generate.launch import start_generation
from lumina.generate.novelty import CopyDetector, normalise
from lumina.generate.params import GenerateParams
from lumina.generate.seeded_mode import SeededMode
from lumina.projects import create_project, get
from lumina.records import JobItem
from lumina.teachers import Completion
from lumina.teachers.cached import CachedTeacher
from tests.helpers import lumina

TEACHER = "transformers:smollm2-135m-instruct"
SEEDS = [
    {"question": "What is the capital of Australia?", "answer": "Canberra."},
    {"question": "Who wrote the novel Pride and Prejudice?", "answer": "Jane Austen."},
    {"question": "What is the chemical symbol for gold?", "answer": "Au."},
    {"question": "How many planets are in the Solar System?", "answer": "Eight."},
    {"question": "Which ocean is the largest on Earth?", "answer": "The Pacific Ocean."},
]


def rows(stdout):
    return [json.loads(line) for line in stdout.splitlines()]


def test_copy_detector():
    d = CopyDetector([s["question"] for s in SEEDS])
    assert d.copied_from("what is the capital of australia") == SEEDS[0]["question"]
    assert d.copied_from("Who wrote the novel Pride and Prejudice, please?") == SEEDS[1]["question"]
    assert d.copied_from("Which river is the longest in South America?") is None
    assert normalise("  Hello,   WORLD! ") == "hello world"


def test_seeded_mode_from_an_imported_file(tmp_path, bundled_model_dir):
    f = tmp_path / "trivia.jsonl"
    f.write_text("\n".join(json.dumps(s) for s in SEEDS), encoding="utf-8")
    lumina("project", "create", "trivia", "--teacher", TEACHER, check=True)
    assert "imported 5 seeds" in lumina("import", "trivia", str(f), "--as", "seeds", check=True).stdout
    proc = lumina("generate", "trivia", "--mode", "seeded", "--n", "3", "--batch-size", "3", "--wait")
    assert proc.returncode in (0, 1), proc.stderr
    job = json.loads(lumina("jobs", "show", "1", "--json", check=True).stdout)
    got = rows(lumina("samples", "trivia", "--json", check=True).stdout)
    assert job["status"] == "done" and job["total"] == 3 and len(got) == job["done"] >= 1
    seeds = {normalise(s["question"]) for s in SEEDS}
    for r in got:
        assert r["mode"] == "seeded" and r["source"].startswith("seeds:")
        assert normalise(r["instruction"]) not in seeds  # never a verbatim seed
        assert r["template"] == "seeded/instruction@v1,seeded/answer@v1"
        assert r["params"]["instruction"]["temperature"] == 1.0  # LuminaSFT's diversity default


def test_regenerate_multi_turn_from_jsonl_and_csv(tmp_path, bundled_model_dir):
    chat = {"messages": [
        {"role": "user", "content": "Name a primary colour."},
        {"role": "assistant", "content": "ORIGINAL ANSWER ONE"},
        {"role": "user", "content": "Now name another one."},
        {"role": "assistant", "content": "ORIGINAL ANSWER TWO"},
        {"role": "user", "content": "And a third?"},
    ]}
    (tmp_path / "chats.jsonl").write_text(json.dumps(chat) + "\n", encoding="utf-8")
    (tmp_path / "prompts.csv").write_text("prompt\nWhat is 2 + 2?\n", encoding="utf-8")
    lumina("project", "create", "regen", "--teacher", TEACHER, check=True)
    lumina("import", "regen", str(tmp_path / "chats.jsonl"), "--as", "prompts", check=True)
    lumina("import", "regen", str(tmp_path / "prompts.csv"), "--as", "prompts", check=True)
    proc = lumina("generate", "regen", "--mode", "regenerate", "--n", "10", "--max-turns", "2", "--wait")
    got = {r["instruction"]: r for r in rows(lumina("samples", "regen", "--json", check=True).stdout)}
    job = json.loads(lumina("jobs", "show", "1", "--json", check=True).stdout)
    assert job["total"] == 2 and proc.returncode == (1 if job["failed"] else 0)
    multi = got.get("Name a primary colour.")
    if multi:  # a 135M teacher may fail a turn; then it is a counted failure, checked below
        roles = [m["role"] for m in multi["messages"]]
        assert roles == ["user", "assistant", "user", "assistant"]  # capped at 2 turns
        assert "ORIGINAL ANSWER" not in json.dumps(multi["messages"])
        assert multi["mode"] == "regenerate" and len(multi["raw"]["answers"]) == 2
    assert len(got) == job["done"] and job["done"] + job["failed"] == 2


def test_missing_inputs_fail_before_a_worker_starts():
    create_project("empty", teacher=TEACHER, check_reachable=False)
    for mode, needle in (("seeded", "no seed tasks"), ("regenerate", "no prompts"), ("taxonomy", "no taxonomy")):
        with pytest.raises(InvalidInputError, match=needle):
            start_generation("empty", GenerateParams(mode=mode, n=2))


def test_bad_seed_and_prompt_files(tmp_path):
    create_project("bad", teacher=TEACHER, check_reachable=False)
    (tmp_path / "s.jsonl").write_text('{"title": "no instruction here"}\n', encoding="utf-8")
    with pytest.raises(InvalidInputError, match="no instruction found"):
        importers.import_file("bad", tmp_path / "s.jsonl", "seeds")
    (tmp_path / "p.jsonl").write_text('{"messages": [{"role": "assistant", "content": "hi"}]}\n', encoding="utf-8")
    with pytest.raises(InvalidInputError, match="no user turn"):
        importers.import_file("bad", tmp_path / "p.jsonl", "prompts")
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    with pytest.raises(InvalidInputError):
        importers.import_file("bad", tmp_path / "empty.csv", "seeds")


class Copier:
    """A scripted teacher that copies the first seed ``copies`` times, then writes something new."""

    backend, model = "scripted", "copier"

    def __init__(self, copies):
        self.copies = copies
        self.calls = 0

    def chat(self, requests):
        if requests[0].params.json_schema is None:
            return [Completion(text="An answer.", finish_reason="stop") for _ in requests]
        self.calls += 1
        # Upper-cased with a '?' dropped: still a copy after normalisation.
        text = SEEDS[0]["question"].upper().rstrip("?") if self.calls <= self.copies else "Which desert is the largest in Asia?"
        return [Completion(text=json.dumps({"instruction": text}), finish_reason="stop") for _ in requests]

    def close(self):
        pass


@pytest.mark.parametrize("copies", [1, 99])
def test_a_copied_seed_is_asked_again_and_never_stored(tmp_path, copies):
    create_project("copy", teacher=TEACHER, check_reachable=False)
    f = tmp_path / "seeds.csv"
    f.write_text("question\n" + "\n".join(s["question"] for s in SEEDS), encoding="utf-8")
    importers.import_file("copy", f, "seeds")
    project = get("copy")
    params = GenerateParams(mode="seeded", n=1)
    mode = SeededMode()
    [(key, payload)] = mode.plan(project, params, [])
    teacher = CachedTeacher(Copier(copies), "scripted:copier")
    ctx = ModeContext(project=project, params=params, instruction_teacher=teacher,
                      answer_teacher=teacher, job_id=0)
    item = JobItem(0, key, 0, payload, "pending", 0, None, None, None)
    [outcome] = mode.run_batch(ctx, [item])
    if copies == 1:  # refused once, asked again with a new seed, accepted
        assert outcome.sample and outcome.sample.instruction == "Which desert is the largest in Asia?"
    else:  # always copies: a recorded failure with the raw text, never a sample
        assert outcome.sample is None and "copies the seed task" in outcome.error
        assert "CAPITAL OF AUSTRALIA" in outcome.raw
