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
from lumina.importers import KINDS, import_documents, import_file

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


@access.requires("owner", action="import into the project")
def import_uploads(project: str, kind: str, files: list[tuple[str, bytes]],
                   columns: dict[str, str] | None = None, chunk_chars: int | None = None,
                   overlap: int | None = None) -> UploadResult:
    """Import uploaded ``(file name, bytes)`` pairs; several files only for documents."""
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
    folder = cfg.home / "uploads" / uuid.uuid4().hex
    folder.mkdir(parents=True)
    try:
        used: set[str] = set()
        paths = []
        for name, data in files:
            path = folder / _safe_name(name, used)
            path.write_bytes(data)
            paths.append(path)
        if kind == "documents":
            target = paths[0] if len(paths) == 1 else folder
            source = files[0][0] if len(paths) == 1 else ", ".join(n for n, _ in files)[:500]
            titles = {p.name: Path(name).name for p, (name, _) in zip(paths, files)}
            got = import_documents(project, target, chunk_chars, overlap, source_name=source, titles=titles)
            return UploadResult(kind, got.chunks, got.documents, got.skipped)
        rows = import_file(project, paths[0], kind, columns=columns, source_name=files[0][0])
        return UploadResult(kind, rows)
    except InvalidInputError as exc:
        # Messages name the private copy; the user knows the file by its own name.
        msg = str(exc).replace(str(folder) + "/", "").replace(str(folder), "the uploaded files")
        raise InvalidInputError(msg) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
