"""Import other people's files and export in trainer formats, read back by `datasets`."""

import json

import datasets
import pandas as pd
import pytest

from lumina.io import formats as exporter
from lumina.io import importers
from lumina import projects
from lumina.errors import InvalidInputError, NotFoundError
from lumina.projects.samples import count_for, list_for


@pytest.fixture
def project():
    return projects.create_project("p", teacher="transformers:smollm2-135m-instruct", check_reachable=False)


def test_jsonl_with_messages_and_sharegpt(tmp_path, project):
    f = tmp_path / "chats.jsonl"
    rows = [
        {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2+2?"},
                      {"role": "assistant", "content": "4."}]},
        {"conversations": [{"from": "human", "value": "Name a prime."}, {"from": "gpt", "value": "7."}]},
    ]
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    assert importers.import_file("p", f) == 2
    got = list_for("p")
    assert [s.instruction for s in got] == ["What is 2+2?", "Name a prime."]
    assert got[0].messages[0] == {"role": "system", "content": "Be brief."}
    assert got[0].mode == "import" and got[0].source.endswith("chats.jsonl")
    assert "heuristics.response_words" in got[0].scores


def test_csv_parquet_and_datasets_folder(tmp_path, project):
    df = pd.DataFrame({"Question": ["Why is the sky blue?", "What is DNA?"],
                       "Answer": ["Rayleigh scattering.", "A molecule carrying genetic information."]})
    df.to_csv(tmp_path / "qa.csv", index=False)
    df.rename(columns={"Question": "prompt", "Answer": "completion"}).to_parquet(tmp_path / "qa.parquet")
    datasets.Dataset.from_pandas(df.rename(columns={"Question": "instruction", "Answer": "output"})).save_to_disk(
        str(tmp_path / "hf"))
    for path in ("qa.csv", "qa.parquet", "hf"):
        assert importers.import_file("p", tmp_path / path) == 2
    assert count_for("p") == 6
    assert {s.response for s in list_for("p")} == set(df["Answer"])


@pytest.mark.parametrize("content,needle", [
    (b'{"instruction": "a", "response": "b"}\n{"instruction": oops}\n', "line 3: not valid JSON"),
    ('{"instruction": "caf\xe9", "response": "b"}\n'.encode("latin-1"), "not UTF-8"),
    (b'{"title": "x", "body": "y"}\n', "no instruction/response found"),
    (b'[1, 2]\n', "expected a JSON object"),
])
def test_bad_files_are_explained_and_nothing_is_half_imported(tmp_path, project, content, needle):
    f = tmp_path / "bad.jsonl"
    f.write_bytes(b'{"instruction": "fine row", "response": "ok"}\n' + content)
    with pytest.raises(InvalidInputError) as exc:
        importers.import_file("p", f)
    assert needle in str(exc.value)
    assert count_for("p") == 0


def test_missing_file_and_unknown_type(tmp_path, project):
    with pytest.raises(NotFoundError):
        importers.import_file("p", tmp_path / "nope.jsonl")
    (tmp_path / "x.docx").write_bytes(b"PK")
    with pytest.raises(InvalidInputError, match="unsupported file type"):
        importers.import_file("p", tmp_path / "x.docx")


def test_exports_are_readable_by_datasets(tmp_path, project):
    f = tmp_path / "in.jsonl"
    f.write_text("\n".join(json.dumps({"instruction": f"Question {i}?", "response": f"Answer {i}."})
                           for i in range(5)), encoding="utf-8")
    importers.import_file("p", f)
    samples = list_for("p")
    exporter.export(samples, "jsonl", tmp_path / "o.jsonl")
    exporter.export(samples, "parquet", tmp_path / "o.parquet")
    exporter.export(samples, "hf", tmp_path / "o_hf")
    exporter.export(samples, "llamafactory", tmp_path / "o_lf", name="p")
    a = datasets.load_dataset("json", data_files=str(tmp_path / "o.jsonl"), split="train")
    b = datasets.load_dataset("parquet", data_files=str(tmp_path / "o.parquet"), split="train")
    c = datasets.load_from_disk(str(tmp_path / "o_hf"))
    for ds in (a, b, c):
        assert len(ds) == 5
        assert ds[0]["messages"] == [{"role": "user", "content": "Question 0?"},
                                     {"role": "assistant", "content": "Answer 0."}]
    info = json.loads((tmp_path / "o_lf" / "dataset_info.json").read_text())
    data = json.loads((tmp_path / "o_lf" / info["p"]["file_name"]).read_text())
    assert info["p"]["formatting"] == "sharegpt" and data[4]["conversations"][1]["value"] == "Answer 4."
