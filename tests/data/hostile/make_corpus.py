"""A hostile corpus: small (or cheaply generated large) files that try to exhaust memory or CPU,
or to trip a reader into an exception other than a one-line ``InvalidInputError``.

Nothing here is checked in as a blob: every file is generated at test time.

    python tests/data/hostile/make_corpus.py DIR            # write every case into DIR, list them
    python tests/data/hostile/make_corpus.py DIR --run NAME # run one case in a fresh project and
                                                            # print its outcome, time and peak RSS (JSON)

``build(dir)`` returns the cases; ``run(case, project)`` feeds one through the library functions
the CLI and the pages call (lumina.io.importers, lumina.io.uploads, lumina.taxonomy.edit /
lumina.taxonomy.tree, lumina.io.documents), inside a real project.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

MB = 1024**2


@dataclass
class Case:
    name: str
    surface: str  # samples | seeds | prompts | evalset | documents | taxonomy | outline | upload
    target: Any = None  # the generated file or folder; for uploads a list of (file name, bytes)
    expect: str | None = None  # regex of the InvalidInputError message; None: imports cleanly
    bomb: bool = False  # measured in a subprocess for peak memory
    kind: str = "samples"  # uploads: the import kind
    skipped: str | None = None  # documents folders: a regex one skipped entry must match
    known_issue: str | None = None  # a failure outside the readers, left for its owner (skipped)
    make: Callable[[Path], Any] | None = field(default=None, repr=False)


SPECS: list[Case] = []


def case(name: str, surface: str, expect: str | None = None, **kw: Any):
    def register(make: Callable[[Path], Any]) -> Callable[[Path], Any]:
        SPECS.append(Case(name, surface, expect=expect, make=make, **kw))
        return make
    return register


def build(dir: str | Path, only: list[str] | None = None) -> list[Case]:
    """Write the cases (all, or those named) into ``dir``; returns them with their targets."""
    root = Path(dir)
    out = []
    for spec in SPECS:
        if only is not None and spec.name not in only:
            continue
        folder = root / spec.name
        folder.mkdir(parents=True, exist_ok=True)
        out.append(Case(**{**spec.__dict__, "target": spec.make(folder)}))
    if only is not None and len(out) != len(only):
        raise KeyError(f"unknown cases: {sorted(set(only) - {c.name for c in out})}")
    return out


# -- helpers -----------------------------------------------------------------------------------

ROW = {"instruction": "What is the boiling point of water at sea level?", "response": "100 degrees Celsius."}
GOOD_JSONL = (json.dumps(ROW) + "\n" + json.dumps({"instruction": "Name a prime.", "response": "7."}) + "\n").encode()
GOOD_TAXONOMY = "name: Safe\ntask_types: [explanation]\ndifficulty: [beginner]\nnodes:\n  - name: Physics\n" \
                "    children:\n      - Optics\n      - name: Mechanics\n"
GOOD_TEXT = ("The Nile is about 6,650 kilometres long and flows north into the Mediterranean Sea. "
             "Its two main tributaries, the White Nile and the Blue Nile, meet at Khartoum.\n\n") * 3


def write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def big_line(path: Path, size: int, head: bytes, tail: bytes, fill: bytes = b"a") -> Path:
    """A file whose one line is ``size`` bytes, written in 1 MB pieces."""
    with open(path, "wb") as f:
        f.write(head)
        block = fill * MB
        left = size
        while left > 0:
            f.write(block[:min(left, MB)])
            left -= MB
        f.write(tail)
    return path


def pdf(path: Path, contents: list[bytes], pages: list[int] | None = None, filters: int = 0,
        raw: bytes | None = None) -> Path:
    """A PDF with one content stream per entry of ``contents`` (flate-compressed ``filters``
    times); ``pages`` lists which stream each page draws (default: one page per stream)."""
    objects: list[bytes] = [b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    streams = []
    for data in contents:
        for _ in range(filters):
            data = zlib.compress(data, 9)
        names = b"[" + b" ".join([b"/FlateDecode"] * filters) + b"]" if filters else b"[]"
        objects.append(b"<< /Length %d /Filter %s >>\nstream\n" % (len(data), names) + data + b"\nendstream")
        streams.append(len(objects))
    order = pages if pages is not None else list(range(len(contents)))
    pages_id = len(objects) + len(order) + 1
    kids = []
    for i in order:
        objects.append(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 842] /Contents %d 0 R"
                       b" /Resources << /Font << /F1 1 0 R >> >> >>" % (pages_id, streams[i]))
        kids.append(len(objects))
    objects.append(b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % k for k in kids) + b"] /Count %d >>" % len(kids))
    objects.append(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id)
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, len(objects), xref)
    return write(path, raw if raw is not None else bytes(out))


def text_ops(text: str) -> bytes:
    return b"BT /F1 11 Tf 50 780 Td (" + text.encode("latin-1") + b") Tj ET"


def parquet(path: Path, table) -> Path:
    import pyarrow.parquet as pq

    pq.write_table(table, path, compression="zstd")
    return path


def hf_folder(path: Path) -> Path:
    import datasets

    datasets.Dataset.from_list([ROW, ROW]).save_to_disk(str(path))
    return path


# -- JSONL ---------------------------------------------------------------------------------------

@case("jsonl_bom_crlf", "samples")
def _(d): return write(d / "x.jsonl", b"\xef\xbb\xbf" + GOOD_JSONL.replace(b"\n", b"\r\n"))


@case("jsonl_empty", "samples", r"x\.jsonl holds no rows")
def _(d): return write(d / "x.jsonl", b"")


@case("jsonl_blank_lines", "samples", r"holds no rows")
def _(d): return write(d / "x.jsonl", b"\n" * 1_000_000)


@case("jsonl_nul_bytes", "samples", r"binary file")
def _(d): return write(d / "x.jsonl", GOOD_JSONL + b'{"instruction": "a\x00b", "response": "c"}\n')


@case("jsonl_utf16", "samples", r"UTF-16.*re-save it as UTF-8")
def _(d): return write(d / "x.jsonl", GOOD_JSONL.decode().encode("utf-16"))


@case("jsonl_latin1", "samples", r"not UTF-8 text \(invalid byte at line 3\)")
def _(d): return write(d / "x.jsonl", GOOD_JSONL + '{"instruction": "caf\xe9", "response": "x"}\n'.encode("latin-1"))


@case("jsonl_gzip_renamed", "samples", r"binary file \(a gzip-compressed file\)")
def _(d): return write(d / "x.jsonl", gzip.compress(GOOD_JSONL * 100))


@case("jsonl_deep_nesting", "samples", r"line 1: .*nested too deeply")
def _(d): return write(d / "x.jsonl", b"[" * 100_000 + b"\n")


@case("jsonl_50mb_line", "samples", r"line 1 is longer than 8 MB", bomb=True)
def _(d): return big_line(d / "x.jsonl", 50 * MB, b'{"instruction": "', b'", "response": "x"}\n')


@case("jsonl_lone_surrogate", "samples", r"line 2: .*surrogate")
def _(d): return write(d / "x.jsonl", GOOD_JSONL[:GOOD_JSONL.index(b"\n") + 1]
                       + b'{"instruction": "bad \\ud800 here", "response": "x"}\n')


@case("jsonl_surrogate_pair", "samples")
def _(d): return write(d / "x.jsonl", b'{"instruction": "smile \\ud83d\\ude00", "response": "ok"}\n')


@case("jsonl_scalar_line", "samples", r"line 2: expected a JSON object, got int")
def _(d): return write(d / "x.jsonl", GOOD_JSONL[:GOOD_JSONL.index(b"\n") + 1] + b"42\n")


@case("jsonl_truncated", "samples", r"line 3: not valid JSON")
def _(d): return write(d / "x.jsonl", GOOD_JSONL + b'{"instruction": "cut off', )


@case("jsonl_wide_object", "seeds", r"line 1 is longer than 8 MB")
def _(d): return write(d / "x.jsonl", b"{" + b",".join(b'"k%d": 1' % i for i in range(1_200_000)) + b"}\n")


@case("jsonl_many_keys", "samples", r"no instruction/response found \(columns: k0, .* 200,000 in all\)")
def _(d): return write(d / "x.jsonl", b"{" + b",".join(b'"k%d": 1' % i for i in range(200_000)) + b"}\n")


@case("jsonl_huge_integer", "samples", r"line 1: not valid JSON \(.*digits")
def _(d): return write(d / "x.jsonl", b'{"instruction": "a", "response": "b", "seed": ' + b"9" * 100_000 + b"}\n")


@case("jsonl_deep_raw", "samples", r"line 1: the JSON is nested more than 100 levels deep")
def _(d): return write(d / "x.jsonl", b'{"instruction": "a", "response": "b", "raw": ' + b'{"a": ' * 900 + b"1"
                       + b"}" * 900 + b"}\n")


# -- JSON ----------------------------------------------------------------------------------------

@case("json_top_level_scalar", "samples", r"expected a list of objects")
def _(d): return write(d / "x.json", b'"just a string"')


@case("json_deep_nesting", "samples", r"nested too deeply")
def _(d): return write(d / "x.json", b"[" * 100_000)


@case("json_two_lists", "samples", r"expected a list of objects")
def _(d): return write(d / "x.json", json.dumps({"train": [ROW], "test": [ROW]}))


@case("json_data_key_bom_crlf", "samples")
def _(d): return write(d / "x.json", b"\xef\xbb\xbf" + json.dumps({"version": 2, "data": [ROW, ROW]}, indent=2)
                       .encode().replace(b"\n", b"\r\n"))


@case("json_huge_element", "samples", r"larger than 8 MB", bomb=True)
def _(d): return big_line(d / "x.json", 60 * MB, b'[{"instruction": "', b'", "response": "x"}]')


@case("json_trailing_garbage", "samples", r"not valid JSON")
def _(d): return write(d / "x.json", json.dumps([ROW]) + " and then some")


@case("json_empty", "samples", r"x\.json: not valid JSON|holds no rows")
def _(d): return write(d / "x.json", b"")


@case("json_lone_surrogate", "seeds", r"surrogate")
def _(d): return write(d / "x.json", b'[{"instruction": "\\udfff"}]')


# -- CSV / TSV -----------------------------------------------------------------------------------

@case("csv_million_columns", "samples", r"more than 1,000 columns")
def _(d): return write(d / "x.csv", ",".join(f"c{i}" for i in range(1_000_000)) + "\n" + "a," * 10 + "\n")


@case("csv_unbalanced_quote", "samples", r"line 3.*(quote|larger than)")
def _(d): return write(d / "x.csv", 'instruction,response\nWhat?,Yes\n"Never closed,x\n' + "more text\n" * 100)


@case("csv_quote_to_eof", "samples", r"quote|larger than 8 MB", bomb=True)
def _(d): return big_line(d / "x.csv", 30 * MB, b'instruction,response\n"open', b"", fill=b"ab\n")


@case("csv_100mb_cell", "samples", r"line 2 is longer than 8 MB", bomb=True)
def _(d): return big_line(d / "x.csv", 100 * MB, b"instruction,response\nhi,", b"\n")


@case("csv_bom_crlf", "samples")
def _(d): return write(d / "x.csv", b"\xef\xbb\xbfquestion,answer\r\nWhat is 1+1?,2\r\n\"Multi\r\nline\",\"quoted, comma\"\r\n")


@case("csv_latin1", "seeds", r"not UTF-8 text \(invalid byte at line 2\)")
def _(d): return write(d / "x.csv", "question\ncaf\xe9\n".encode("latin-1"))


@case("csv_nul_bytes", "samples", r"binary file")
def _(d): return write(d / "x.csv", b"instruction,response\nhi,there\x00\n")


@case("csv_header_only", "samples", r"holds no rows")
def _(d): return write(d / "x.csv", b"instruction,response\n")


@case("csv_empty", "seeds", r"holds no rows")
def _(d): return write(d / "x.csv", b"")


@case("tsv_quoted_ok", "samples")
def _(d): return write(d / "x.tsv", 'prompt\tcompletion\n"Say ""hi"""\tHi!\nTabs?\t"a\tb"\n')


