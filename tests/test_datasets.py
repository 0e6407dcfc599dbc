"""Dataset versions: frozen snapshots of approved samples that later reviews never change,
stratified splits, mixing at a ratio, diffs, and exports that `datasets` reads back."""

from __future__ import annotations

import json
from collections import Counter

import datasets as hf
import pytest

from lumina import datasets, review
from lumina.io import importers
from lumina.errors import InvalidInputError, NotFoundError
from lumina.projects import create_project
from tests.helpers import lumina

TOPICS = {
    "Cooking > Baking": ["Why does dough need to rest?", "What does baking powder do?", "Why brush pastry with egg?",
                         "How do I stop a cake sinking?", "Why chill cookie dough?", "What is blind baking?"],
    "Cooking > Knife skills": ["How do I hold a chef's knife?", "What is a julienne cut?",
                               "How often should I hone a knife?", "How do I dice an onion?"],
    "Gardening": ["When should I water tomatoes?", "How deep do I plant garlic?", "What is companion planting?",
                  "How do I make compost?", "Why are my leaves yellow?", "When do I prune roses?",
                  "How do I grow basil indoors?", "What soil suits blueberries?", "How do I stop slugs?",
                  "When to harvest potatoes?"],
}


@pytest.fixture
def proj(tmp_path):
    create_project("ds", teacher="transformers:smollm2-135m-instruct", check_reachable=False)
    rows = [{"instruction": q, "response": f"A careful answer to: {q.lower()} It depends on a few things.",
             "node": node} for node, qs in TOPICS.items() for q in qs]
    f = tmp_path / "rows.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    importers.import_file("ds", f)
    return "ds"


def _general(tmp_path, n: int):
    f = tmp_path / "general.jsonl"
    f.write_text("\n".join(json.dumps({"messages": [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": f"General question {i}?"},
        {"role": "assistant", "content": f"General answer {i}."}]}) for i in range(n))
        + "\n" + json.dumps({"messages": [{"role": "user", "content": "no answer"}]}), encoding="utf-8")
    return f


def test_freeze_is_immutable_and_exact(proj):
    review.decide(proj, range(1, 19), "approve", "ann")
    review.decide(proj, [19, 20], "reject", "ann")
    review.edit(proj, 2, "ann", response="Baking powder releases gas when wet and when heated.")
    v = datasets.freeze(proj, "v1", eval_fraction=0.25, seed=3)
    rows = datasets.version_rows(proj, "v1")
    assert sorted(r.sample_id for r in rows) == list(range(1, 19))
    assert sorted(v.train_ids + v.eval_ids) == list(range(1, 19)) and not set(v.train_ids) & set(v.eval_ids)
    edited = next(r for r in rows if r.sample_id == 2)
    assert edited.messages[-1]["content"] == "Baking powder releases gas when wet and when heated."

    # Stratified: every node is represented in eval about in proportion (18 × 0.25 -> 4 or 5).
    ev = Counter(r.node_path for r in rows if r.split == "eval")
    assert sum(ev.values()) == round(18 * 0.25) and len(ev) == 3

    # Later reviews and edits do not reach the frozen version.
    review.edit(proj, 1, "ann", response="Changed after freezing.")
    review.decide(proj, [3], "reject", "bob")
    again = datasets.version_rows(proj, "v1")
    assert [(r.sample_id, r.messages) for r in again] == [(r.sample_id, r.messages) for r in rows]
    assert datasets.get_version(proj, "v1").content_hash == v.content_hash
    assert v.lineage["reviewers"] == ["ann"] and v.lineage["edited_samples"] == 1

    with pytest.raises(InvalidInputError, match="already exists"):
        datasets.freeze(proj, "v1")
    with pytest.raises(InvalidInputError, match="not a usable version name"):
        datasets.freeze(proj, "../evil")
    with pytest.raises(NotFoundError, match="No dataset version 'v9'.*Versions: v1"):
        datasets.get_version(proj, "v9")

    # Same seed, same approved set -> same split; v2 drops the rejected 3 and has the new edit.
    v2 = datasets.freeze(proj, "v2", eval_fraction=0.25, seed=3)
    d = datasets.diff(proj, "v1", "v2")
    assert d.removed == [3] and d.edited == [1] and d.added == []
    assert v2.content_hash != v.content_hash


