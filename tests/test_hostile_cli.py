"""Hostile input at the command line: each case exits 2 with one line, no traceback, and leaves
the stored data exactly as it was."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.test_cli_contract import assert_clean_error, make_project, run_cli

NEST = "(" * 10_000 + "judge.overall < 3" + ")" * 10_000
LONG_POLICY = "judge.overall < 3 or " * 5_000 + "1 + 1"  # about 100k characters
DEEP = "[" * 100_000 + "]" * 100_000

CASES = [
    # CLI arguments
    ("unknown command", ["nosuch"], "No such command"),
    ("missing argument", ["project", "create"], "Missing argument"),
    ("huge int", ["samples", "p", "--limit", "1e9999"], "--limit"),
    ("negative limit", ["samples", "p", "--limit", "-5"], "--limit"),
    ("option without value", ["review", "approve", "p", "--reviewer"], "requires an argument"),
    ("sql in a status", ["samples", "p", "--status", "pending' OR 1=1 --"], "--status"),
    ("unknown project", ["samples", "../p"], "No project named '../p'"),
    # project names
    ("name ..", ["project", "create", ".."], "must not start or end"),
    ("name a.", ["project", "create", "a."], "must not start or end"),
    ("name with spaces around", ["project", "create", " a "], "must not start or end"),
    ("name with /", ["project", "create", "a/b"], "letters, digits"),
    ("name with \\", ["project", "create", "a\\b"], "letters, digits"),
    ("name with NUL", ["project", "create", "a\x00b"], "letters, digits"),
    ("name with escape", ["project", "create", "a\x1b[2Jb"], "letters, digits"),
    ("empty name", ["project", "create", ""], "needs a name"),
    ("65-char name", ["project", "create", "x" * 65], "limit is 64"),
    ("existing name", ["project", "create", "p"], "already exists"),
    # teacher specs
    ("teacher garbage", ["project", "create", "x", "--teacher", "garbage"], "BACKEND:MODEL"),
    ("openai not a url", ["project", "create", "x", "--teacher", "openai:not a url"], "must look like"),
    ("file url backend", ["project", "create", "x", "--teacher", "file:///etc/passwd"], "Unknown teacher backend"),
    ("openai file url", ["project", "create", "x", "--teacher", "openai:file:///etc/passwd#m"], "must look like"),
    ("empty model", ["project", "create", "x", "--teacher", "transformers:"], "BACKEND:MODEL"),
    ("model path escape", ["project", "create", "x", "--teacher", "transformers:/etc/../etc"], "no model"),
    ("student /etc", ["project", "create", "x", "--student", "/etc"], "no model"),
    # sample filters and searches (unescaped, '%%' and '_%_' matched every sample)
    ("search %%", ["review", "reject", "p", "--all-matching", "--search", "%%"], "No sample matches"),
    ("search _%_", ["review", "reject", "p", "--all-matching", "--search", "_%_"], "No sample matches"),
    ("unknown node", ["review", "reject", "p", "--all-matching", "--node", "No > Such"], "No sample matches"),
    ("ids and filters", ["review", "reject", "p", "1", "--all-matching"], "not both"),
    ("no target", ["review", "reject", "p"], "Name the samples"),
    ("unknown sample", ["review", "reject", "p", "999999"], "No sample 999999"),
    ("queue order sql", ["review", "next", "p", "--order", "random; DROP TABLE samples"], "Unknown queue order"),
    # score filters
    ("score >>", ["review", "reject", "p", "--all-matching", "--score", "judge.overall>>4"], "Cannot read --score"),
    ("score without metric", ["review", "reject", "p", "--all-matching", "--score", "judge<3"], "names no score"),
    ("empty score", ["review", "reject", "p", "--all-matching", "--score", ""], "Cannot read --score"),
    ("score range", ["review", "reject", "p", "--all-matching", "--score", "judge.overall=3..x"], "Cannot read"),
    # policies
    ("policy code", ["policy", "p", "__import__('os')"], "Cannot read '__import__('os')'"),
    ("policy nesting", ["policy", "p", NEST], "Cannot read '((((("),
    ("policy 100k chars", ["policy", "p", LONG_POLICY, "--apply"], "Cannot read '1 + 1'"),
    ("policy sql", ["policy", "p", "duplicate; DROP TABLE samples"], "Cannot read"),
    ("empty policy", ["policy", "p", " or , or "], "Write a policy"),
    ("policy nothing pending", ["policy", "p", "judge.overall < 3", "--apply"], "matches no pending sample"),
    # taxonomy paths
    ("node under nothing", ["taxonomy", "add", "p", "x", "--under", "No > Such"], "No taxonomy node"),
    ("rename empty path", ["taxonomy", "rename", "p", "", "y"], "empty path"),
    ("delete separators", ["taxonomy", "delete", "p", " > > "], "No taxonomy node"),
    ("name with separator", ["taxonomy", "add", "p", "a > b"], "may not contain '>'"),
    ("move into itself", ["taxonomy", "move", "p", "Science", "--under", "Science > Physics"], "own subtree"),
    # version names
    ("version ../x", ["dataset", "freeze", "p", "../x"], "not a usable version name"),
    ("empty version", ["dataset", "freeze", "p", ""], "not a usable version name"),
    ("500-char version", ["dataset", "freeze", "p", "v" * 500], "not a usable version name"),
    ("existing version", ["dataset", "freeze", "p", "v1"], "already exists"),
    ("export version path", ["dataset", "export", "p", "../../etc", "--out", "x"], "No dataset version"),
    # export formats and paths
    ("format xml", ["dataset", "export", "p", "v1", "--format", "xml", "--out", "x"], "Unknown export format"),
    ("out . not empty", ["dataset", "export", "p", "v1", "--format", "hf", "--out", "."], "is not empty"),
    ("out . forced", ["dataset", "export", "p", "v1", "--out", ".", "--force"], "no Lumina export wrote"),
    ("out a file", ["dataset", "export", "p", "v1", "--out", "notes.txt"], "is a file"),
    ("all to a folder", ["dataset", "export", "p", "all", "--out", "adir"], "is a folder"),
    ("all over a file", ["dataset", "export", "p", "all", "--out", "notes.txt"], "already exists"),
    # imports
    ("missing file", ["import", "p", "nonexist.jsonl"], "No such file"),
    ("deep json", ["import", "p", "deep.json"], "nest"),
]


@pytest.fixture(scope="module")
def template_home(tmp_path_factory):
    """One project built once (a transformers teacher spec loads no model): copied per case."""
    base = tmp_path_factory.mktemp("hostile")
    old = os.environ.get("LUMINA_HOME")
    os.environ["LUMINA_HOME"] = str(base / "home")
    try:
        make_project(base)
        for args in (("taxonomy", "add", "p", "Science"), ("taxonomy", "add", "p", "Physics", "--under", "Science")):
            assert run_cli(*args).code == 0
    finally:
        if old is None:
            os.environ.pop("LUMINA_HOME", None)
        else:
            os.environ["LUMINA_HOME"] = old
    return base / "home"


def snapshot(cwd) -> dict:
    """What the library says is stored (projects, samples, review history, versions, taxonomy,
    jobs) and the files under ``cwd``."""
    from lumina import datasets, jobs, projects, review
    from lumina.projects import samples
    from lumina.taxonomy import edit as taxonomy_edit

    rows = samples.list_for("p")
    return {
        "projects": projects.names(),
        "samples": [(s.id, s.status, s.instruction, s.response, s.node_path) for s in rows],
        "events": [len(review.history("p", s.id)) for s in rows],
        "versions": [(v.name, v.content_hash) for v in datasets.list_versions("p")],
        "taxonomy": taxonomy_edit.load("p").to_yaml(),
        "jobs": len(jobs.list_jobs()),
        "files": sorted(str(p.relative_to(cwd)) for p in cwd.rglob("*")),
    }


def raw_snapshot(home) -> dict:
    """Every row of every table (one connection: cheap enough to take before and after each
    case) and every file under the home folder."""
    from lumina.store import connect

    with connect() as con:
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1").fetchall()]
        dump = {t: repr(con.execute(f'SELECT * FROM "{t}" ORDER BY ALL').fetchall()) for t in tables}
    return {"tables": dump, "files": sorted(str(p.relative_to(home)) for p in home.rglob("*"))}


def case_dirs(template_home, home, work) -> None:
    """One case's starting point: a copy of the template home, and a work folder to run in."""
    shutil.copytree(template_home, home)
    (work / "adir").mkdir(parents=True)
    (work / "notes.txt").write_text("mine")
    (work / "deep.json").write_text(DEEP)


