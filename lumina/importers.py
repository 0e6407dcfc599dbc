"""Import other people's data: JSONL / JSON / CSV / Parquet files or a `datasets` folder.

Rows are mapped to samples by their columns: a chat ``messages`` (or ShareGPT ``conversations``)
column, or instruction/response-like columns under any of their common names. Every problem is
reported with the file and, where there is one, the line — nothing is half-imported: all rows
land in one transaction or none do.

Files stream: every reader yields one row at a time with its size bounded (LUMINA_MAX_FIELD_MB
per line / record / row), an import reads the file twice (check every row, then write them in
bounded batches inside one transaction), so memory follows the largest row, not the file.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator

from lumina import access
from lumina.errors import InvalidInputError, LuminaError, NotFoundError, first_line
from lumina.records import NewSample
from lumina.store import connect, transaction
from lumina.store import inputs as store_inputs
from lumina.store import projects as store_projects
from lumina.store import samples as store_samples
from lumina.textfiles import field_limit, inside, lines, sniff, walk

KINDS = ("samples", "seeds", "prompts", "documents", "evalset")
MAX_FILE_BYTES = 2 * 1024**3  # also the most text a Parquet file or datasets folder may expand to
MAX_COLUMNS = 1_000
MAX_NESTING = 100  # JSON values deeper than this are refused (the writers recurse over them)
MAX_STATE_BYTES = 16 * 1024**2
# Rows are checked in a first pass and written in a second, a batch at a time, all in one
# transaction: a batch holds at most this many rows and characters of text.
BATCH_ROWS = 5_000
BATCH_CHARS = 16_000_000

INSTRUCTION_COLS = ("instruction", "prompt", "question", "query", "input", "text", "problem")
RESPONSE_COLS = ("response", "output", "answer", "completion", "chosen", "solution", "target")
CONTEXT_COLS = ("context", "passage", "document", "input_context")
ROLE_MAP = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
            "model": "assistant", "bot": "assistant", "system": "system"}


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


def _cols(row: dict[str, Any]) -> str:
    names = [str(k)[:60] for k in list(row)[:20]]
    return ", ".join(names) + (f" … {len(row):,} in all" if len(row) > 20 else "")


def _check_mapping(row: dict[str, Any], columns: dict[str, str], where: str) -> None:
    # A context column may be absent from some rows (not every task has a passage).
    missing = [f"{role} column '{col}'" for role, col in columns.items()
               if col and col not in row and role != "context"]
    if missing:
        raise InvalidInputError(f"{where}: no {', '.join(missing)} (columns: {_cols(row)}).")


def _pick(row: dict[str, Any], names: tuple[str, ...], mapping: str | None) -> Any:
    if mapping:
        return row.get(mapping)
    lower = {k.lower(): k for k in row}
    for n in names:
        if n in lower and row[lower[n]] not in (None, ""):
            return row[lower[n]]
    return None


def _messages(value: Any) -> list[dict[str, str]] | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return None
    if not isinstance(value, list) or not value:
        return None
    out = []
    for m in value:
        if not isinstance(m, dict):
            return None
        role = ROLE_MAP.get(str(m.get("role", m.get("from", ""))).lower())
        content = m.get("content", m.get("value"))
        if role is None or not isinstance(content, str):
            return None
        out.append({"role": role, "content": content})
    return out


MESSAGES_COLS = ("messages", "conversations", "conversation", "chat")


def _row_messages(row: dict[str, Any], columns: dict[str, str]) -> list[dict[str, str]] | None:
    """The row's chat turns (OpenAI ``messages`` or ShareGPT ``conversations``), if it has any."""
    return _messages(_pick(row, MESSAGES_COLS, columns.get("messages")))


def _text_field(value: Any) -> str | None:
    """Other people's files put numbers, lists or NaN where Lumina keeps text (difficulty 3)."""
    if value is None or (isinstance(value, float) and value != value) or value == "":
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else str(value)