@case("tsv_extra_fields", "samples", r"line 3 has 3 fields but the header has 2")
def _(d): return write(d / "x.tsv", "prompt\tcompletion\na\tb\nc\td\te\n")


# -- Parquet -------------------------------------------------------------------------------------

@case("parquet_dictionary_bomb", "samples", r"(expands|larger) ", bomb=True)
def _(d):
    import pyarrow as pa

    n = 40_000
    cell = pa.DictionaryArray.from_arrays(pa.array([0] * n, pa.int32()), pa.array(["x" * 100_000]))
    return parquet(d / "x.parquet", pa.table({"instruction": cell, "response": cell}))


@case("parquet_nested_dictionary_bomb", "samples", r"(expands|larger) ", bomb=True)
def _(d):
    import pyarrow as pa

    n = 20_000
    content = pa.DictionaryArray.from_arrays(pa.array([0, 1] * n, pa.int32()), pa.array(["q" * 100_000, "a" * 100_000]))
    role = pa.array(["user", "assistant"] * n)
    turns = pa.StructArray.from_arrays([role, content], ["role", "content"])
    msgs = pa.ListArray.from_arrays(pa.array(range(0, 2 * n + 1, 2), pa.int32()), turns)
    return parquet(d / "x.parquet", pa.table({"messages": msgs}))


