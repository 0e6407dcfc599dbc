"""Streaming readers for other people's files: JSONL, JSON, CSV/TSV, Parquet and datasets folders, one bounded row at a time (field size, columns, nesting, decoded size)."""

from __future__ import annotations

import codecs
import json
import re
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator

from lumina.errors import InvalidInputError, LuminaError, NotFoundError, first_line
from lumina.io.textfiles import field_limit, inside, lines, sniff, walk


MAX_FILE_BYTES = 2 * 1024**3  # also the most text a Parquet file or datasets folder may expand to
MAX_COLUMNS = 1_000
MAX_NESTING = 100  # JSON values deeper than this are refused (the writers recurse over them)
MAX_STATE_BYTES = 16 * 1024**2
BATCH_CHARS = 16_000_000  # the most text one Arrow slice of a Parquet file or datasets folder holds
def read_rows(path: str | Path) -> Iterator[dict[str, Any]]:
    """The file's rows, one at a time: no reader holds more than one row's worth of the file
    (a JSONL line, a CSV record, a JSON array element, a slice of a Parquet batch) at once."""
    p = Path(path).expanduser()
    if not p.exists():
        raise NotFoundError(f"No such file or folder: {p}")
    if p.is_dir():
        yield from _read_hf_folder(p)
        return
    if p.stat().st_size > MAX_FILE_BYTES:
        raise InvalidInputError(f"{p} is larger than {MAX_FILE_BYTES // 1024**3} GB; split it first.")
    suffix = "".join(p.suffixes[-2:]).lower() if p.suffix == ".gz" else p.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        yield from _read_jsonl(p)
    elif suffix == ".json":
        yield from _read_json(p)
    elif suffix in (".csv", ".tsv"):
        yield from _read_csv(p, sep="\t" if suffix == ".tsv" else ",")
    elif suffix == ".parquet":
        yield from _read_parquet(p)
    else:
        raise InvalidInputError(f"{p}: unsupported file type '{p.suffix}' (use .jsonl, .json, .csv, .tsv, .parquet or a datasets folder).")


def _too_big(what: str, limit: int) -> str:
    return f"{what} is larger than {limit // 1024**2} MB (the limit is LUMINA_MAX_FIELD_MB)."


# An escaped UTF-16 surrogate: only then is a parsed value searched for a lone one.
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _checked(value: Any, text: str, where: str) -> Any:
    """A parsed JSON value that the store can hold: valid Unicode, nested at most MAX_NESTING deep
    (the writers recurse over it)."""
    if text.count("[") + text.count("{") > MAX_NESTING:
        stack = [(value, 1)]
        while stack:
            v, depth = stack.pop()
            if depth > MAX_NESTING:
                raise InvalidInputError(f"{where}: the JSON is nested more than {MAX_NESTING} levels deep.")
            if isinstance(v, dict):
                stack += [(x, depth + 1) for x in v.values()]
            elif isinstance(v, list):
                stack += [(x, depth + 1) for x in v]
    if _SURROGATE.search(text):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInputError(f"{where}: holds a lone UTF-16 surrogate escape (such as \\ud800), "
                                    "which is not text.") from None
    return value


def _read_jsonl(p: Path) -> Iterator[dict[str, Any]]:
    for n, line in lines(p):
        if not line.strip():
            continue
        where = f"{p}, line {n}"
        try:
            row = json.loads(line)
        except RecursionError:
            raise InvalidInputError(f"{where}: not valid JSON (nested too deeply).") from None
        except ValueError as exc:  # JSONDecodeError, or an integer of more than 4300 digits
            raise InvalidInputError(f"{where}: not valid JSON ({getattr(exc, 'msg', None) or first_line(exc)}).") from None
        if not isinstance(row, dict):
            raise InvalidInputError(f"{where}: expected a JSON object, got {type(row).__name__}.")
        yield _checked(row, line, where)


