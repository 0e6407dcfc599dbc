"""Export never deletes what Lumina did not write: a non-empty folder is refused unless --force,
and --force replaces only what the previous export's manifest lists (and the names it writes)."""

from __future__ import annotations

import json

import pytest

from lumina.io.formats import MANIFEST
from tests.test_cli_contract import assert_clean_error, make_project, run_cli

FORMATS = ["jsonl", "parquet", "hf", "llamafactory"]


def export(*args):
    return run_cli("dataset", "export", "p", *map(str, args))


@pytest.fixture
def proj(tmp_path):
    return make_project(tmp_path)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_folder_with_someone_elses_file_is_refused(tmp_path, proj, fmt):
    out = tmp_path / "work"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert_clean_error(export("v1", "--format", fmt, "--out", out), "is not empty")
    assert_clean_error(export("v1", "--format", fmt, "--out", out, "--force"), "no Lumina export wrote (notes.txt)")
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    assert (out / "notes.txt").read_text() == "mine"


def test_out_dot_never_wipes_the_working_tree(tmp_path, proj, monkeypatch):
    tree = tmp_path / "tree"
    (tree / "src").mkdir(parents=True)
    (tree / "src" / "main.py").write_text("print('hi')")
    monkeypatch.chdir(tree)
    for fmt in FORMATS:
        assert_clean_error(export("v1", "--format", fmt, "--out", "."), "is not empty")
        assert_clean_error(export("v1", "--format", fmt, "--out", ".", "--force"), "src")
    assert_clean_error(export("all", "--format", "hf", "--out", ".", "--force"), "src")
    assert sorted(p.name for p in tree.iterdir()) == ["src"]
    assert (tree / "src" / "main.py").read_text() == "print('hi')"


@pytest.mark.parametrize("fmt", FORMATS)
def test_forced_re_export_replaces_only_its_own_files(tmp_path, proj, fmt):
    out = tmp_path / "exp"
    assert export("v1", "--format", fmt, "--out", out).code == 0
    written = json.loads((out / MANIFEST).read_text())["written"]
    assert "README.md" in written and set(written) == {p.name for p in out.iterdir()} - {MANIFEST}
    assert_clean_error(export("v1", "--format", fmt, "--out", out), "--force")
    (out / "notes.txt").write_text("mine")  # added by the user after the export
    (out / "stale.jsonl").write_text("old")  # written by an earlier export with other splits
    (out / MANIFEST).write_text(json.dumps({"written": written + ["stale.jsonl"]}))
    r = export("v1", "--format", fmt, "--out", out, "--force")
    assert r.code == 0, r
    assert (out / "notes.txt").read_text() == "mine"
    assert not (out / "stale.jsonl").exists()
    assert {p.name for p in out.iterdir()} == set(written) | {"notes.txt", MANIFEST}


def test_forced_export_over_an_export_without_manifest(tmp_path, proj):
    """A folder an older Lumina wrote (no manifest) holds only names this export writes: replaced."""
    out = tmp_path / "old"
    assert export("v1", "--format", "jsonl", "--out", out).code == 0
    (out / MANIFEST).unlink()
    (out / "train.jsonl").write_text("stale")
    assert export("v1", "--format", "jsonl", "--out", out, "--force").code == 0
    assert (out / "train.jsonl").read_text() != "stale" and (out / MANIFEST).exists()


def test_a_hostile_manifest_removes_nothing_outside(tmp_path, proj):
    out = tmp_path / "exp"
    assert export("v1", "--format", "jsonl", "--out", out).code == 0
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    (out / "sub").mkdir()
    (out / "sub" / "keep.txt").write_text("keep")
    listed = ["../outside.txt", str(outside), "sub/keep.txt", "..", ".", "", 7]
    (out / MANIFEST).write_text(json.dumps({"written": listed}))
    assert export("v1", "--format", "jsonl", "--out", out, "--force").code == 0
    assert outside.read_text() == "keep" and (out / "sub" / "keep.txt").read_text() == "keep"


def test_all_samples_exports(tmp_path, proj):
    import datasets

    f = tmp_path / "all.jsonl"
    assert export("all", "--format", "jsonl", "--out", f).code == 0
    f.write_text("edited by hand")
    assert_clean_error(export("all", "--format", "jsonl", "--out", f), "already exists")
    assert f.read_text() == "edited by hand"
    assert export("all", "--format", "jsonl", "--out", f, "--force").code == 0
    assert len(f.read_text().splitlines()) == 4
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".lumina-tmp")]

    folder = tmp_path / "all-hf"
    assert export("all", "--format", "hf", "--out", folder).code == 0
    (folder / "notes.txt").write_text("mine")
    assert_clean_error(export("all", "--format", "hf", "--out", folder), "is not empty")
    assert export("all", "--format", "hf", "--out", folder, "--force").code == 0
    assert (folder / "notes.txt").read_text() == "mine"
    assert len(datasets.load_from_disk(str(folder))) == 4  # the manifest does not get in the way

    lf = tmp_path / "all-lf"
    lf.mkdir()
    (lf / "notes.txt").write_text("mine")
    assert_clean_error(export("all", "--format", "llamafactory", "--out", lf, "--force"), "notes.txt")
    assert sorted(p.name for p in lf.iterdir()) == ["notes.txt"]


def test_library_export_refuses_too(tmp_path, proj):
    from lumina import datasets
    from lumina.errors import InvalidInputError

    out = tmp_path / "lib"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(InvalidInputError, match="not empty"):
        datasets.export_version("p", "v1", "hf", out)
    with pytest.raises(InvalidInputError, match="no Lumina export wrote"):
        datasets.export_version("p", "v1", "hf", out, force=True)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
