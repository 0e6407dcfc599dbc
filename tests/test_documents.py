"""Documents (txt, md, pdf, folders) into passages, and imports from uploaded bytes with bad input."""

import json

import pytest

from lumina.io import documents, importers, uploads
from lumina.errors import InvalidInputError
from lumina.projects import create_project
from lumina.store import connect
from lumina.store import inputs as store_inputs
from lumina.store import projects as store_projects
from tests.helpers import lumina, write_pdf

TEACHER = "transformers:smollm2-135m-instruct"
RIVERS = ("The Nile is about 6,650 kilometres long and flows north into the Mediterranean Sea. "
          "Its two main tributaries, the White Nile and the Blue Nile, meet at Khartoum.\n\n"
          "The Amazon carries more water than any other river. It discharges about 209,000 cubic "
          "metres of water per second into the Atlantic Ocean.\n\n")


def test_chunks_cover_the_text_at_sentence_boundaries_with_overlap():
    text = "\n\n".join(" ".join(f"Fact {p}.{s} is stated in this sentence of paragraph {p}." for s in range(1 + p % 7))
                       for p in range(30))
    doc = documents.Document("facts.txt", "facts.txt", text)
    chunks = documents.chunk(doc, max_chars=500, overlap=120)
    assert len(chunks) > 5 and [c.index for c in chunks] == list(range(len(chunks)))
    covered = set()
    for c in chunks:
        assert text[c.start:c.start + len(c.text)] == c.text  # offsets point into the document
        assert len(c.text) <= 500 or c is chunks[-1]
        assert c.text[0].isupper() and c.text.rstrip()[-1] == "."  # whole sentences
        covered.update(range(c.start, c.start + len(c.text)))
    assert not {i for i, ch in enumerate(text) if not ch.isspace()} - covered  # nothing is lost
    assert any(a.start + len(a.text) > b.start for a, b in zip(chunks, chunks[1:]))  # neighbours overlap
    one_long = documents.chunk(documents.Document("x", "x", "word " * 1000), 300, 0)
    assert all(len(c.text) <= 300 for c in one_long) and len(one_long) >= 15
    with pytest.raises(InvalidInputError, match="too small"):
        documents.chunk(doc, 50)