_WS = re.compile(r"[ \t\n\r]*")
_DELIMITERS = frozenset(" \t\n\r,:]}")
_DECODER = json.JSONDecoder()


class _JsonStream:
    """A JSON file's rows read piece by piece: the elements of its top-level list (or of the one
    list in a top-level object, ``{"data": [...]}``), each at most ``limit`` characters."""

    CHUNK = 1 << 20

    def __init__(self, f: BinaryIO, p: Path, limit: int):
        self.f, self.p, self.limit = f, p, limit
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.buf, self.pos, self.eof, self.dropped_lines = "", 0, False, 0

    def fill(self) -> None:
        data = self.f.read(self.CHUNK)
        try:
            text = self.decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            line = self.dropped_lines + self.buf.count("\n") + data[:max(exc.start, 0)].count(b"\n") + 1
            raise InvalidInputError(f"{self.p} is not UTF-8 text (invalid byte at line {line}); "
                                    "re-save it as UTF-8.") from None
        self.dropped_lines += self.buf.count("\n", 0, self.pos)
        self.buf, self.pos, self.eof = self.buf[self.pos:] + text, 0, not data

    def line(self, at: int | None = None) -> int:
        return self.dropped_lines + self.buf.count("\n", 0, self.pos if at is None else at) + 1

    def fail(self, why: str, at: int | None = None) -> InvalidInputError:
        return InvalidInputError(f"{self.p}: not valid JSON at line {self.line(at)} ({why}).")

    def peek(self) -> str:
        """The next character after white space ('' at the end), reading on as needed."""
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()
            if self.pos < len(self.buf) or self.eof:
                return self.buf[self.pos:self.pos + 1]
            self.fill()

    def take(self, chars: str) -> str:
        c = self.peek()
        if not c or c not in chars:
            raise self.fail(f"expected {' or '.join(map(repr, chars))}")
        self.pos += 1
        return c

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
                # A number (or true/false/null) cut by the buffer's end reads as a shorter one.
                if self.eof or (end < len(self.buf) and (isinstance(value, (str, list, dict))
                                                         or self.buf[end] in _DELIMITERS)):
                    start, self.pos = self.pos, end
                    return _checked(value, self.buf[start:end], f"{self.p}, line {self.line(start)}")
            except RecursionError:
                raise self.fail("nested too deeply") from None
            except ValueError as exc:
                if self.eof:
                    raise self.fail(getattr(exc, "msg", None) or first_line(exc), getattr(exc, "pos", None)) from None
            if len(self.buf) - self.pos > self.limit:
                raise InvalidInputError(f"{self.p}: " + _too_big(f"the value at line {self.line()}", self.limit))
            self.fill()

    def elements(self) -> Iterator[Any]:
        self.take("[")
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            yield self.value()
            if self.take(",]") == "]":
                return

    def rows(self) -> Iterator[Any]:
        c = self.peek()
        if c == "[":
            yield from self.elements()
        elif c == "{":
            self.take("{")
            lists = 0
            if self.peek() == "}":
                self.pos += 1
            else:
                while True:
                    if self.peek() != '"':
                        raise self.fail("expected a key")
                    self.value()
                    self.take(":")
                    if self.peek() == "[":
                        lists += 1
                        if lists > 1:
                            raise InvalidInputError(f"{self.p}: expected a list of objects (it holds more than one list).")
                        yield from self.elements()
                    else:
                        self.value()
                    if self.take(",}") == "}":
                        break
            if not lists:
                raise InvalidInputError(f"{self.p}: expected a list of objects.")
        elif not c:
            raise self.fail("Expecting value")
        else:
            raise InvalidInputError(f"{self.p}: expected a list of objects, not a single value.")
        if self.peek():
            raise self.fail("extra data after the list")


