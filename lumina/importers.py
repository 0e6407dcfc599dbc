"""Import other people's data: JSONL / JSON / CSV / Parquet files or a `datasets` folder.

Rows are mapped to samples by their columns: a chat ``messages`` (or ShareGPT ``conversations``)
column, or instruction/response-like columns under any of their common names. Every problem is
reported with the file and, where there is one, the line — nothing is half-imported: all rows
land in one transaction or none do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from lumina import samples as sample_service
from lumina.errors import InvalidInputError, NotFoundError, first_line
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


def _binary_message(p: Path) -> str:
    return f"{p} is a binary file, not text (is it the file you meant, with the right extension?)."


def _text(p: Path) -> str:
    data = p.read_bytes()
    if b"\x00" in data[:8192]:
        raise InvalidInputError(_binary_message(p))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidInputError(f"{p} is not UTF-8 text (invalid byte at line {line}); re-save it as UTF-8.") from None


def _read_jsonl(p: Path) -> Iterator[dict[str, Any]]:
    # Line by line: a large file is never held twice (bytes and text) in memory.
    with open(p, "rb") as f:
        if b"\x00" in f.read(8192):
            raise InvalidInputError(_binary_message(p))
        f.seek(0)
        for n, data in enumerate(f, 1):
            if n == 1:
                data = data.removeprefix(b"\xef\xbb\xbf")
            try:
                line = data.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInputError(f"{p} is not UTF-8 text (invalid byte at line {n}); "
                                        "re-save it as UTF-8.") from None
            yield from _jsonl_row(p, n, line)


def _jsonl_row(p: Path, n: int, line: str) -> Iterator[dict[str, Any]]:
    if line.strip():
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
        raise InvalidInputError(f"{p}: not a readable CSV ({first_line(exc)}).") from None
    yield from df.to_dict(orient="records")


def _read_parquet(p: Path) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(p)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise InvalidInputError(f"{p}: not a readable Parquet file ({first_line(exc)}).") from None
    yield from table.to_pylist()


def _read_hf_folder(p: Path) -> Iterator[dict[str, Any]]:
    import datasets

    try:
        ds = datasets.load_from_disk(str(p))
    except Exception as exc:
        raise InvalidInputError(f"{p}: not a folder saved with datasets.save_to_disk ({first_line(exc)}).") from None
    if isinstance(ds, datasets.DatasetDict):
        split = "train" if "train" in ds else next(iter(ds))
        ds = ds[split]
    yield from ds


def _check_mapping(row: dict[str, Any], columns: dict[str, str], where: str) -> None:
    # A context column may be absent from some rows (not every task has a passage).
    missing = [f"{role} column '{col}'" for role, col in columns.items()
               if col and col not in row and role != "context"]
    if missing:
        raise InvalidInputError(f"{where}: no {', '.join(missing)} (columns: {', '.join(map(str, row))}).")


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
    _check_mapping(row, columns, where)
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
                f"{where}: no question found (columns: {', '.join(map(str, row))}). Name it question / "
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
    items = [row_to_eval_item(r, f"{path}, row {i}", name, columns) for i, r in enumerate(read_rows(path), 1)]
    if not items:
        raise InvalidInputError(f"{path} holds no rows.")
    with connect() as con, transaction(con):
        p = store_projects.get(con, project)
        existing = store_inputs.evalsets(con, p.id)
        if name in existing:
            if not replace:
                raise InvalidInputError(f"'{project}' already has an eval set named '{name}' ({existing[name]} items). "
                                        "Give another --name, or --replace it.")
            store_inputs.delete_evalset(con, p.id, name)
        import_id = store_projects.record_import(con, p.id, "evalset", src, len(items))
        store_inputs.add(con, p.id, "evalset", import_id, items)
    return len(items)


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
            for start in range(0, len(parsed), 50_000):  # bounded memory for the Arrow batches
                sample_service.write_many(con, p.id, parsed[start:start + 50_000])
        else:
            store_inputs.add(con, p.id, kind.rstrip("s"), import_id, parsed)
    return len(parsed)


@dataclass
class DocumentImport:
    documents: int
    chunks: int
    skipped: list[str] = field(default_factory=list)  # 'file: why' for files a folder import left out


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
