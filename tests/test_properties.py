"""Property tests for the readers: whatever bytes or text they get, they return valid records or
raise InvalidInputError, never anything else; valid files read back exactly what was written;
and the linear rewrites of the outline and document regexes behave as the old patterns did."""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lumina.io import documents, importers, readers
from lumina.taxonomy import outline
from lumina.taxonomy import tree as tx
from lumina.errors import InvalidInputError
from lumina.taxonomy.tree import Node

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=300)
json_scalars = st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=False) | text
json_values = st.recursive(json_scalars, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(text, kids, max_size=4),
                           max_leaves=20)
json_rows = st.lists(st.dictionaries(text, json_values, max_size=5), max_size=8)
# Bytes near the formats: their punctuation, quotes, BOMs, bad UTF-8, surrogate escapes, NULs.
near = st.lists(st.sampled_from([b"{", b"}", b"[", b"]", b'"', b":", b",", b"\n", b"\r\n", b" ", b"\t", b"\\",
                                 b"\\u", b"d800", b"\\ud83d\\ude00", b"1", b"-", b"e9", b"true", b"null", b"a",
                                 b'"instruction"', b'"response"', b"\xef\xbb\xbf", b"\xff\xfe", b"\xe9", b"\x00",
                                 b"\xc3\xa9", b"#", b"- ", b"  ", b"&a ", b"*a", b"!!python/object", b"..."]),
                max_size=60).map(b"".join)
blobs = st.binary(max_size=400) | near


def read(data: bytes, suffix: str) -> list[dict]:
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / f"x{suffix}"
        f.write_bytes(data)
        try:
            return list(importers.read_rows(f))
        except InvalidInputError as exc:
            assert "\n" not in str(exc)
            return []


@SETTINGS
@given(data=blobs, suffix=st.sampled_from([".jsonl", ".json", ".csv", ".tsv"]))
def test_any_bytes_give_rows_or_invalid_input(data, suffix):
    for row in read(data, suffix):
        assert isinstance(row, dict)
        json.dumps(row, ensure_ascii=False).encode("utf-8")  # storable: no lone surrogates


@SETTINGS
@given(rows=json_rows)
def test_jsonl_reads_back_what_was_written(rows):
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    assert read(data, ".jsonl") == rows


@SETTINGS
@given(rows=json_rows, wrap=st.booleans(), indent=st.sampled_from([None, 1, "\t"]), chunk=st.integers(1, 64))
def test_json_streams_back_what_was_written(rows, wrap, indent, chunk, monkeypatch):
    # A tiny read size puts every value across buffer boundaries.
    monkeypatch.setattr(readers._JsonStream, "CHUNK", chunk)
    doc = {"meta": {"n": [1, 2]}, "rows": rows, "v": 1.5} if wrap else rows
    assert read(json.dumps(doc, indent=indent).encode(), ".json") == rows


cells = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00\ufeff"), max_size=30)


@SETTINGS
@given(header=st.lists(cells.filter(bool), min_size=1, max_size=5, unique=True),
       body=st.lists(st.lists(cells, min_size=1, max_size=5), max_size=6), sep=st.sampled_from([",", "\t"]))
def test_csv_reads_back_what_was_written(header, body, sep):
    out = io.StringIO()
    w = csv.writer(out, delimiter=sep, lineterminator="\r\n")
    w.writerow(header)
    rows = [r[:len(header)] + [""] * (len(header) - len(r[:len(header)])) for r in body]
    w.writerows(rows)
    assert read(out.getvalue().encode(), ".tsv" if sep == "\t" else ".csv") == [dict(zip(header, r)) for r in rows]


@SETTINGS
@given(data=blobs | text.map(str.encode))
def test_taxonomy_loader_returns_a_tree_or_invalid_input(data):
    try:
        tree = tx.loads(data.decode("utf-8", "replace"))
    except InvalidInputError as exc:
        assert "\n" not in str(exc)
        return
    assert tree.leaves() and len(tree.flat()) <= tx.MAX_NODES


names = st.text(st.characters(whitelist_categories=["L", "N"]), min_size=1, max_size=12)


def trees(depth: int):
    leaf = st.builds(Node, name=names)
    if depth <= 1:
        return st.lists(leaf, min_size=1, max_size=3, unique_by=lambda n: n.name.lower())
    return st.lists(st.builds(Node, name=names, children=trees(depth - 1) | st.just([])),
                    min_size=1, max_size=3, unique_by=lambda n: n.name.lower())


def shape(nodes: list[Node]) -> list:
    return [(n.name, shape(n.children)) for n in nodes]


@SETTINGS
@given(nodes=trees(4))
def test_taxonomy_yaml_round_trip(nodes):
    tree = tx.Taxonomy("t", nodes, ["explain"], ["easy"])
    assert shape(tx.loads(tree.to_yaml()).nodes) == shape(nodes)