def row_to_sample(row: dict[str, Any], where: str, source: str, columns: dict[str, str] | None = None) -> NewSample:
    columns = columns or {}
    _check_mapping(row, columns, where)
    msgs = _row_messages(row, columns)
    context = _pick(row, CONTEXT_COLS, columns.get("context"))
    if msgs:
        users = [m["content"] for m in msgs if m["role"] == "user"]
        answers = [m["content"] for m in msgs if m["role"] == "assistant"]
        if not users or not answers:
            raise InvalidInputError(f"{where}: the conversation needs a user and an assistant turn.")
        instruction, response = users[0], answers[-1]
    else:
        instruction = _pick(row, INSTRUCTION_COLS, columns.get("instruction"))
        response = _pick(row, RESPONSE_COLS, columns.get("response"))
        if instruction is None or response is None:
            raise InvalidInputError(
                f"{where}: no instruction/response found (columns: {_cols(row)}). "
                "Name them instruction/response (or prompt/completion, question/answer), or give a messages column."
            )
        instruction, response = str(instruction), str(response)
        if context and isinstance(context, str) and context.strip():
            user = f"{context.strip()}\n\n{instruction}"
        else:
            user = instruction
        msgs = [{"role": "user", "content": user}, {"role": "assistant", "content": response}]
    # Lumina's own exports (samples --json) carry provenance: keep it.
    return NewSample(
        mode=_text_field(row.get("mode")) or "import", instruction=instruction, response=response, messages=msgs,
        node_path=_text_field(row.get("node") or row.get("node_path")), task_type=_text_field(row.get("task_type")),
        difficulty=_text_field(row.get("difficulty")), persona=_text_field(row.get("persona")),
        context=context if isinstance(context, str) else None, reasoning=_text_field(row.get("reasoning")),
        teacher=_text_field(row.get("teacher")), instruction_teacher=_text_field(row.get("instruction_teacher")),
        template=_text_field(row.get("template")), params=row.get("params") if isinstance(row.get("params"), dict) else None,
        seed=row.get("seed") if isinstance(row.get("seed"), int) else None,
        raw=row.get("raw") if isinstance(row.get("raw"), dict) else None, source=source,
    )


def row_to_seed(row: dict[str, Any], where: str, columns: dict[str, str] | None = None) -> dict[str, Any]:
    """A seed task: an instruction, optionally its response and context."""
    columns = columns or {}
    _check_mapping(row, columns, where)
    msgs = _row_messages(row, columns)
    if msgs:
        users = [m["content"] for m in msgs if m["role"] == "user"]
        answers = [m["content"] for m in msgs if m["role"] == "assistant"]
        instruction, response = (users[0] if users else None), (answers[0] if answers else None)
    else:
        instruction = _pick(row, INSTRUCTION_COLS, columns.get("instruction"))
        response = _pick(row, RESPONSE_COLS, columns.get("response"))
    if not isinstance(instruction, str) or not instruction.strip():
        raise InvalidInputError(
            f"{where}: no instruction found (columns: {_cols(row)}). "
            "Name it instruction (or prompt, question), or give a messages column."
        )
    context = _pick(row, CONTEXT_COLS, columns.get("context"))
    seed: dict[str, Any] = {"instruction": instruction.strip()}
    if response is not None and str(response).strip():
        seed["response"] = str(response).strip()
    if isinstance(context, str) and context.strip():
        seed["context"] = context.strip()
    return seed


def row_to_prompt(row: dict[str, Any], where: str, columns: dict[str, str] | None = None) -> dict[str, Any]:
    """A prompt to regenerate: its system and user turns (old assistant turns are dropped)."""
    columns = columns or {}
    _check_mapping(row, columns, where)
    msgs = _row_messages(row, columns)
    if msgs:
        kept = [m for m in msgs if m["role"] in ("system", "user")]
    else:
        instruction = _pick(row, INSTRUCTION_COLS, columns.get("instruction"))
        if not isinstance(instruction, str) or not instruction.strip():
            raise InvalidInputError(
                f"{where}: no prompt found (columns: {_cols(row)}). "
                "Give a messages column, or name the prompt column instruction / prompt / question."
            )
        context = _pick(row, CONTEXT_COLS, columns.get("context"))
        user = f"{context.strip()}\n\n{instruction}" if isinstance(context, str) and context.strip() else instruction
        kept = [{"role": "user", "content": user}]
    if not any(m["role"] == "user" and m["content"].strip() for m in kept):
        raise InvalidInputError(f"{where}: the conversation has no user turn.")
    return {"messages": kept}