def _read_json(p: Path) -> Iterator[dict[str, Any]]:
    with open(p, "rb") as f:
        sniff(f.read(8192), str(p))
        f.seek(0)
        for i, row in enumerate(_JsonStream(f, p, field_limit()).rows(), 1):
            if not isinstance(row, dict):
                raise InvalidInputError(f"{p}: element {i} is {type(row).__name__}; expected a list of objects.")
            yield row


def _unique(names: list[str]) -> list[str]:
    """Column names, repeats renamed 'a.1', 'a.2' as pandas does."""
    out: list[str] = []
    seen: set[str] = set()
    tries: dict[str, int] = {}
    for name in names:
        new = name
        while new in seen:
            tries[name] = tries.get(name, 0) + 1
            new = f"{name}.{tries[name]}"
        seen.add(new)
        out.append(new)
    return out


def _read_csv(p: Path, sep: str) -> Iterator[dict[str, Any]]:
    import csv

    limit = field_limit()
    csv.field_size_limit(max(csv.field_size_limit(), limit))
    at = {"line": 0, "start": 1, "size": 0}  # the record being read: where it starts, its size so far

    def source() -> Iterator[str]:
        for n, text in lines(p, limit):
            at["line"], at["size"] = n, at["size"] + len(text)
            if at["size"] > limit:  # a quote left open makes the rest of the file one record
                raise InvalidInputError(f"{p}: " + _too_big(f"the record starting at line {at['start']}", limit)
                                        .replace(" (", "; is a quote left open? (", 1))
            yield text

    reader = csv.reader(source(), delimiter=sep, strict=True)
    header: list[str] | None = None
    while True:
        at["start"], at["size"] = at["line"] + 1, 0
        try:
            record = next(reader, None)
        except csv.Error as exc:
            raise InvalidInputError(f"{p}: the record starting at line {at['start']} is not readable CSV ({exc}); "
                                    "is a quote left open or misplaced?") from None
        if record is None:
            return
        if not record:
            continue
        if header is None:
            if len(record) > MAX_COLUMNS:
                raise InvalidInputError(f"{p}: the header has more than {MAX_COLUMNS:,} columns ({len(record):,}).")
            header = _unique(record)
        elif len(record) > len(header):
            raise InvalidInputError(f"{p}: line {at['start']} has {len(record)} fields but the header has {len(header)}.")
        else:
            yield dict(zip(header, record + [""] * (len(header) - len(record))))