@SETTINGS
@given(data=blobs | text.map(str.encode))
def test_outline_parser_returns_nodes_or_invalid_input(data):
    try:
        nodes = outline.parse_outline(data.decode("utf-8", "replace"))
    except InvalidInputError as exc:
        assert "\n" not in str(exc)
        return
    assert nodes and all(isinstance(n, Node) for n in nodes)


@SETTINGS
@given(nodes=trees(4), bullet=st.sampled_from(["- ", "* ", ""]), width=st.sampled_from([2, 4]))
def test_an_indented_outline_is_read_as_its_tree(nodes, bullet, width):
    def lines(ns, depth):
        return "".join(" " * (width * depth) + bullet + n.name + "\n" + lines(n.children, depth + 1) for n in ns)

    text_ = lines(nodes, 0)
    if not any(n.lower() in outline._TITLES for n in re.findall(r"\w+", text_)):  # a TOC's heading is dropped
        assert shape(outline.parse_outline(text_)) == shape(nodes)


# The patterns the outline parser and the document normaliser used before their linear rewrites.
OLD_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
OLD_BULLET = re.compile(r"^(?:[-*+•◦▪‣]|\[[ xX]\])\s+(.*)$")
OLD_NUMBER = re.compile(r"^(?:(\d+(?:\.\d+)*)\.?|\(?(\d+)\)|([IVXLCDM]+|[A-Z])[.)])\s+(.*)$")
OLD_LEADER_PAGE = re.compile(r"\s*(?:\.{2,}|…+|·{2,}|_{3,})\s*\d+\s*$")
OLD_TAB_PAGE = re.compile(r"\t+\d+\s*$")
OLD_CHAPTER = re.compile(r"^(?:chapter|part|section|unit|module|lesson)\s+\d+[.:]?\s+(?=\S)", re.IGNORECASE)


def old_parse_line(raw: str):
    t = raw.strip()
    heading = None
    m = OLD_HEADING.match(t)
    if m:
        heading, t = len(m.group(1)), m.group(2).strip()
    m = OLD_BULLET.match(t)
    if m:
        t = m.group(1).strip()
    number_depth = None
    m = OLD_NUMBER.match(t)
    if m and m.group(4).strip():
        number_depth = len(m.group(1).split(".")) if m.group(1) else 1
        t = m.group(4)
    t = OLD_TAB_PAGE.sub("", OLD_LEADER_PAGE.sub("", t)).strip().strip("*_`").strip()
    t = OLD_CHAPTER.sub("", t) or t
    return t.rstrip(":").strip(), heading, number_depth


outline_lines = st.lists(st.sampled_from(["#", "##", "####### ", " ", "\t", "-", "* ", "[x] ", "1", ".", "2.1",
                                          "(3)", "IV.", "B)", "Chapter 2:", "chapter", "Loops", "…", "·", "_", "__",
                                          "12", "٣", "*", "`", ":", "x"]), max_size=14).map("".join)


@settings(max_examples=400, deadline=None)
@given(line=outline_lines)
def test_outline_line_parsing_matches_the_old_patterns(line):
    assert outline._parse_line(line) == old_parse_line(line)


def old_normalise(t: str) -> str:
    t = t.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    t = re.sub(r"(\w)-\n(\w)", r"\1\2", t)
    t = re.sub(r"[ \t\f\v]+", " ", t)
    t = re.sub(r" *\n *", "\n", t)
    return re.sub(r"\n{3,}", "\n\n", t).strip()


@settings(max_examples=300, deadline=None)
@given(t=st.lists(st.sampled_from([" ", "  ", "\t", "\f", "\v", "\n", "\r\n", "\r", "\u00a0", "a", "-", "é", "."]),
                  max_size=30).map("".join))
def test_document_normalising_matches_the_old_patterns(t):
    assert documents.normalise(t) == old_normalise(t)


@SETTINGS
@given(t=st.lists(st.sampled_from(["Short. ", "A sentence of a fair length, as in a book. ", "\n\n", "a. ", "。",
                                   "x" * 300, " "]), max_size=40).map("".join))
def test_chunks_cover_the_text_within_their_size(t):
    doc = documents.Document("d", "d", documents.normalise(t))
    if not doc.text:
        return
    chunks = documents.chunk(doc, 200, 40)
    covered = set()
    for c in chunks:
        assert doc.text[c.start:c.start + len(c.text)] == c.text and (len(c.text) <= 200 or c is chunks[-1])
        covered.update(range(c.start, c.start + len(c.text)))
    assert not {i for i, ch in enumerate(doc.text) if not ch.isspace()} - covered


@pytest.mark.parametrize("limit_mb", [1])
def test_properties_hold_under_a_small_field_limit(limit_mb, monkeypatch):
    monkeypatch.setenv("LUMINA_MAX_FIELD_MB", str(limit_mb))
    big = json.dumps([{"instruction": "x" * (2 * 1024**2)}]).encode()
    with pytest.raises(InvalidInputError, match="larger than 1 MB"):
        with tempfile.TemporaryDirectory() as d:
            (Path(d) / "x.json").write_bytes(big)
            list(importers.read_rows(Path(d) / "x.json"))
