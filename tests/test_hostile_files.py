"""Every file input surface against the hostile corpus (tests/data/hostile/make_corpus.py).

Each case either imports cleanly (the input is valid: a BOM, CRLF...) or fails with a one-line
InvalidInputError that says why, leaving the project's stored data as it was, in bounded time.
The bombs run in a child process so their peak memory can be measured on its own.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lumina.errors import InvalidInputError
from lumina.projects import create_project
from lumina.store import connect
from tests.data.hostile import make_corpus as corpus

REPO = Path(__file__).resolve().parent.parent
TEACHER = "transformers:smollm2-135m-instruct"
MAX_RSS_MB = 1024
BY_NAME = {c.name: c for c in corpus.SPECS}


def test_the_corpus_covers_every_file_surface():
    assert len(corpus.SPECS) >= 40
    surfaces = {c.surface for c in corpus.SPECS}
    assert {"samples", "seeds", "prompts", "documents", "taxonomy", "outline", "upload"} <= surfaces
    names = " ".join(BY_NAME)
    for kind in ("jsonl_", "json_", "csv_", "tsv_", "parquet_", "hf_", "yaml_", "outline_", "pdf_", "txt_", "md_",
                 "docs_", "upload_"):
        assert kind in names


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", [c.name for c in corpus.SPECS if not c.bomb])
def test_hostile_case(name, tmp_path, lumina_home):
    if BY_NAME[name].known_issue:
        pytest.skip(BY_NAME[name].known_issue)
    (case,) = corpus.build(tmp_path / "corpus", only=[name])
    create_project("h", teacher=TEACHER, check_reachable=False)
    before = corpus.stored("h")
    if case.expect is None:
        got = corpus.run(case, "h")
        assert corpus.stored("h") != before  # something landed
        if case.skipped:
            assert any(re.search(case.skipped, s) for s in got.skipped), got.skipped
        return
    with pytest.raises(InvalidInputError) as exc:
        corpus.run(case, "h")
    message = str(exc.value)
    assert re.search(case.expect, message), message
    assert "\n" not in message and len(message) < 600
    assert corpus.stored("h") == before  # nothing half-imported
    assert not (lumina_home / "uploads").exists() or not any((lumina_home / "uploads").iterdir())


@pytest.mark.timeout(240)
@pytest.mark.parametrize("name", [c.name for c in corpus.SPECS if c.bomb])
def test_bombs_are_refused_in_bounded_time_and_memory(name, tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "tests/data/hostile/make_corpus.py"), str(tmp_path), "--run", name],
                          capture_output=True, text=True, timeout=200, cwd=REPO,
                          env={**os.environ, "LUMINA_HOME": str(tmp_path / "home")})
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    print(got)
    assert got["outcome"] == "InvalidInputError" and re.search(BY_NAME[name].expect, got["message"]), got
    assert got["unchanged"], got
    assert got["seconds"] < 30, got
    assert got["peak_rss_mb"] < MAX_RSS_MB, got


def test_uploads_never_write_outside_their_private_folder(tmp_path, lumina_home):
    create_project("h", teacher=TEACHER, check_reachable=False)
    for name in ("upload_dotdot_name", "upload_long_name", "upload_nul_in_name"):
        (case,) = corpus.build(tmp_path / "corpus", only=[name])
        assert corpus.run(case, "h").rows == 2
    assert not Path("/tmp/evil.jsonl").exists() and not list(tmp_path.parent.rglob("evil.jsonl"))
    assert not any((lumina_home / "uploads").iterdir())


def test_field_limit_is_configurable(tmp_path, monkeypatch):
    from lumina.io import importers

    f = tmp_path / "x.jsonl"
    f.write_text(json.dumps({"instruction": "q" * 2_000_000, "response": "a"}) + "\n", encoding="utf-8")
    assert len(list(importers.read_rows(f))) == 1
    monkeypatch.setenv("LUMINA_MAX_FIELD_MB", "1")
    with pytest.raises(InvalidInputError, match=r"line 1 is longer than 1 MB.*LUMINA_MAX_FIELD_MB"):
        list(importers.read_rows(f))


def test_large_imports_stream_in_batches_all_or_nothing(tmp_path, monkeypatch):
    """Rows are written in bounded batches, and a bad last row leaves nothing behind."""
    from lumina.io import importers
    from lumina.store import samples as store_samples

    create_project("big", teacher=TEACHER, check_reachable=False)
    monkeypatch.setattr(importers, "BATCH_ROWS", 100)
    seen = []
    real = store_samples.insert_many
    monkeypatch.setattr(store_samples, "insert_many", lambda con, pid, batch: seen.append(len(batch)) or real(
        con, pid, batch))
    f = tmp_path / "rows.jsonl"
    rows = [json.dumps({"instruction": f"Question {i}?", "response": f"Answer {i}."}) for i in range(1050)]
    f.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert importers.import_file("big", f) == 1050
    assert max(seen) == 100 and sum(seen) == 1050
    with connect() as con:  # scored after the rows were committed, in batches of their own
        assert con.execute("SELECT count(DISTINCT sample_id) FROM scores WHERE scorer = 'heuristics'").fetchone()[0] == 1050
    f.write_text("\n".join(rows) + "\n{broken\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="line 1051: not valid JSON"):
        importers.import_file("big", f)
    assert corpus.stored("big")[0] == 1050
