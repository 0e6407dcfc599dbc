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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from lumina import access
from lumina.errors import InvalidInputError, NotFoundError
from lumina.records import NewSample
from lumina.store import connect, transaction
from lumina.store import inputs as store_inputs
from lumina.store import projects as store_projects
from lumina.store import samples as store_samples
from lumina.io.readers import read_rows  # noqa: F401 - callers read files through the importers
from lumina.io.rows import row_to_eval_item, row_to_prompt, row_to_sample, row_to_seed

KINDS = ("samples", "seeds", "prompts", "documents", "evalset")
# Rows are checked in a first pass and written in a second, a batch at a time, all in one
# transaction: a batch holds at most this many rows and characters of text.
BATCH_ROWS = 5_000
BATCH_CHARS = 16_000_000


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
        from lumina.quality.score_job import score_pending

        score_pending(p.id, "heuristics")  # short transactions of their own; `lumina score` redoes any left undone
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
    from lumina.io import documents

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
