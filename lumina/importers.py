"""Import other people's data: JSONL / JSON / CSV / Parquet files or a `datasets` folder.

Rows are mapped to samples by their columns: a chat ``messages`` (or ShareGPT ``conversations``)
column, or instruction/response-like columns under any of their common names. Every problem is
reported with the file and, where there is one, the line — nothing is half-imported: all rows
land in one transaction or none do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from lumina import samples as sample_service
from lumina.errors import InvalidInputError, NotAvailableYetError, NotFoundError
from lumina.records import NewSample
from lumina.store import connect, transaction
from lumina.store import inputs as store_inputs
from lumina.store import projects as store_projects

KINDS = ("samples", "seeds", "prompts", "documents", "evalset")
MAX_FILE_BYTES = 2 * 1024**3

INSTRUCTION_COLS = ("instruction", "prompt", "question", "query", "input", "text", "problem")
RESPONSE_COLS = ("response", "output", "answer", "completion", "chosen", "solution", "target")
CONTEXT_COLS = ("context", "passage", "document", "input_context")
ROLE_MAP = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
            "model": "assistant", "bot": "assistant", "system": "system"}


def read_rows(path: str | Path) -> Iterator[dict[str, Any]]:
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


def _text(p: Path) -> str:
    data = p.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidInputError(f"{p} is not UTF-8 text (invalid byte at line {line}); re-save it as UTF-8.") from None


def _read_jsonl(p: Path) -> Iterator[dict[str, Any]]:
    for n, line in enumerate(_text(p).splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"{p}, line {n}: not valid JSON ({exc.msg}).") from None
        if not isinstance(row, dict):
            raise InvalidInputError(f"{p}, line {n}: expected a JSON object, got {type(row).__name__}.")
        yield row


def _read_json(p: Path) -> Iterator[dict[str, Any]]:
    try:
        data = json.loads(_text(p))
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{p}: not valid JSON at line {exc.lineno} ({exc.msg}).") from None
    if isinstance(data, dict):  # {"data": [...]} or {"train": [...]}
        lists = [v for v in data.values() if isinstance(v, list)]
        data = lists[0] if len(lists) == 1 else None
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise InvalidInputError(f"{p}: expected a list of objects.")
    yield from data


def _read_csv(p: Path, sep: str) -> Iterator[dict[str, Any]]:
    import pandas as pd

    _text(p)  # UTF-8 check with a clear message
    try:
        df = pd.read_csv(p, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InvalidInputError(f"{p}: not a readable CSV ({str(exc).splitlines()[0]}).") from None
    yield from df.to_dict(orient="records")


def _read_parquet(p: Path) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(p)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise InvalidInputError(f"{p}: not a readable Parquet file ({str(exc).splitlines()[0]}).") from None
    yield from table.to_pylist()


def _read_hf_folder(p: Path) -> Iterator[dict[str, Any]]:
    import datasets

    try:
        ds = datasets.load_from_disk(str(p))
    except Exception as exc:
        raise InvalidInputError(f"{p}: not a folder saved with datasets.save_to_disk ({str(exc).splitlines()[0]}).") from None
    if isinstance(ds, datasets.DatasetDict):
        split = "train" if "train" in ds else next(iter(ds))
        ds = ds[split]
    yield from ds


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


def row_to_sample(row: dict[str, Any], where: str, source: str, columns: dict[str, str] | None = None) -> NewSample:
    columns = columns or {}
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
                f"{where}: no instruction/response found (columns: {', '.join(map(str, row))}). "
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
        mode=str(row.get("mode") or "import"), instruction=instruction, response=response, messages=msgs,
        node_path=row.get("node") or row.get("node_path"), task_type=row.get("task_type"),
        difficulty=row.get("difficulty"), persona=row.get("persona"),
        context=context if isinstance(context, str) else None, reasoning=row.get("reasoning"),
        teacher=row.get("teacher"), instruction_teacher=row.get("instruction_teacher"),
        template=row.get("template"), params=row.get("params") if isinstance(row.get("params"), dict) else None,
        seed=row.get("seed") if isinstance(row.get("seed"), int) else None,
        raw=row.get("raw") if isinstance(row.get("raw"), dict) else None, source=source,
    )


def row_to_seed(row: dict[str, Any], where: str, columns: dict[str, str] | None = None) -> dict[str, Any]:
    """A seed task: an instruction, optionally its response and context."""
    columns = columns or {}
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
            f"{where}: no instruction found (columns: {', '.join(map(str, row))}). "
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
    msgs = _row_messages(row, columns)
    if msgs:
        kept = [m for m in msgs if m["role"] in ("system", "user")]
    else:
        instruction = _pick(row, INSTRUCTION_COLS, columns.get("instruction"))
        if not isinstance(instruction, str) or not instruction.strip():
            raise InvalidInputError(
                f"{where}: no prompt found (columns: {', '.join(map(str, row))}). "
                "Give a messages column, or name the prompt column instruction / prompt / question."
            )
        context = _pick(row, CONTEXT_COLS, columns.get("context"))
        user = f"{context.strip()}\n\n{instruction}" if isinstance(context, str) and context.strip() else instruction
        kept = [{"role": "user", "content": user}]
    if not any(m["role"] == "user" and m["content"].strip() for m in kept):
        raise InvalidInputError(f"{where}: the conversation has no user turn.")
    return {"messages": kept}


def import_file(project: str, path: str | Path, kind: str = "samples",
                columns: dict[str, str] | None = None) -> int:
    """Import a file into a project; returns the number of rows imported. All rows or none."""
    if kind not in KINDS:
        raise InvalidInputError(f"Unknown import kind '{kind}' (use one of: {', '.join(KINDS)}).")
    if kind in ("documents", "evalset"):
        raise NotAvailableYetError(f"Importing {kind} is not available in this build yet.")
    src = str(Path(path).expanduser().resolve())
    rows = read_rows(path)
    if kind == "samples":
        parsed: list[Any] = [row_to_sample(r, f"{path}, row {i}", src, columns) for i, r in enumerate(rows, 1)]
    elif kind == "seeds":
        parsed = [row_to_seed(r, f"{path}, row {i}", columns) for i, r in enumerate(rows, 1)]
    else:
        parsed = [row_to_prompt(r, f"{path}, row {i}", columns) for i, r in enumerate(rows, 1)]
    if not parsed:
        raise InvalidInputError(f"{path} holds no rows.")
    with connect() as con, transaction(con):
        p = store_projects.get(con, project)
        import_id = store_projects.record_import(con, p.id, kind, src, len(parsed))
        if kind == "samples":
            for s in parsed:
                sample_service.write(con, p.id, s)
        else:
            store_inputs.add(con, p.id, kind.rstrip("s"), import_id, parsed)
    return len(parsed)