def test_freeze_needs_approved_samples(proj):
    with pytest.raises(InvalidInputError, match="no approved samples"):
        datasets.freeze(proj, "v1")


def test_mixing_holds_the_ratio(proj, tmp_path):
    review.decide(proj, range(1, 21), "approve", "ann")
    general = _general(tmp_path, 200)
    v = datasets.freeze(proj, "mix", eval_fraction=0.1, mix=datasets.MixSource(str(general), 0.4))
    rows = datasets.version_rows(proj, "mix")
    train = [r for r in rows if r.split == "train"]
    mixed = [r for r in train if r.origin == "mix"]
    assert len(mixed) / len(train) == pytest.approx(0.4, abs=0.02)
    assert all(r.origin == "project" for r in rows if r.split == "eval")  # eval stays in-domain
    assert mixed[0].messages[0] == {"role": "system", "content": "You are helpful."}
    info = v.lineage["mix"]
    assert info["rows_used"] == len(mixed) and info["rows_available"] == 200 and info["rows_skipped"] == 1
    assert info["sha256"] and info["ratio"] == 0.4

    with pytest.raises(InvalidInputError, match="needs .* general rows, but general.jsonl has 200"):
        datasets.freeze(proj, "too-much", mix=datasets.MixSource(str(general), 0.95))
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"messages": "\xff\xfe not utf-8"}\n')
    with pytest.raises(InvalidInputError):
        datasets.freeze(proj, "broken", mix=datasets.MixSource(str(bad), 0.5))
    with pytest.raises(InvalidInputError, match="above 0 and below 1"):
        datasets.freeze(proj, "zero", mix=datasets.MixSource(str(general), 0.0))
    assert [x.name for x in datasets.list_versions(proj)] == ["mix"]  # failed freezes left nothing

    # A `datasets` folder works as a general source too.
    folder = tmp_path / "general_hf"
    hf.Dataset.from_list([{"prompt": f"Q{i}", "completion": f"A{i}"} for i in range(50)]).save_to_disk(str(folder))
    v3 = datasets.freeze(proj, "mix-hf", mix=datasets.MixSource(str(folder), 0.2))
    assert v3.lineage["mix"]["rows_available"] == 50
    assert v3.lineage["mix"]["rows_used"] / v3.counts["train"] == pytest.approx(0.2, abs=0.03)


