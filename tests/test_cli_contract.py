"""The CLI's error contract: every usage error, however it is raised (Typer's vendored click,
Lumina, a parser's RecursionError), exits 2 with one line on stderr and no traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import CliResult, lumina, run_cli

SAMPLES = [
    {"instruction": "What is 1+1?", "response": "2"},
    {"instruction": "Name the snake_case style", "response": "words_joined_by_underscores"},
    {"instruction": "What is 100% of 3?", "response": "3"},
    {"instruction": "A Windows path?", "response": "C:\\Users"},
]


Result = CliResult  # (code, out, err); run_cli: lumina.cli.main in-process (tests/helpers.py)


def assert_clean_error(r: Result, needle: str = "") -> str:
    """Exit 2, no traceback, exactly one line on stderr, starting with 'error: '."""
    assert r.code == 2, r
    assert "Traceback" not in r.out + r.err, r.err
    lines = [line for line in r.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.err
    assert needle in lines[0], lines[0]
    return lines[0]


def make_project(tmp_path: Path, freeze: bool = True) -> str:
    """Project 'p' with the four samples above (approved and frozen as v1 when ``freeze``);
    a transformers teacher spec loads no model at creation."""
    src = _write_samples(tmp_path)
    for args in (("project", "create", "p", "--teacher", "transformers:smollm2-135m-instruct"),
                 ("import", "p", src)):
        assert run_cli(*args).code == 0
    if freeze:
        for args in (("review", "approve", "p", "--all-matching", "-r", "ann"),
                     ("dataset", "freeze", "p", "v1", "--eval-fraction", "0.25")):
            r = run_cli(*args)
            assert r.code == 0, r
    return "p"


def _write_samples(folder: Path) -> Path:
    src = folder / "samples.jsonl"
    src.write_text("".join(json.dumps(s) + "\n" for s in SAMPLES), encoding="utf-8")
    return src


@pytest.fixture(scope="module")
def project_template(tmp_path_factory) -> Path:
    """A home holding make_project's frozen project 'p', built once per module."""
    base = tmp_path_factory.mktemp("contract")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LUMINA_HOME", str(base / "home"))
        make_project(base)
    return base / "home"


@pytest.fixture
def project(project_template, lumina_home, tmp_path) -> str:
    """What ``make_project(tmp_path)`` leaves, copied from the module's template (one build
    instead of four CLI calls per test): project 'p' with v1 frozen, samples.jsonl in tmp_path."""
    shutil.copytree(project_template, lumina_home)
    _write_samples(tmp_path)
    return "p"


@pytest.mark.parametrize("args, needle", [
    (["project", "create"], "Missing argument 'NAME'"),
    (["project", "list", "--bogus"], "No such option: --bogus"),
    (["nosuch"], "No such command 'nosuch'"),
    (["project", "nosuch"], "No such command 'nosuch'"),
    (["samples", "p", "--limit", "abc"], "Invalid value for '--limit'"),
    (["jobs", "show", "abc"], "Invalid value for 'JOB_ID'"),
    (["review", "double", "p", "half"], "Invalid value for 'FRACTION'"),
    (["review", "approve", "p", "--all-matching", "--node"], "requires an argument"),
    (["project", "create", "x", "--no-check=yes"], "--no-check"),
])
def test_usage_errors_are_one_line(args, needle):
    line = assert_clean_error(run_cli(*args))
    assert needle.lower() in line.lower()


def test_usage_errors_say_where_help_is():
    assert_clean_error(run_cli("project", "create"), "(see `lumina project create --help`)")


def test_a_group_without_command_shows_its_help():
    r = run_cli("project")
    assert r.code == 2 and "Traceback" not in r.out + r.err
    assert "create" in r.out + r.err and "list" in r.out + r.err


def test_usage_errors_in_a_real_process():
    for args, needle in ((("nosuch",), "No such command"), (("project", "create"), "Missing argument"),
                         (("samples", "p", "--limit", "x"), "--limit")):
        proc = lumina(*args)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr + proc.stdout
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and needle in lines[0], proc.stderr


def test_deep_nesting_is_refused_in_one_line(tmp_path):
    make_project(tmp_path, freeze=False)
    deep = "[" * 100_000 + "]" * 100_000
    (tmp_path / "deep.json").write_text(deep)
    (tmp_path / "deep.jsonl").write_text(json.dumps({"instruction": "x"})[:-1] + ', "response": ' + deep + "}\n")
    (tmp_path / "deep.yaml").write_text("name: x\nnodes: " + deep + "\n")
    for args in (("import", "p", tmp_path / "deep.json"), ("import", "p", tmp_path / "deep.jsonl"),
                 ("taxonomy", "import", "p", tmp_path / "deep.yaml"),
                 ("project", "create", "q", "--taxonomy", tmp_path / "deep.yaml")):
        assert "nest" in assert_clean_error(run_cli(*args)).lower()  # the readers word it their own way
    assert json.loads(run_cli("project", "list", "--json").out)["samples"] == 4


