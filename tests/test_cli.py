"""Bad input gets one line and exit status 2, never a traceback.

The cases run ``lumina.cli.main`` in-process (``run_cli``: the same entry point and error mapping
as the installed command, without a fresh interpreter's imports per case); the last tests run
the real CLI in a subprocess, for the exit status the OS sees and a stderr free of tracebacks."""

import pytest

from lumina.config import settings
from tests.helpers import hold_db_lock, lumina, run_cli


def assert_clean_error(proc, needle):
    """``proc``: a ``run_cli`` result or a ``subprocess.CompletedProcess``."""
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert needle in lines[0]


def test_missing_taxonomy_file(tmp_path):
    assert_clean_error(run_cli("project", "create", "x", "--taxonomy", str(tmp_path / "no.yaml")), "not found")


def test_malformed_taxonomy_file(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("nodes: [unclosed\n")
    assert_clean_error(run_cli("project", "create", "x", "--taxonomy", str(f)), "not valid YAML")


def test_unknown_model():
    assert_clean_error(run_cli("project", "create", "x", "--student", "nobody/no-such-model"), "Unknown model")
    assert_clean_error(run_cli("project", "create", "y", "--teacher", "transformers:./no/such/dir"), "Unknown model")
    assert_clean_error(run_cli("project", "create", "z", "--teacher", "gpt:foo"), "Unknown teacher backend")


def test_unreachable_endpoint():
    proc = run_cli("project", "create", "x", "--teacher", "openai:http://127.0.0.1:9/v1#m")
    assert_clean_error(proc, "Cannot reach the teacher at http://127.0.0.1:9/v1")


def test_unknown_project_job_and_mode():
    assert_clean_error(run_cli("samples", "nope"), "No project named 'nope'")
    assert_clean_error(run_cli("jobs", "show", "42"), "No job with id 42")
    run_cli("project", "create", "p", "--teacher", "transformers:smollm2-135m-instruct", check=True)
    assert_clean_error(run_cli("generate", "p", "--mode", "nonsense"), "Unknown generation mode")
    assert_clean_error(run_cli("generate", "p", "--n", "0"), "--n")


def test_corrupt_database():
    db = settings().db_path
    db.parent.mkdir(parents=True)
    db.write_bytes(b"\x00garbage" * 5000)
    assert_clean_error(run_cli("project", "list"), "not a readable DuckDB file")


def test_locked_database():
    run_cli("project", "list", check=True)
    holder = hold_db_lock(settings().db_path, 20)
    try:
        proc = run_cli("project", "list", env={"LUMINA_DB_LOCK_TIMEOUT": "1"})
        assert_clean_error(proc, "stayed busy")
    finally:
        holder.kill()


def test_models_list_and_help():
    out = run_cli("models", "list", "--json", check=True).stdout
    assert "smollm2-135m-instruct" in out and "all-minilm-l6-v2" in out and "CPU" in out
    assert run_cli("--help", check=True).stdout.count("generate") >= 1


@pytest.mark.parametrize("fmt", ["jsonl", "hf"])
def test_import_and_export_round_trip(tmp_path, fmt):
    src = tmp_path / "in.csv"
    src.write_text("question,answer\nWhat is 1+1?,2\nCapital of France?,Paris\n", encoding="utf-8")
    run_cli("project", "create", "p", "--teacher", "transformers:smollm2-135m-instruct", check=True)
    assert "imported 2" in run_cli("import", "p", str(src), "--as", "samples", check=True).stdout
    out = tmp_path / f"out-{fmt}"
    assert "exported 2" in run_cli("dataset", "export", "p", "all", "--format", fmt, "--out", str(out),
                                   check=True).stdout
    assert_clean_error(run_cli("dataset", "export", "p", "v1", "--format", fmt, "--out", str(out)),
                       "No dataset version 'v1'")


# -- the real command, in a subprocess: what a script calling `lumina` sees --------------------

def test_exit_codes_in_a_real_process():
    """0 on success; 2 and one line, no traceback, for a LuminaError (an unknown project, a
    database that is not DuckDB); the in-process cases above go through this same ``main``."""
    proc = lumina("project", "list", "--json")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert_clean_error(lumina("samples", "nope"), "No project named 'nope'")
    settings().db_path.write_bytes(b"\x00garbage" * 5000)
    assert_clean_error(lumina("project", "list"), "not a readable DuckDB file")