@case("parquet_huge_plain_cell", "samples", r"row 2 is larger than 8 MB")
def _(d):
    import pyarrow as pa

    return parquet(d / "x.parquet", pa.table({"prompt": ["ok", "y" * (20 * MB)], "completion": ["fine", "z"]}))


@case("parquet_truncated", "samples", r"not a readable Parquet file")
def _(d):
    import pyarrow as pa

    good = parquet(d / "good.parquet", pa.table({"prompt": ["a"] * 1000, "completion": ["b"] * 1000}))
    data = good.read_bytes()
    good.unlink()
    return write(d / "x.parquet", data[: len(data) // 2])


@case("parquet_empty", "samples", r"not a readable Parquet file")
def _(d): return write(d / "x.parquet", b"")


@case("parquet_really_csv", "prompts", r"not a readable Parquet file")
def _(d): return write(d / "x.parquet", b"prompt\nhello\n")


@case("parquet_messages_ok", "samples")
def _(d):
    import pyarrow as pa

    return parquet(d / "x.parquet", pa.table({"messages": [[{"role": "user", "content": "Hi?"},
                                                            {"role": "assistant", "content": "Hello."}]] * 3}))


@case("parquet_many_columns", "samples", r"more than 1,000 columns")
def _(d):
    import pyarrow as pa

    return parquet(d / "x.parquet", pa.table({f"c{i}": [1] for i in range(1500)}))


# -- datasets folders ----------------------------------------------------------------------------

@case("hf_folder_ok", "samples")
def _(d): return hf_folder(d / "ds")


@case("hf_symlink_escape", "samples", r"outside")
def _(d):
    ds = hf_folder(d / "ds")
    arrow = next(ds.glob("*.arrow"))
    secret = hf_folder(d / "elsewhere")
    arrow.unlink()
    arrow.symlink_to(next(secret.glob("*.arrow")).resolve())
    return ds


@case("hf_state_path_traversal", "samples", r"outside")
def _(d):
    ds = hf_folder(d / "ds")
    outside = hf_folder(d / "elsewhere")
    state = json.loads((ds / "state.json").read_text())
    state["_data_files"] = [{"filename": "../elsewhere/" + next(outside.glob("*.arrow")).name}]
    (ds / "state.json").write_text(json.dumps(state))
    return ds


@case("hf_not_a_dataset", "samples", r"not a folder saved with datasets.save_to_disk")
def _(d):
    (d / "ds").mkdir()
    write(d / "ds" / "state.json", b"{not json")
    return d / "ds"


# -- taxonomy YAML -------------------------------------------------------------------------------

@case("yaml_alias_bomb", "taxonomy", r"alias", bomb=True)
def _(d):
    lines = ["name: Laughs", "task_types: [explanation]", "difficulty: [beginner]",
             "l0: &l0 {name: lol}"]
    for i in range(1, 10):
        lines.append(f"l{i}: &l{i} {{name: l{i}, children: [" + ", ".join(
            f"{{name: c{k}, children: [*l{i - 1}]}}" for k in range(4)) + "]}")
    lines.append("nodes: [*l9]")
    return write(d / "bomb.yaml", "\n".join(lines) + "\n")


@case("yaml_recursive_alias", "taxonomy", r"alias \*me refers to itself")
def _(d): return write(d / "x.yaml", "task_types: [a]\ndifficulty: [b]\nnodes: &me [{name: x, children: *me}]\n")


@case("yaml_duplicate_top_level", "taxonomy", r"duplicate top-level names \['Physics'\]")
def _(d): return write(d / "x.yaml", "task_types: [a]\ndifficulty: [b]\nnodes: [Physics, Chemistry, Physics]\n")


@case("yaml_impossible_date", "taxonomy", r"not valid YAML: month must be in 1..12")
def _(d): return write(d / "x.yaml", "task_types: [a]\ndifficulty: [b]\nnodes: [{name: x, weight: 2001-13-45}]\n")


@case("yaml_5000_digit_number", "taxonomy", r"not valid YAML: Exceeds the limit")
def _(d): return write(d / "x.yaml", "task_types: [a]\ndifficulty: [b]\nnodes: [{name: " + "9" * 5000 + "}]\n")


@case("yaml_python_tag", "taxonomy", r"not valid YAML")
def _(d): return write(d / "x.yaml", "name: !!python/object/apply:os.system ['echo pwned']\n"
                                     "task_types: [a]\ndifficulty: [b]\nnodes: [x]\n")


@case("yaml_deep_nesting", "taxonomy", r"not valid YAML at line 1: exceeded maximum nesting depth|nested")
def _(d): return write(d / "x.yaml", "[" * 100_000)


@case("yaml_too_many_nodes", "taxonomy", r"more than 20,000 nodes")
def _(d): return write(d / "x.yaml", "task_types: [a]\ndifficulty: [b]\nnodes:\n"
                                     + "".join(f"  - n{i}\n" for i in range(25_000)))


@case("yaml_too_deep_tree", "taxonomy", r"nested more than 16 levels deep")
def _(d):
    text, indent = "task_types: [a]\ndifficulty: [b]\nnodes:\n", "  "
    for i in range(30):
        text += f"{indent}- name: n{i}\n{indent}  children:\n"
        indent += "    "
    return write(d / "x.yml", text + f"{indent}- leaf\n")


@case("yaml_long_name", "taxonomy", r"longer than 120 characters")
def _(d): return write(d / "x.yaml", GOOD_TAXONOMY.replace("Optics", "O" * 10_000))


@case("yaml_long_description", "taxonomy", r"description .*longer than 2,000 characters")
def _(d): return write(d / "x.yaml", GOOD_TAXONOMY + "        description: " + "d" * 100_000 + "\n")


@case("yaml_combinations", "taxonomy", r"combinations")
def _(d):
    many = "[" + ", ".join(f"t{i}" for i in range(100)) + "]"
    return write(d / "x.yaml", f"task_types: {many}\ndifficulty: {many}\npersonas: {many}\nnodes: [a, b]\n")


@case("yaml_top_level_scalar", "taxonomy", r"expected a mapping")
def _(d): return write(d / "x.yaml", "just words\n")


@case("yaml_empty", "taxonomy", r"expected a mapping")
def _(d): return write(d / "x.yaml", b"")


@case("yaml_bom_crlf", "taxonomy")
def _(d): return write(d / "x.yml", b"\xef\xbb\xbf" + GOOD_TAXONOMY.replace("\n", "\r\n").encode())


@case("yaml_utf16", "taxonomy", r"UTF-16")
def _(d): return write(d / "x.yaml", GOOD_TAXONOMY.encode("utf-16"))


# -- outlines ------------------------------------------------------------------------------------

@case("outline_20k_spaces", "outline", r"line 2 is longer than 1,000 characters")
def _(d): return write(d / "x.md", "- Physics\n  - Optics" + " " * 20_000 + "x\n")


@case("outline_dot_leader_run", "outline", r"line 1 is longer than 1,000 characters")
def _(d): return write(d / "x.md", "Loops " + "." * 20_000 + " 12\n")


@case("outline_tab_run", "outline", r"line 1 is longer than 1,000 characters")
def _(d): return write(d / "x.md", "Loops" + "\t" * 20_000 + "1x\n")


@case("outline_990_deep_list", "outline", r"line 17: the outline is deeper than 16 levels")
def _(d): return write(d / "x.md", "".join(" " * i + f"- n{i}\n" for i in range(990)))


@case("outline_20k_flat_lines", "outline")  # 73 s before graft found siblings by name in a dict
def _(d): return write(d / "x.md", "".join(f"- Topic {i}\n" for i in range(19_999)))


@case("outline_many_lines", "outline", r"more than 20000 lines")
def _(d): return write(d / "x.md", "".join(f"- n{i}\n" for i in range(25_000)))


@case("outline_toc_bom_crlf", "outline")
def _(d): return write(d / "x.md", "\ufeffContents\r\n1. Loops ........ 12\r\n1.1 While\t14\r\n2. Functions\r\n")


@case("outline_binary", "outline", r"binary file \(a PNG image\)")
def _(d): return write(d / "x.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")


@case("outline_latin1", "outline", r"not UTF-8")
def _(d): return write(d / "x.md", "- caf\xe9\n".encode("latin-1"))


# -- documents -----------------------------------------------------------------------------------

def pdf_bomb(path: Path) -> Path:
    """Under 1 KB: three pages drawing one doubly flate-compressed 70 MB string (before the
    limits, 77 s and 1.2 GB per page)."""
    return pdf(path, [b"BT /F1 1 Tf (" + b"A" * (70 * MB) + b") Tj ET"], pages=[0, 0, 0], filters=2)


@case("pdf_decompression_bomb", "documents", r"decompress", bomb=True)
def _(d): return pdf_bomb(d / "bomb.pdf")


@case("pdf_encrypted", "documents", r"encrypted PDF")
def _(d):
    from pypdf import PdfReader, PdfWriter

    plain = pdf(d / "plain.pdf", [text_ops("A secret fact about rivers and lakes in the north.")])
    w = PdfWriter(clone_from=PdfReader(plain))
    w.encrypt("s3cret", algorithm="AES-128")
    plain.unlink()
    with open(d / "x.pdf", "wb") as f:
        w.write(f)
    return d / "x.pdf"


@case("pdf_really_html", "documents", r"not a readable PDF")
def _(d): return write(d / "x.pdf", b"<!DOCTYPE html><html><body>Not a PDF at all</body></html>\n")


@case("pdf_many_pages", "documents", r"more than 2,000 pages")
def _(d): return pdf(d / "x.pdf", [text_ops("Page.")], pages=[0] * 2500)


@case("txt_utf16", "documents", r"UTF-16")
def _(d): return write(d / "x.txt", GOOD_TEXT.encode("utf-16"))


@case("txt_latin1", "documents", r"not UTF-8")
def _(d): return write(d / "x.txt", ("caf\xe9 " + GOOD_TEXT).encode("latin-1"))


@case("txt_empty", "documents", r"holds no text")
def _(d): return write(d / "x.txt", b"")


@case("txt_too_many_characters", "documents", r"more than 10,000,000 characters")
def _(d): return big_line(d / "x.txt", 12 * MB, b"", b"\n", fill=b"word ")


@case("md_bom_crlf", "documents")
def _(d): return write(d / "x.md", "\ufeff# Rivers\r\n\r\n" + GOOD_TEXT.replace("\n", "\r\n"))


@case("docs_symlink_escape", "documents", skipped=r"secret\.txt: .*outside")
def _(d):
    write(d / "secret-outside.txt", "A private file that must never be imported. " * 10)
    (d / "docs").mkdir()
    write(d / "docs" / "rivers.md", GOOD_TEXT)
    (d / "docs" / "secret.txt").symlink_to((d / "secret-outside.txt").resolve())
    return d / "docs"


@case("docs_symlink_loop", "documents", skipped=r"loop: .*outside")
def _(d):
    (d / "docs").mkdir()
    write(d / "docs" / "rivers.md", GOOD_TEXT)
    (d / "docs" / "loop").symlink_to(d.resolve())
    return d / "docs"


# -- uploads (bytes in) --------------------------------------------------------------------------

@case("upload_dotdot_name", "upload")
def _(d): return [("../../../../tmp/evil.jsonl", GOOD_JSONL)]


@case("upload_long_name", "upload")
def _(d): return [("n" * 5000 + ".jsonl", GOOD_JSONL)]


@case("upload_nul_in_name", "upload")
def _(d): return [("a\x00b/../c.jsonl", GOOD_JSONL)]


@case("upload_no_name", "upload", r"unsupported file type")
def _(d): return [("..", GOOD_JSONL)]


@case("upload_empty", "upload", r"x\.jsonl is empty")
def _(d): return [("x.jsonl", b"")]


@case("upload_docs_same_names", "upload", kind="documents")
def _(d): return [("../a.md", GOOD_TEXT.encode()), ("sub/../a.md", GOOD_TEXT.encode())]


@case("upload_pdf_bomb", "upload", r"bomb\.pdf: .*decompress", kind="documents", bomb=True)
def _(d): return [("bomb.pdf", pdf_bomb(d / "bomb.pdf").read_bytes())]


@case("upload_yaml_as_samples", "upload", r"unsupported file type")
def _(d): return [("tax.yaml", GOOD_TAXONOMY.encode())]


# -- running a case ------------------------------------------------------------------------------

def run(case: Case, project: str) -> Any:
    """Feed a case through the path the CLI and the pages use; returns what the import returned."""
    from lumina.io import importers, uploads
    from lumina.taxonomy import edit as taxonomy_edit
    from lumina.io.textfiles import read_text

    if case.surface in ("samples", "seeds", "prompts", "evalset"):
        return importers.import_file(project, case.target, case.surface)
    if case.surface == "documents":
        return importers.import_documents(project, case.target)
    if case.surface == "taxonomy":  # `lumina taxonomy import` and the Taxonomy page
        return taxonomy_edit.replace_from_yaml(project, read_text(case.target), where=str(case.target))
    if case.surface == "outline":
        return taxonomy_edit.import_outline(project, read_text(case.target), where=str(case.target))
    if case.surface == "upload":
        return uploads.import_uploads(project, case.kind, case.target)
    raise ValueError(case.surface)


def stored(project: str) -> tuple[int, int, int]:
    """(samples, inputs, taxonomy nodes) of the project."""
    from lumina.store import connect
    from lumina.store import projects as store_projects

    with connect() as con:
        pid = store_projects.get(con, project).id
        return tuple(con.execute(f"SELECT count(*) FROM {t} WHERE project_id = ?", [pid]).fetchone()[0]
                     for t in ("samples", "inputs", "taxonomy_nodes"))


def measure(dir: Path, name: str) -> dict[str, Any]:
    """Run one case in this (fresh) process: its outcome, seconds and peak RSS in MB."""
    import time

    from lumina.errors import LuminaError
    from lumina.projects import create_project

    (c,) = build(dir, only=[name])
    os.environ.setdefault("LUMINA_HOME", str(Path(dir) / "home"))
    create_project("hostile", teacher="transformers:smollm2-135m-instruct", check_reachable=False)
    before = stored("hostile")
    t0 = time.monotonic()
    try:
        run(c, "hostile")
        outcome, message = "ok", ""
    except LuminaError as exc:
        outcome, message = type(exc).__name__, str(exc)
    seconds = time.monotonic() - t0
    return {"case": name, "outcome": outcome, "message": message[:300], "seconds": round(seconds, 2),
            "peak_rss_mb": _peak_rss_mb(), "unchanged": stored("hostile") == before}


def _peak_rss_mb() -> int:
    """This process's peak RSS. Linux's ru_maxrss keeps the parent's high-water mark across
    fork and exec (a child of a 2 GB pytest reports 2 GB), so read VmHWM, which is per image."""
    import resource

    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    args = sys.argv[1:]
    if "--run" in args:
        print(json.dumps(measure(Path(args[0]), args[args.index("--run") + 1])))
    else:
        for c in build(args[0] if args else "hostile-corpus"):
            print(f"{c.name:32} {c.surface:10} {c.expect or 'ok'}")
