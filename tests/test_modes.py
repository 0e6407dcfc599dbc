"""Seeded and regenerate modes, from imported files, with the real bundled teacher."""

import json

import pytest

from lumina.io import importers
from lumina.errors import InvalidInputError
from lumina.generate.base import ModeContext
from lumina.generate.launch import start_generation
from lumina.generate.novelty import CopyDetector, normalise
from lumina.generate.params import GenerateParams
from lumina.generate.modes.grounded import QUESTION_TYPES
from lumina.generate.modes.seeded import SeededMode
from lumina.projects import create_project, get
from lumina.records import JobItem
from lumina.store import connect
from lumina.store import inputs as store_inputs
from lumina.teachers import Completion
from lumina.teachers.cached import CachedTeacher
from tests.helpers import completion_json, lumina, scripted_server

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


RIVERS = ("The Nile is about 6,650 kilometres long and flows north into the Mediterranean Sea. Its two main "
          "tributaries, the White Nile and the Blue Nile, meet at Khartoum in Sudan.\n\n"
          "The Amazon carries more water than any other river. It discharges about 209,000 cubic metres of "
          "water per second into the Atlantic Ocean.\n")


def test_grounded_mode_from_imported_documents(tmp_path, bundled_model_dir):
    from tests.helpers import write_pdf

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "rivers.md").write_text(RIVERS, encoding="utf-8")
    write_pdf(tmp_path / "docs" / "lakes.pdf", ["Lake Baikal in Siberia is the deepest lake on Earth,\n"
                                                 "reaching 1,642 metres at its deepest point."])
    lumina("project", "create", "geo", "--teacher", TEACHER, check=True)
    assert "imported 2 documents (2 passages)" in lumina("import", "geo", str(tmp_path / "docs"), "--as",
                                                         "documents", check=True).stdout
    proc = lumina("generate", "geo", "--mode", "grounded", "--n", "3", "--batch-size", "3",
                  "--instruction-tokens", "64", "--answer-tokens", "200", "--wait")
    job = json.loads(lumina("jobs", "show", "1", "--json", check=True).stdout)
    got = rows(lumina("samples", "geo", "--json", check=True).stdout)
    assert job["status"] == "done" and job["total"] == 3 and len(got) == job["done"] >= 1, job["failures"]
    assert proc.returncode == (1 if job["failed"] else 0)
    for r in got:
        assert r["mode"] == "grounded" and r["source"].startswith("document:")
        assert r["context"] in (RIVERS.strip(), "Lake Baikal in Siberia is the deepest lake on Earth,\n"
                                                 "reaching 1,642 metres at its deepest point.")
        user, answer = r["messages"][0]["content"], r["messages"][1]["content"]
        assert user.startswith(r["context"]) and user.endswith(r["instruction"])  # passage, then question
        assert "Answer:" in answer and r["task_type"] in QUESTION_TYPES
        assert ("uncited" in r["flags"]) == (not r["raw"]["citation_found"])
        assert "heuristics.context_overlap" in r["scores"]
        assert r["template"] == "grounded/question@v1,grounded/answer@v1,grounded/user@v1,grounded/response@v1"


def test_evolve_mode_from_imported_samples(tmp_path, bundled_model_dir):
    f = tmp_path / "samples.jsonl"
    f.write_text("\n".join(json.dumps({"instruction": s["question"], "response": s["answer"]}) for s in SEEDS),
                 encoding="utf-8")
    lumina("project", "create", "evo", "--teacher", TEACHER, check=True)
    lumina("import", "evo", str(f), check=True)
    bad = lumina("generate", "evo", "--mode", "evolve", "--from-ids", "1,99")
    assert bad.returncode == 2 and "Samples 99 are not in project 'evo'" in bad.stderr
    proc = lumina("generate", "evo", "--mode", "evolve", "--n", "4", "--batch-size", "4", "--from-ids", "1,2",
                  "--operations", "deepen,constraints", "--answer-tokens", "96", "--wait")
    job = json.loads(lumina("jobs", "show", "1", "--json", check=True).stdout)
    assert job["status"] == "done" and job["total"] == 4 and proc.returncode == (1 if job["failed"] else 0)
    evolved = [r for r in rows(lumina("samples", "evo", "--json", check=True).stdout) if r["mode"] == "evolve"]
    assert len(evolved) == job["done"]
    parents = {r["id"]: r for r in rows(lumina("samples", "evo", "--json", check=True).stdout) if r["mode"] == "import"}
    for r in evolved:
        assert r["parent_id"] in (1, 2) and r["source"].split(":")[1] in ("deepen", "constraints")
        assert normalise(r["instruction"]) != normalise(parents[r["parent_id"]]["instruction"])
        assert r["template"] == "evolve/instruction@v1"
    for fail in job["failures"]:  # a dropped evolution says why and keeps the teacher's text
        assert fail["error"].startswith(("dropped, ", "instruction: ", "answer: ")) and fail["raw"]


