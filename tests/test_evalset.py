"""`import --as evalset`: benchmarks in the shapes other people publish them."""

from __future__ import annotations

import json

import pytest

from lumina.io import importers
from lumina.errors import InvalidInputError, NotFoundError
from lumina.projects import create_project
from tests.helpers import lumina


@pytest.fixture
def proj():
    create_project("ev", teacher="transformers:smollm2-135m-instruct", check_reachable=False)
    return "ev"


def _write(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    return path


def test_shapes(proj, tmp_path):
    mmlu = _write(tmp_path / "mmlu.jsonl", [
        {"question": "Which gas do plants absorb?", "choices": ["Oxygen", "Carbon dioxide", "Helium"], "answer": 1}])
    arc = _write(tmp_path / "arc.jsonl", [
        {"question": "What melts ice fastest?", "choices": {"text": ["Salt", "Sand"], "label": ["A", "B"]},
         "answerKey": "A", "answer": "A"}])
    qa = _write(tmp_path / "qa.jsonl", [{"prompt": "Capital of Peru?", "completion": "Lima"}])
    chat = _write(tmp_path / "chat.jsonl", [{"messages": [{"role": "system", "content": "Be brief."},
                                                          {"role": "user", "content": "2+2?"},
                                                          {"role": "assistant", "content": "4"}]}])
    text = _write(tmp_path / "race.jsonl", [{"text": "A passage-only item without answer."}])
    for f in (mmlu, arc, qa, chat, text):
        assert importers.import_evalset(proj, f) == 1
    item = importers.evalset_items(proj, "mmlu")[0]
    assert item["prompt"][0]["content"].endswith("A. Oxygen\nB. Carbon dioxide\nC. Helium")
    assert item["answer"] == "B. Carbon dioxide" and "Carbon dioxide" in item["text"]
    assert importers.evalset_items(proj, "arc")[0]["answer"] == "A. Salt"
    assert importers.evalset_items(proj, "qa")[0]["answer"] == "Lima"
    c = importers.evalset_items(proj, "chat")[0]
    assert c["prompt"][0] == {"role": "system", "content": "Be brief."} and c["answer"] == "4"
    assert importers.evalset_items(proj, "race")[0]["answer"] is None
    assert importers.evalsets(proj) == {"arc": 1, "chat": 1, "mmlu": 1, "qa": 1, "race": 1}

    with pytest.raises(InvalidInputError, match="already has an eval set named 'qa'"):
        importers.import_evalset(proj, qa)
    _write(qa, [{"prompt": "Capital of Chile?", "completion": "Santiago"}, {"prompt": "x", "completion": "y"}])
    assert importers.import_evalset(proj, qa, replace=True) == 2
    assert importers.evalsets(proj)["qa"] == 2
    with pytest.raises(NotFoundError, match="No eval set 'nope'"):
        importers.evalset_items(proj, "nope")


def test_bad_rows_import_nothing(proj, tmp_path):
    bad = _write(tmp_path / "bad.jsonl", [{"question": "ok?", "answer": "yes"}, {"foo": "bar"}])
    with pytest.raises(InvalidInputError, match="row 2: no question found"):
        importers.import_evalset(proj, bad)
    assert importers.evalsets(proj) == {}


def test_cli(proj, tmp_path):
    f = _write(tmp_path / "gsm.jsonl", [{"question": f"What is {i}+{i}?", "answer": str(2 * i)} for i in range(30)])
    r = lumina("import", proj, str(f), "--as", "evalset", "--name", "gsm-mini", check=True)
    assert "imported 30 eval items" in r.stdout
    r = lumina("import", proj, str(f), "--as", "evalset", "--name", "gsm-mini")
    assert r.returncode == 2 and "already has an eval set" in r.stderr


def test_benchmark_label_conventions(proj, tmp_path):
    arc = _write(tmp_path / "arc_num.jsonl", [
        {"question": "Which is a mammal?", "choices": {"text": ["Shark", "Whale", "Trout"], "label": ["1", "2", "3"]},
         "answerKey": "2"}])
    hella = _write(tmp_path / "hella.jsonl", [
        {"ctx": "A man is slicing bread. He", "endings": ["sings.", "puts the slices on a plate.", "flies."],
         "label": "1"}])
    importers.import_evalset(proj, arc)
    importers.import_evalset(proj, hella)
    assert importers.evalset_items(proj, "arc_num")[0]["answer"] == "B. Whale"
    h = importers.evalset_items(proj, "hella")[0]
    assert h["answer"] == "B. puts the slices on a plate." and h["prompt"][0]["content"].startswith("A man is slicing")
