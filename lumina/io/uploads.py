"""Imports of files that arrive as bytes (browser uploads) rather than as paths.

The bytes are written to a private folder under ``$LUMINA_HOME/uploads``, imported with the
same code as ``lumina import`` (so the same checks and messages apply), and the folder is
removed afterwards whatever happened. The original file names are what the project records.
"""

from __future__ import annotations

import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from lumina import access
from lumina.config import settings
from lumina.errors import InvalidInputError
from lumina.io.importers import KINDS, import_documents, import_file

_SAFE = re.compile(r"[^A-Za-z0-9._ -]+")
MAX_NAME_CHARS = 120


@dataclass
class UploadResult:
    kind: str
    rows: int  # samples / seeds / prompts imported, or passages for documents
    documents: int = 0
    skipped: list[str] = field(default_factory=list)

    def message(self) -> str:
        if self.kind == "documents":
            return f"Imported {self.documents} document(s) as {self.rows} passages."
        if self.kind == "evalset":
            return f"Imported an eval set of {self.rows} items."
        return f"Imported {self.rows} {self.kind}."


def _safe_name(name: str, used: set[str]) -> str:
    """A name for the private copy: no folders, no odd characters, short enough for any file
    system (a browser may send 5,000 characters), its extension kept."""
    base = _SAFE.sub("_", Path(name or "upload").name).strip(" .") or "upload"
    if len(base) > MAX_NAME_CHARS:
        _, dot, ext = base.rpartition(".")
        ext = f".{ext}" if dot and len(ext) <= 16 else ""
        base = base[:MAX_NAME_CHARS - len(ext)] + ext
    out, n = base, 1
    while out.lower() in used:
        stem, dot, ext = base.rpartition(".")
        out = f"{stem or base}-{n}{dot}{ext}" if dot else f"{base}-{n}"
        n += 1
    used.add(out.lower())
    return out


def _check(project: str, kind: str, files: list[tuple[str, bytes]]) -> None:
    if kind not in KINDS:
        raise InvalidInputError(f"Unknown import kind '{kind}' (use one of: {', '.join(KINDS)}).")
    if not files:
        raise InvalidInputError("Choose a file to import first.")
    if len(files) > 1 and kind != "documents":
        raise InvalidInputError(f"Import one {kind} file at a time ({len(files)} were given).")
    empty = [name for name, data in files if not data]
    if empty:
        raise InvalidInputError(f"{empty[0]} is empty.")
    cfg = settings()
    size = sum(len(data) for _, data in files)
    if size > cfg.max_upload_mb * 1024**2:
        raise InvalidInputError(
            f"{files[0][0] if len(files) == 1 else f'These {len(files)} files'} ({size / 1024**2:,.0f} MB) "
            f"exceed the {cfg.max_upload_mb} MB limit for uploads through the browser. Import large files "
            f"from a terminal, which streams them: `lumina import {project} PATH --as {kind}` "
            "(or raise LUMINA_MAX_UPLOAD_MB).")


def _stage(files: list[tuple[str, bytes]]) -> tuple[Path, list[Path]]:
    """Private copies under the data folder, with safe names."""
    folder = settings().home / "uploads" / uuid.uuid4().hex
    folder.mkdir(parents=True)
    used: set[str] = set()
    paths = []
    for name, data in files:
        path = folder / _safe_name(name, used)
        path.write_bytes(data)
        paths.append(path)
    return folder, paths


def _import_staged(project: str, kind: str, folder: Path, paths: list[Path], names: list[str],
                   columns: dict[str, str] | None, chunk_chars: int | None, overlap: int | None) -> UploadResult:
    try:
        if kind == "documents":
            target = paths[0] if len(paths) == 1 else folder
            source = names[0] if len(paths) == 1 else ", ".join(names)[:500]
            titles = {p.name: Path(name).name for p, name in zip(paths, names)}
            got = import_documents(project, target, chunk_chars, overlap, source_name=source, titles=titles)
            return UploadResult(kind, got.chunks, got.documents, got.skipped)
        return UploadResult(kind, import_file(project, paths[0], kind, columns=columns, source_name=names[0]))
    except InvalidInputError as exc:
        # Messages name the private copy; the user knows the file by its own name.
        msg = str(exc).replace(str(folder) + "/", "").replace(str(folder), "the uploaded files")
        raise InvalidInputError(msg) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@access.requires("owner", action="import into the project")
def import_uploads(project: str, kind: str, files: list[tuple[str, bytes]],
                   columns: dict[str, str] | None = None, chunk_chars: int | None = None,
                   overlap: int | None = None) -> UploadResult:
    """Import uploaded ``(file name, bytes)`` pairs here and now; several files only for documents."""
    _check(project, kind, files)
    folder, paths = _stage(files)
    return _import_staged(project, kind, folder, paths, [n for n, _ in files], columns, chunk_chars, overlap)


@access.requires("owner", action="import into the project")
def submit_uploads(project: str, kind: str, files: list[tuple[str, bytes]],
                   columns: dict[str, str] | None = None, chunk_chars: int | None = None,
                   overlap: int | None = None):
    """``import_uploads`` as an ``import`` job: the web server only checks and stores the files;
    a worker reads them (a large PDF or a big table must not occupy the server)."""
    from lumina import jobs
    from lumina.projects import get

    _check(project, kind, files)
    pid = get(project).id
    folder, paths = _stage(files)
    try:
        return jobs.submit("import", pid, {
            "kind": kind, "folder": folder.name, "files": [p.name for p in paths], "names": [n for n, _ in files],
            "columns": columns, "chunk_chars": chunk_chars, "overlap": overlap})
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def run_import_job(ctx) -> None:
    from lumina.store import connect
    from lumina.store import jobs as store_jobs

    job_id, worker, project, p = ctx.job_id, ctx.worker, ctx.project.name, ctx.params
    # Only a folder name this server made (a hex id) is accepted from the job's parameters.
    if not re.fullmatch(r"[0-9a-f]{32}", str(p.get("folder", ""))):
        raise InvalidInputError("This import job names no upload folder of this server.")
    folder = settings().home / "uploads" / p["folder"]
    paths = [folder / Path(name).name for name in p["files"]]
    if not all(path.is_file() for path in paths):
        raise InvalidInputError("The uploaded files are gone (an import job cannot be resumed); upload them again.")
    worker.log.info("importing %s from %s", p["kind"], ", ".join(p["names"]))
    with connect() as con:
        store_jobs.update(con, job_id, total=1)
    result = _import_staged(project, p["kind"], folder, paths, p["names"], p.get("columns"), p.get("chunk_chars"),
                            p.get("overlap"))
    with connect() as con:
        store_jobs.update(con, job_id, done=1, result={"message": result.message(), "rows": result.rows,
                                                       "documents": result.documents, "skipped": result.skipped})