CHOICES_COLS = ("choices", "options", "endings")
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def row_to_eval_item(row: dict[str, Any], where: str, set_name: str,
                     columns: dict[str, str] | None = None) -> dict[str, Any]:
    """One benchmark item: the question as the student sees it, its reference answer if the set
    has one, and ``text`` (question and answer) for contamination checks.

    Shapes other people's sets come in: chat ``messages``; question/answer (or prompt/completion,
    input/target...); multiple choice with a ``choices`` list and an ``answer`` index or letter
    (MMLU, ARC, HellaSwag style), shown lettered; or a bare ``text`` column.
    """
    columns = columns or {}
    _check_mapping(row, columns, where)
    msgs = _row_messages(row, columns)
    if msgs:
        prompt = [m for m in msgs if m["role"] != "assistant"]
        answers = [m["content"] for m in msgs if m["role"] == "assistant"]
        question = next((m["content"] for m in prompt if m["role"] == "user"), None)
        answer = answers[-1] if answers else None
        if question is None:
            raise InvalidInputError(f"{where}: the conversation has no user turn.")
    else:
        question = _pick(row, INSTRUCTION_COLS + ("ctx", "goal", "sentence"), columns.get("instruction"))
        answer = _pick(row, RESPONSE_COLS + ("answerkey", "label"), columns.get("response"))
        if not isinstance(question, str) or not question.strip():
            raise InvalidInputError(
                f"{where}: no question found (columns: {_cols(row)}). Name it question / "
                "prompt / instruction / input / text, or give a messages column.")
        choices = _pick(row, CHOICES_COLS, None)
        labels = None
        if isinstance(choices, dict) and isinstance(choices.get("text"), list):  # ARC: {"text": [...], "label": [...]}
            labels = [str(x) for x in choices.get("label") or []]
            choices = choices["text"]
        if isinstance(choices, list) and choices and all(isinstance(c, (str, int, float)) for c in choices):
            lettered = [f"{LETTERS[k]}. {c}" for k, c in enumerate(choices[:26])]
            question = question.strip() + "\n\n" + "\n".join(lettered)
            if labels and str(answer).strip() in labels:  # ARC names answers by its own labels ("C", or "3")
                answer = lettered[labels.index(str(answer).strip())]
            elif isinstance(answer, str) and answer.strip().isdigit() and 0 <= int(answer) < len(lettered):
                answer = lettered[int(answer)]  # HellaSwag's label "2": an index, as text
            elif isinstance(answer, (int, float)) and not isinstance(answer, bool) and 0 <= int(answer) < len(lettered):
                answer = lettered[int(answer)]
            elif isinstance(answer, str) and answer.strip().upper() in LETTERS[:len(lettered)]:
                answer = lettered[LETTERS.index(answer.strip().upper())]
        context = _pick(row, CONTEXT_COLS, columns.get("context"))
        if isinstance(context, str) and context.strip():
            question = f"{context.strip()}\n\n{question}"
        prompt = [{"role": "user", "content": question}]
        answer = _text_field(answer)
    item: dict[str, Any] = {"set": set_name, "prompt": prompt, "answer": answer,
                            "text": question + (f"\n{answer}" if answer else "")}
    return item


@access.requires("owner", action="import into the project")
def import_evalset(project: str, path: str | Path, name: str | None = None,
                   columns: dict[str, str] | None = None, source_name: str | None = None,
                   replace: bool = False) -> int:
    """Import a benchmark (or any held-out set) as eval set ``name`` (default: the file's name).

    Used to check generated samples for contamination and, after training, for forgetting.
    Importing under a name that exists fails unless ``replace``; all rows or none.
    """
    p_path = Path(path).expanduser()
    name = (name or Path(source_name or p_path).stem.split(".")[0] or "evalset").strip()
    if not name or len(name) > 80:
        raise InvalidInputError("An eval set name must be 1-80 characters.")
    src = source_name or str(p_path.resolve())

    def convert(row: dict[str, Any], where: str) -> dict[str, Any]:
        return row_to_eval_item(row, where, name, columns)

    total = _check_rows(path, convert)
    with connect() as con, transaction(con):
        p = store_projects.get(con, project)
        existing = store_inputs.evalsets(con, p.id)
        if name in existing:
            if not replace:
                raise InvalidInputError(f"'{project}' already has an eval set named '{name}' ({existing[name]} items). "
                                        "Give another --name, or --replace it.")
            store_inputs.delete_evalset(con, p.id, name)
        import_id = store_projects.record_import(con, p.id, "evalset", src, total)
        _write_rows(path, convert, total, lambda batch: store_inputs.add(con, p.id, "evalset", import_id, batch))
    return total


def _parsed(path: str | Path, convert: Callable[[dict[str, Any], str], Any]) -> Iterator[Any]:
    for i, row in enumerate(read_rows(path), 1):
        yield convert(row, f"{path}, row {i}")


def _check_rows(path: str | Path, convert: Callable[[dict[str, Any], str], Any]) -> int:
    """The first pass: read and check every row, holding one at a time, before the store is
    touched. Returns how many there are."""
    total = sum(1 for _ in _parsed(path, convert))
    if not total:
        raise InvalidInputError(f"{path} holds no rows.")
    return total