def test_a_recursion_error_from_any_reader_is_one_line(monkeypatch):
    from lumina.projects import samples

    def deep(*a, **k):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(samples, "list_for", deep)
    assert_clean_error(run_cli("samples", "p"), "nested too deeply")


@pytest.mark.parametrize("args, needle", [
    (["samples", "p", "--status", "bogus"], "--status: 'bogus' is not one of pending, approved, rejected"),
    (["samples", "p", "--limit", "-1"], "--limit"),
    (["review", "approve", "p", "--all-matching", "--status", "Approved"], "--status: 'Approved'"),
    (["review", "reject", "p", "--all-matching", "--status", "bogus"], "--status"),
    (["dataset", "export", "p", "all", "--status", "bogus", "--out", "x.jsonl"], "--status"),
    (["dataset", "export", "p", "all", "--format", "xml", "--out", "x"], "Unknown export format 'xml'"),
    (["dataset", "export", "p", "v1", "--format", "csv", "--out", "x"], "Unknown export format 'csv'"),
    (["review", "next", "p", "--order", "bogus"], "Unknown queue order 'bogus'"),
    (["score", "p", "bogus"], "Unknown scorer 'bogus'"),
    (["map", "p", "--clusters", "bogus"], "kmeans"),
    (["import", "p", "samples.jsonl", "--as", "bogus"], "Unknown import kind 'bogus'"),
    (["generate", "p", "--mode", "bogus"], "Unknown generation mode 'bogus'"),
    (["generate", "p", "--mode", "evolve", "--from-status", "bogus", "--dry-run"], "--from-status"),
    (["train", "p", "v1", "--method", "bogus"], "Unknown training method 'bogus'"),
    (["train", "p", "v1", "--preset", "bogus"], "Unknown preset 'bogus'"),
    (["review", "approve", "p", "--all-matching", "--score", "judge<3"], "names no score"),
])
def test_choices_are_checked(project, tmp_path, monkeypatch, args, needle):
    monkeypatch.chdir(tmp_path)
    before = run_cli("samples", "p", "--json").out
    assert_clean_error(run_cli(*args), needle)
    assert run_cli("samples", "p", "--json").out == before


def test_export_to_an_existing_file_or_folder(project, tmp_path):
    (tmp_path / "afile").write_text("mine")
    (tmp_path / "adir").mkdir()
    assert_clean_error(run_cli("dataset", "export", "p", "all", "--format", "hf", "--out", tmp_path / "afile"),
                       "is a file")
    assert_clean_error(run_cli("dataset", "export", "p", "all", "--format", "llamafactory",
                               "--out", tmp_path / "afile", "--force"), "is a file")
    assert_clean_error(run_cli("dataset", "export", "p", "v1", "--format", "jsonl", "--out", tmp_path / "afile"),
                       "is a file")
    for fmt in ("jsonl", "parquet"):
        assert_clean_error(run_cli("dataset", "export", "p", "all", "--format", fmt, "--out", tmp_path / "adir",
                                   "--force"), "is a folder")
    assert (tmp_path / "afile").read_text() == "mine" and not any((tmp_path / "adir").iterdir())


def test_messages_quoting_input_stay_on_one_line():
    line = assert_clean_error(run_cli("samples", "no\nsuch\x1b[2J"), "No project named")
    assert "\x1b" not in line


def _empty_models_dir(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LUMINA_MODELS_DIR", str(tmp_path / "models"))  # the bundled student never prepared


def test_train_prepares_the_bundled_student_on_demand(project, tmp_path, monkeypatch):
    from lumina import models
    from lumina.train.estimate import _BUNDLED_CONFIG

    _empty_models_dir(tmp_path, monkeypatch)
    calls = []

    def fake_prepare(progress=lambda m: None, force=False):  # the real conversion takes a minute
        calls.append(1)
        target = models.smollm2_dir()
        target.mkdir(parents=True)
        (target / "config.json").write_text(json.dumps(_BUNDLED_CONFIG))
        (target / models._COMPLETE).write_text("now")
        progress("converting the bundled model (fake)")
        return target

    monkeypatch.setattr(models, "prepare_smollm2", fake_prepare)
    r = run_cli("train", "p", "v1", "--dry-run", "--max-steps", "2")
    assert r.code == 0, r
    assert "converting the bundled model (fake)" in r.err and "steps" in r.out
    assert calls == [1]


def test_plan_without_progress_says_what_to_run(project, tmp_path, monkeypatch):
    from lumina.train import job as train_runs
    from lumina.errors import NotFoundError

    _empty_models_dir(tmp_path, monkeypatch)
    with pytest.raises(NotFoundError, match="lumina models prepare"):
        train_runs.plan_training("p", "v1", {"base_model": "smollm2-135m-instruct"})