def test_exports_read_back(proj, tmp_path):
    review.decide(proj, range(1, 21), "approve", "ann")
    review.edit(proj, 5, "ann", response="Chill the dough so the butter stays solid and cookies spread less.")
    general = _general(tmp_path, 30)
    v = datasets.freeze(proj, "v1", mix=datasets.MixSource(str(general), 0.2))
    n_train, n_eval = v.counts["train"], v.counts["eval"]

    out = datasets.export_version(proj, "v1", "hf", tmp_path / "hf")
    dd = hf.load_from_disk(str(out))
    assert dd["train"].num_rows == n_train and dd["eval"].num_rows == n_eval
    assert "Chill the dough so the butter stays solid and cookies spread less." in [
        m[-1]["content"] for m in list(dd["train"]["messages"]) + list(dd["eval"]["messages"])]

    out = datasets.export_version(proj, "v1", "jsonl", tmp_path / "jsonl")
    js = hf.load_dataset("json", data_files={"train": str(out / "train.jsonl"), "eval": str(out / "eval.jsonl")})
    assert js["train"].num_rows == n_train and js["eval"].num_rows == n_eval
    assert set(js["train"][0]["messages"][0]) == {"role", "content"}
    ids = {r for r in list(js["train"]["id"]) + list(js["eval"]["id"]) if r is not None}
    assert ids == set(range(1, 21))

    out = datasets.export_version(proj, "v1", "parquet", tmp_path / "pq")
    assert hf.load_dataset("parquet", data_files=str(out / "train.parquet"))["train"].num_rows == n_train

    out = datasets.export_version(proj, "v1", "llamafactory", tmp_path / "lf")
    info = json.loads((out / "dataset_info.json").read_text())
    train_entry = info["ds_v1_train"]
    rows = json.loads((out / train_entry["file_name"]).read_text())
    assert len(rows) == n_train and rows[0]["conversations"][0]["from"] == "human"
    assert train_entry["formatting"] == "sharegpt"

    card = (tmp_path / "jsonl" / "README.md").read_text()
    for needle in ("task_categories:", f"| train | {n_train} |", "Cooking > Baking", "ann",
                   "general.jsonl", "transformers:smollm2-135m-instruct", "heuristics.response_words",
                   v.content_hash[:16], "path: train.jsonl"):
        assert needle in card, needle

    with pytest.raises(InvalidInputError, match="Unknown export format"):
        datasets.export_version(proj, "v1", "xml", tmp_path / "x")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InvalidInputError, match="is a file"):
        datasets.export_version(proj, "v1", "jsonl", tmp_path / "afile")


def test_dataset_cli(proj, tmp_path):
    lumina("review", "approve", proj, "--all-matching", "--node", "Gardening", "-r", "ann", check=True)
    r = lumina("dataset", "freeze", proj, "g1", "--eval-fraction", "0.2", "--json", check=True)
    v = json.loads(r.stdout)
    assert v["counts"] == {"train": 8, "eval": 2}
    r = lumina("dataset", "freeze", proj, "g1")
    assert r.returncode == 2 and "already exists" in r.stderr
    lumina("review", "approve", proj, "1", "-r", "ann", check=True)
    lumina("dataset", "freeze", proj, "g2", check=True)
    r = lumina("dataset", "diff", proj, "g1", "g2", "--json", check=True)
    assert json.loads(r.stdout)["added"] == [1]
    r = lumina("dataset", "list", proj, check=True)
    assert "g1" in r.stdout and "g2" in r.stdout
    lumina("dataset", "export", proj, "g2", "--format", "hf", "--out", str(tmp_path / "o"), check=True)
    assert hf.load_from_disk(str(tmp_path / "o"))["train"].num_rows + \
        hf.load_from_disk(str(tmp_path / "o"))["eval"].num_rows == 11
    r = lumina("dataset", "card", proj, "g2", check=True)
    assert "dataset version `g2`" in r.stdout
    r = lumina("dataset", "push", proj, "g2", "me/data", env={"HF_HUB_OFFLINE": "1"})
    assert r.returncode == 2 and "HF_HUB_OFFLINE" in r.stderr


def test_split_preview_is_what_freezing_gives_and_warns_when_far_from_the_asked_share():
    from lumina.datasets.versions import split_preview, stratified_split

    for n in range(0, 30):
        for f in (0.0, 0.05, 0.1, 0.25, 0.5, 0.9):
            p = split_preview(n, f)
            train, evals = stratified_split([(i, f"node{i % 4}") for i in range(n)], f, seed=3)
            assert (p.train, p.eval) == (len(train), len(evals)), (n, f)
    p = split_preview(3, 0.1)
    assert p.summary() == "eval: 1 of 3 rows (33%), train: 2"
    assert "You asked for 10%" in p.warning and "(33%)" in p.warning
    assert split_preview(100, 0.1).warning is None and split_preview(3, 0.0).warning is None
    assert "Nothing is left for training" in split_preview(1, 0.9).warning
    assert "No row is held out" in split_preview(1, 0.1).warning
    with pytest.raises(InvalidInputError, match="eval share"):
        split_preview(3, 1.0)