@pytest.fixture(scope="module")
def template_snapshot(template_home, tmp_path_factory) -> dict:
    """``snapshot`` of the state every case starts from (each starts from the same copy)."""
    base = tmp_path_factory.mktemp("hostile-before")
    with pytest.MonkeyPatch.context() as mp:
        case_dirs(template_home, base / "home", base / "work")
        mp.setenv("LUMINA_HOME", str(base / "home"))
        mp.chdir(base / "work")
        return snapshot(base / "work")


@pytest.mark.parametrize("case, args, needle", CASES, ids=[c[0] for c in CASES])
def test_hostile_input(case, args, needle, template_home, template_snapshot, lumina_home, tmp_path, monkeypatch):
    work = tmp_path / "work"
    case_dirs(template_home, lumina_home, work)
    monkeypatch.chdir(work)
    raw_before = raw_snapshot(lumina_home)
    assert_clean_error(run_cli(*args), needle)
    assert raw_snapshot(lumina_home) == raw_before  # row for row, every table; no new file
    assert snapshot(work) == template_snapshot  # and as the library reads it


def test_there_are_enough_cases():
    assert len(CASES) >= 30


def test_search_is_literal(tmp_path):
    make_project(tmp_path, freeze=False)
    from lumina import review
    from lumina.projects import samples
    from lumina.records import SampleFilter

    def found(text):
        return {s.instruction for s in samples.list_for("p", search=text)}

    assert found("_") == {"Name the snake_case style"}
    assert found("%") == {"What is 100% of 3?"}
    assert found("\\") == {"A Windows path?"}
    assert found("_%_") == set()
    assert review.filtered_ids("p", SampleFilter(search="%")) == [3]
    r = run_cli("review", "reject", "p", "--all-matching", "--search", "_", "-r", "ann", "--json")
    assert r.code == 0 and json.loads(r.out)["decided"] == 1
    assert [s.status for s in samples.list_for("p")] == ["pending", "rejected", "pending", "pending"]


def test_project_names_checked_at_creation_only(tmp_path):
    from lumina import projects
    from lumina.errors import InvalidInputError
    from lumina.store import connect
    from lumina.store import projects as store_projects

    for bad in ("..", "a.", " a ", "a/b", "a\\b", "a\x00", "a\x07", "", "x" * 65, ".hidden"):
        with pytest.raises(InvalidInputError):
            projects.validate_name(bad)
    assert projects.validate_name("My project-2_v1.0") == "My project-2_v1.0"
    assert projects.validate_name("x" * 64) == "x" * 64
    with connect() as con:  # a name an older Lumina accepted (80 characters, spaces kept)
        store_projects.create(con, " legacy" + "y" * 73, "transformers:smollm2-135m-instruct",
                              "smollm2-135m-instruct", taxonomy={}, settings=None)
    assert projects.get(" legacy" + "y" * 73).name == " legacy" + "y" * 73
    assert run_cli("samples", " legacy" + "y" * 73).code == 0