def test_evolution_checks():
    from lumina.generate.modes.evolve import answer_dropped, why_dropped

    parent = "Explain how photosynthesis works."
    assert why_dropped(parent, "explain how Photosynthesis works!").startswith("unchanged")
    assert why_dropped(parent, "I'm sorry, but I can't rewrite that instruction.").startswith("refused")
    assert why_dropped(parent, "Photosynthesis?").startswith("degenerate")
    assert why_dropped(parent, "#Rewritten Prompt#: explain photosynthesis deeply").startswith("degenerate")
    assert why_dropped(parent, "word " * 200).startswith("degenerate")
    assert why_dropped(parent, "Explain how the light-dependent reactions of photosynthesis make ATP, "
                               "and why the Calvin cycle stalls in the dark.") is None
    assert answer_dropped("I'm sorry, but I can't help with that.").startswith("refused")
    assert answer_dropped("... ? !") is not None and answer_dropped("Plants make sugar from light.") is None


def test_citation_check():
    from lumina.generate.modes.grounded import cited

    passage = "The Nile is about 6,650 kilometres long and flows north into the Mediterranean Sea."
    assert cited("about 6,650 kilometres long", passage)
    assert cited("The Nile is about 6650 kilometres long and flows north", passage) is False  # a number changed
    assert cited("the nile is about 6,650 kilometres long, and flows north into the mediterranean", passage)
    assert not cited("The Amazon is the longest river", passage) and not cited("", passage)


def grounded_script(n, body):
    """A teacher that writes a question, then an answer citing the passage or not (by seed)."""
    schema = json.dumps(body["response_format"])
    if '"evidence"' in schema:
        quote = "flows north into the Mediterranean" if body["seed"] % 2 == 0 else "it is made of cheese"
        return 200, completion_json(json.dumps({"reasoning": "The passage says where it flows.",
                                                "evidence": quote, "answer": "Into the Mediterranean."})), 0
    return 200, completion_json(json.dumps({"question": "Into which sea does the Nile flow?"})), 0


def test_grounded_citations_are_checked_and_flagged(tmp_path):
    (tmp_path / "nile.txt").write_text(RIVERS, encoding="utf-8")
    with scripted_server(grounded_script) as (url, calls):
        create_project("cite", teacher=f"openai:{url}#fake", check_reachable=False)
        importers.import_documents("cite", tmp_path / "nile.txt")
        proc = lumina("generate", "cite", "--mode", "grounded", "--n", "2", "--batch-size", "2", "--wait",
                      "--no-reasoning")
        assert proc.returncode == 0, proc.stderr
    got = sorted(rows(lumina("samples", "cite", "--json", check=True).stdout), key=lambda r: r["seed"])
    assert [("uncited" in r["flags"]) for r in got] == [False, True]
    assert got[0]["response"] == "Answer: Into the Mediterranean."  # --no-reasoning: the answer alone
    assert got[0]["reasoning"] == "The passage says where it flows."  # still kept apart


def test_plans_rotate_question_types_and_operations_over_rounds(tmp_path):
    from lumina.generate.modes.evolve import EvolveMode
    from lumina.generate.modes.grounded import GroundedMode
    from lumina.generate.modes.evolve import EVOLVE_OPERATIONS

    create_project("rot", teacher=TEACHER, check_reachable=False)
    with connect() as con:
        pid = get("rot").id
        store_inputs.add(con, pid, "chunk", None, [{"title": "t", "index": i, "start": 0, "text": f"p{i}"}
                                                   for i in range(4)])
    plan = GroundedMode().plan(get("rot"), GenerateParams(mode="grounded", n=20), [])
    per_chunk: dict = {}
    for _, item in plan:
        per_chunk.setdefault(item["chunk_id"], []).append(item["question_type"])
    assert all(sorted(t) == sorted(QUESTION_TYPES) for t in per_chunk.values())  # each passage, every kind
    f = tmp_path / "parents.jsonl"
    f.write_text("\n".join(json.dumps({"instruction": f"Task {i}?", "response": "ok"}) for i in range(3)))
    importers.import_file("rot", f, "samples")
    plan = EvolveMode().plan(get("rot"), GenerateParams(mode="evolve", n=15), [])
    per_parent: dict = {}
    for _, item in plan:
        per_parent.setdefault(item["parent_id"], []).append(item["operation"])
    assert all(sorted(o) == sorted(EVOLVE_OPERATIONS) for o in per_parent.values())