def _chars(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(map(_chars, value.values()))
    if isinstance(value, (list, tuple)):
        return sum(map(_chars, value))
    return _chars(vars(value)) if isinstance(value, NewSample) else 8


def _write_rows(path: str | Path, convert: Callable[[dict[str, Any], str], Any], total: int,
                write: Callable[[list[Any]], Any]) -> None:
    """The second pass, inside the caller's transaction: the rows again, written a bounded batch
    at a time (BATCH_ROWS rows, BATCH_CHARS characters)."""
    batch: list[Any] = []
    used = written = 0
    for item in _parsed(path, convert):
        batch.append(item)
        used += _chars(item)
        if len(batch) >= BATCH_ROWS or used >= BATCH_CHARS:
            write(batch)
            written += len(batch)
            batch, used = [], 0
    if batch:
        write(batch)
        written += len(batch)
    if written != total:
        raise InvalidInputError(f"{path} changed while it was being imported; nothing was imported, try again.")


def evalsets(project: str) -> dict[str, int]:
    with connect() as con:
        p = store_projects.get(con, project)
        return store_inputs.evalsets(con, p.id)


def evalset_items(project: str, name: str) -> list[dict[str, Any]]:
    with connect() as con:
        p = store_projects.get(con, project)
        known = store_inputs.evalsets(con, p.id)
        if name not in known:
            hint = f" Eval sets: {', '.join(known)}." if known else " Import one with `lumina import PROJECT FILE --as evalset`."
            raise NotFoundError(f"No eval set '{name}' in '{project}'.{hint}")
        return [d | {"id": i} for i, d in store_inputs.evalset_items(con, p.id, name)]


@access.requires("owner", action="import into the project")
def import_file(project: str, path: str | Path, kind: str = "samples",
                columns: dict[str, str] | None = None, source_name: str | None = None,
                chunk_chars: int | None = None, overlap: int | None = None) -> int:
    """Import a file into a project; returns the number of rows imported. All rows or none.

    ``source_name`` is recorded instead of the path (an upload's original file name).
    Documents are cut into passages; their count is returned (see ``import_documents``).
    """
    if kind not in KINDS:
        raise InvalidInputError(f"Unknown import kind '{kind}' (use one of: {', '.join(KINDS)}).")
    if kind == "evalset":
        return import_evalset(project, path, columns=columns, source_name=source_name)
    if kind == "documents":
        return import_documents(project, path, chunk_chars, overlap, source_name).chunks
    src = source_name or str(Path(path).expanduser().resolve())
    convert: Callable[[dict[str, Any], str], Any] = {
        "samples": lambda row, where: row_to_sample(row, where, src, columns),
        "seeds": lambda row, where: row_to_seed(row, where, columns),
        "prompts": lambda row, where: row_to_prompt(row, where, columns),
    }[kind]
    total = _check_rows(path, convert)
    with connect() as con, transaction(con):
        p = store_projects.get(con, project)
        import_id = store_projects.record_import(con, p.id, kind, src, total)
        if kind == "samples":  # rows only: scoring them inside this transaction held the database for minutes
            _write_rows(path, convert, total, lambda batch: store_samples.insert_many(con, p.id, batch))
        else:
            _write_rows(path, convert, total, lambda batch: store_inputs.add(con, p.id, kind.rstrip("s"), import_id, batch))
    if kind == "samples":
        from lumina.scoring import score_heuristics

        score_heuristics(p.id)  # short transactions of their own; `lumina score` redoes any left undone
    return total


@dataclass
class DocumentImport:
    documents: int
    chunks: int
    skipped: list[str] = field(default_factory=list)  # 'file: why' for files a folder import left out


@access.requires("owner", action="import into the project")
def import_documents(project: str, path: str | Path, chunk_chars: int | None = None,
                     overlap: int | None = None, source_name: str | None = None,
                     titles: dict[str, str] | None = None) -> DocumentImport:
    """Read documents (a file or a folder), cut them into passages, store both. All or nothing.

    ``titles`` maps file names to what the user calls them (uploads: the original names); such
    documents are recorded by that name, not by the path of a temporary copy."""
    from lumina import documents

    size = chunk_chars or documents.DEFAULT_CHUNK_CHARS
    ov = documents.DEFAULT_OVERLAP_CHARS if overlap is None else overlap
    docs, skipped = documents.collect(path)
    if source_name and len(docs) == 1 and not titles:
        docs[0].title = source_name
    for d in docs:
        if titles and d.title in titles:
            d.title = d.path = titles[d.title]
        elif titles and source_name and len(docs) == 1:
            d.title = d.path = source_name
    per_doc = [(d, documents.chunk(d, size, ov)) for d in docs]
    total = sum(len(c) for _, c in per_doc)
    if not total:
        raise InvalidInputError(f"{path}: the documents hold no passage of text to ask about.")
    src = source_name or str(Path(path).expanduser().resolve())
    with connect() as con, transaction(con):
        p = store_projects.get(con, project)
        import_id = store_projects.record_import(con, p.id, "documents", src, total)
        store_inputs.add(con, p.id, "document", import_id, [
            {"title": d.title, "path": d.path, "chars": len(d.text), "pages": d.pages, "chunks": len(c),
             "chunk_chars": size, "overlap": ov} for d, c in per_doc])
        store_inputs.add(con, p.id, "chunk", import_id, [
            {"title": ch.title, "index": ch.index, "start": ch.start, "text": ch.text}
            for _, chunks in per_doc for ch in chunks])
    return DocumentImport(len(docs), total, skipped)