def test_read_txt_md_pdf_and_folders(tmp_path):
    (tmp_path / "docs" / "sub").mkdir(parents=True)
    (tmp_path / "docs" / "rivers.md").write_text("# Rivers\n\n" + RIVERS, encoding="utf-8")
    write_pdf(tmp_path / "docs" / "sub" / "lakes.pdf", ["Lake Baikal is the deepest lake on Earth.",
                                                         "It holds about 22 percent of the fresh surface water."])
    (tmp_path / "docs" / "notes.txt").write_bytes(b"caf\xe9 au lait")  # latin-1: refused, not guessed
    (tmp_path / "docs" / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (tmp_path / "docs" / "empty.txt").write_text("   \n", encoding="utf-8")
    docs, skipped = documents.collect(tmp_path / "docs")
    assert sorted(d.title for d in docs) == ["rivers.md", "sub/lakes.pdf"]
    pdf = next(d for d in docs if d.title.endswith(".pdf"))
    assert pdf.pages == 2 and "deepest lake" in pdf.text and "22 percent" in pdf.text
    why = "\n".join(skipped)
    assert "notes.txt: " in why and "not UTF-8" in why
    assert "image.png: not a .txt/.md/.pdf file" in why and "empty.txt" in why and "holds no text" in why

    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf")
    with pytest.raises(InvalidInputError, match="broken.pdf (is not a readable PDF|holds no text)"):
        documents.collect(tmp_path / "broken.pdf")
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01\x02binary")
    with pytest.raises(InvalidInputError, match="binary file"):
        documents.collect(tmp_path / "bin.txt")


def test_import_documents_cli_and_what_is_stored(tmp_path):
    (tmp_path / "rivers.md").write_text(RIVERS * 4, encoding="utf-8")
    lumina("project", "create", "geo", "--teacher", TEACHER, check=True)
    out = lumina("import", "geo", str(tmp_path / "rivers.md"), "--as", "documents", "--chunk-chars", "400",
                 check=True).stdout
    assert out.startswith("imported 1 documents (")
    with connect() as con:
        pid = store_projects.get(con, "geo").id
        chunks = store_inputs.list_inputs(con, pid, "chunk")
        (_, doc), = store_inputs.list_inputs(con, pid, "document")
    assert len(chunks) == doc["chunks"] > 1 and doc["title"] == "rivers.md"
    assert all(len(c["text"]) <= 400 and c["title"] == "rivers.md" for _, c in chunks)
    bad = lumina("import", "geo", str(tmp_path / "nothing-here"), "--as", "documents")
    assert bad.returncode == 2 and "No such file or folder" in bad.stderr


def stored(project: str) -> tuple[int, int]:
    with connect() as con:
        pid = store_projects.get(con, project).id
        return (con.execute("SELECT count(*) FROM samples WHERE project_id = ?", [pid]).fetchone()[0],
                con.execute("SELECT count(*) FROM inputs WHERE project_id = ?", [pid]).fetchone()[0])


def test_uploads_import_good_files_and_refuse_bad_ones_without_touching_the_store(tmp_path, lumina_home):
    create_project("up", teacher=TEACHER, check_reachable=False)
    good = "\n".join(json.dumps({"q": f"Question {i}?", "a": f"Answer {i}."}) for i in range(3)).encode()
    r = uploads.import_uploads("up", "samples", [("my data.jsonl", good)], columns={"instruction": "q", "response": "a"})
    assert r.rows == 3 and r.message() == "Imported 3 samples."
    assert stored("up") == (3, 0)
    r = uploads.import_uploads("up", "documents", [("a.md", RIVERS.encode()), ("b.pdf", write_pdf(
        tmp_path / "b.pdf", ["Mount Everest is 8,849 metres high."]).read_bytes())])
    assert r.documents == 2 and r.rows >= 2
    before = stored("up")

    cases = [
        ("samples", [("x.jsonl", good)], {"instruction": "question"}, "no instruction column 'question'"),
        ("samples", [("x.jsonl", b'{"title": "t"}\n')], None, "no instruction/response found"),
        ("seeds", [("x.csv", "question\ncaf\xe9\n".encode("latin-1"))], None, "not UTF-8 text"),
        ("samples", [("x.jsonl", b"")], None, "x.jsonl is empty"),
        ("prompts", [("x.parquet", b"PAR1 not really parquet")], None, "not a readable Parquet file"),
        ("samples", [("x.jsonl", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")], None, "binary file"),
        ("samples", [("x.jsonl", good + b"\n{broken json")], {"instruction": "q", "response": "a"},
         "line 4: not valid JSON"),
        ("seeds", [("a.csv", b"q\nx\n"), ("b.csv", b"q\ny\n")], None, "one seeds file at a time"),
        ("documents", [("x.docx", b"PK\x03\x04")], None, "unsupported document type"),
        ("samples", [("x.xlsx", b"PK\x03\x04")], None, "unsupported file type"),
    ]
    for kind, files, columns, message in cases:
        with pytest.raises(InvalidInputError, match=message):
            uploads.import_uploads("up", kind, files, columns=columns)
    assert stored("up") == before  # nothing half-imported
    assert not any((lumina_home / "uploads").iterdir())  # private copies are always removed


def test_a_200_mb_upload_gets_a_clear_message_and_big_files_stream(tmp_path, lumina_home):
    create_project("big", teacher=TEACHER, check_reachable=False)
    row = json.dumps({"instruction": "Say hi.", "response": "Hi!"}).encode() + b"\n"
    blob = row * (200 * 1024**2 // len(row))
    with pytest.raises(InvalidInputError, match=r"big.jsonl \(200 MB\) exceed the 100 MB limit.*lumina import big"):
        uploads.import_uploads("big", "samples", [("big.jsonl", blob)])
    del blob
    # From a path, a large file streams line by line; a bad byte near its end is found and named.
    path = tmp_path / "large.jsonl"
    with open(path, "wb") as f:
        for _ in range(40):
            f.write(row * 5_000)
        f.write(b'{"instruction": "caf\xe9", "response": "x"}\n')
    with pytest.raises(InvalidInputError, match=r"not UTF-8 text \(invalid byte at line 200001\)"):
        importers.import_file("big", path, "samples")
    assert stored("big") == (0, 0)
    assert not (lumina_home / "uploads").exists() or not any((lumina_home / "uploads").iterdir())


def test_importers_map_upload_errors_to_the_original_name():
    create_project("names", teacher=TEACHER, check_reachable=False)
    with pytest.raises(InvalidInputError) as exc:
        uploads.import_uploads("names", "samples", [("../../etc/evil name.jsonl", b'{"x": 1}\n')])
    assert "evil name.jsonl, row 1" in str(exc.value) and "/uploads/" not in str(exc.value)
    assert importers.KINDS == ("samples", "seeds", "prompts", "documents", "evalset")


def test_cjk_text_is_cut_at_sentence_ends():
    text = "".join(f"这是第{i}句话，讲的是一个很长的故事。" for i in range(60))
    chunks = documents.chunk(documents.Document("zh.txt", "zh.txt", text), max_chars=200, overlap=0)
    assert len(chunks) > 3 and all(c.text.endswith("。") for c in chunks)


def test_imported_provenance_fields_of_any_type_become_text(tmp_path):
    create_project("types", teacher=TEACHER, check_reachable=False)
    f = tmp_path / "mixed.jsonl"
    f.write_text(json.dumps({"instruction": "Add 2 and 3.", "response": "5", "difficulty": 3,
                             "task_type": ["math", "easy"], "node": None}) + "\n", encoding="utf-8")
    assert importers.import_file("types", f, "samples") == 1
    from lumina.projects.samples import list_for

    (s,) = list_for("types")
    assert (s.difficulty, s.task_type, s.node_path) == ("3", '["math", "easy"]', None)


def test_browser_uploads_are_imported_by_a_worker_job(lumina_home):
    """The page hands uploads to an ``import`` job: the web server only checks and stores them."""
    from lumina import jobs
    from lumina.projects.samples import list_for

    create_project("bg", teacher="transformers:smollm2-135m-instruct", check_reachable=False)
    with pytest.raises(InvalidInputError, match="is empty"):
        uploads.submit_uploads("bg", "samples", [("x.jsonl", b"")])
    assert jobs.list_jobs() == [] and not any((lumina_home / "uploads").glob("*/*"))
    good = b'{"instruction": "Why is the sky blue?", "response": "Rayleigh scattering."}\n'
    job = uploads.submit_uploads("bg", "samples", [("../sky.jsonl", good)])
    assert job.kind == "import" and job.params["names"] == ["../sky.jsonl"]
    final = jobs.wait(job.id, timeout_s=120)
    assert final.status == "done" and final.result["message"] == "Imported 1 samples.", (final.error, final.result)
    assert len(list_for("bg")) == 1
    bad = uploads.submit_uploads("bg", "samples", [("bad.jsonl", b"{not json\n")])
    final = jobs.wait(bad.id, timeout_s=120)
    assert final.status == "failed" and "bad.jsonl" in final.error and "uploads/" not in final.error
    assert len(list_for("bg")) == 1
    assert not any((lumina_home / "uploads").glob("*/*"))  # the private copies are gone