def _cell_bytes(arr) -> Any:
    """Bytes of text each element of an Arrow array holds once turned into Python objects: a
    dictionary-encoded cell counts its value in full, however often the file repeats it."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    t = arr.type
    if pa.types.is_dictionary(t):
        sizes = _cell_bytes(arr.dictionary)
        if not len(sizes):
            return np.zeros(len(arr), np.int64)
        out = sizes[arr.indices.fill_null(0).to_numpy(zero_copy_only=False)]
        out[arr.is_null().to_numpy(zero_copy_only=False)] = 0
        return out
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return pc.binary_length(arr).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_map(t):
        within = np.concatenate([[0], np.cumsum(_cell_bytes(arr.values))])
        offsets = arr.offsets.to_numpy(zero_copy_only=False)
        return within[offsets[1:]] - within[offsets[:-1]]
    if pa.types.is_fixed_size_list(t):
        return _cell_bytes(arr.flatten()).reshape(len(arr), t.list_size).sum(axis=1)
    if pa.types.is_struct(t):
        return sum((_cell_bytes(f) for f in arr.flatten()), np.zeros(len(arr), np.int64))
    return np.full(len(arr), 8, np.int64)


def _arrow_rows(batches: Callable[[], Iterator[Any]], where: str) -> Iterator[dict[str, Any]]:
    """Rows of Arrow record batches. A first pass sizes every row from the Arrow data alone, so a
    file that expands (a small Parquet of dictionary-encoded cells) is refused before any Python
    object is made; the second makes rows a slice of at most BATCH_CHARS at a time."""
    import numpy as np

    limit = field_limit()

    def sized() -> Iterator[tuple[Any, Any]]:
        for batch in batches():
            yield batch, sum((_cell_bytes(c) for c in batch.columns), np.zeros(batch.num_rows, np.int64))

    total = row = 0
    for _, sizes in sized():
        over = sizes > limit
        if over.any():
            raise InvalidInputError(f"{where}: " + _too_big(f"row {row + int(over.argmax()) + 1}", limit))
        total += int(sizes.sum())
        row += len(sizes)
        if total > MAX_FILE_BYTES:
            raise InvalidInputError(f"{where} expands to more than {MAX_FILE_BYTES // 1024**3} GB of text "
                                    f"by row {row:,}; split it first.")
    for batch, sizes in sized():
        start, used = 0, 0
        for i, size in enumerate(sizes.tolist()):
            if used and used + size > BATCH_CHARS:
                yield from batch.slice(start, i - start).to_pylist()
                start, used = i, 0
            used += size
        yield from batch.slice(start).to_pylist()


def _read_parquet(p: Path) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(p)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise InvalidInputError(f"{p}: not a readable Parquet file ({first_line(exc)}).") from None
    if meta.num_columns > MAX_COLUMNS:
        raise InvalidInputError(f"{p} has more than {MAX_COLUMNS:,} columns ({meta.num_columns:,}).")
    groups = [meta.row_group(i) for i in range(meta.num_row_groups)]
    declared = sum(g.total_byte_size for g in groups)
    if declared > MAX_FILE_BYTES:
        raise InvalidInputError(f"{p} holds {declared / 1024**3:,.1f} GB of data uncompressed, more than "
                                f"{MAX_FILE_BYTES // 1024**3} GB; split it first.")
    # Dictionary-encoded text stays encoded in Arrow (a repeated value is held once) until rows are made.
    encoded = sorted({c.path_in_schema for g in groups for c in (g.column(j) for j in range(g.num_columns))
                      if c.has_dictionary_page and c.physical_type == "BYTE_ARRAY"})
    try:
        f = pq.ParquetFile(p, metadata=meta, read_dictionary=encoded or None, buffer_size=1 << 20)
        yield from _arrow_rows(lambda: f.iter_batches(batch_size=256), str(p))
    except LuminaError:
        raise
    except Exception as exc:
        raise InvalidInputError(f"{p}: not a readable Parquet file ({first_line(exc)}).") from None


def _read_hf_folder(p: Path) -> Iterator[dict[str, Any]]:
    import datasets

    files, outside = walk(p)
    if outside:
        raise InvalidInputError(f"{p}: {outside[0].relative_to(p)} is a link to something outside the folder; "
                                "copy the file in instead.")
    for state in (f for f in files if f.name == "state.json"):
        try:
            named = [d.get("filename", "") for d in json.loads(state.read_bytes()[:MAX_STATE_BYTES])["_data_files"]]
        except Exception:
            continue  # datasets says what is wrong with it below
        bad = next((n for n in named if not inside(p, state.parent / str(n))), None)
        if bad is not None:
            raise InvalidInputError(f"{p}: {state.relative_to(p)} names a data file outside the folder ({str(bad)[:100]}).")
    try:
        ds = datasets.load_from_disk(str(p))
    except Exception as exc:
        raise InvalidInputError(f"{p}: not a folder saved with datasets.save_to_disk ({first_line(exc)}).") from None
    if isinstance(ds, datasets.DatasetDict):
        split = "train" if "train" in ds else next(iter(ds))
        ds = ds[split]
    table = ds.with_format("arrow")
    try:
        yield from _arrow_rows(lambda: (b for t in table.iter(batch_size=256) for b in t.to_batches()), str(p))
    except LuminaError:
        raise
    except Exception as exc:
        raise InvalidInputError(f"{p}: a datasets folder that cannot be read ({first_line(exc)}).") from None
