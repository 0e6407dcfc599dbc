"""Reading a user's text file (a taxonomy, an outline, a template, a JSONL or CSV file) with
one-line errors: UTF-8 or a clear refusal, and never an unbounded read."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

from lumina.errors import InvalidInputError, NotFoundError

MAX_TEXT_BYTES = 5_000_000

# What a "text" file really is when it starts like this (people rename files).
_MAGIC = {b"\x1f\x8b": "a gzip-compressed file", b"PK\x03\x04": "a zip archive",
          b"%PDF": "a PDF", b"PAR1": "a Parquet file", b"\x89PNG": "a PNG image"}
_UTF16 = (b"\xff\xfe", b"\xfe\xff")


def field_limit() -> int:
    """The most bytes one line, record or row may hold (LUMINA_MAX_FIELD_MB)."""
    from lumina.config import settings

    return settings().max_field_mb * 1024**2


def sniff(head: bytes, name: str) -> None:
    """Refuse UTF-16/32 and binary files by their first bytes, saying what they look like."""
    if head.startswith(_UTF16) or head[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        raise InvalidInputError(f"{name} is UTF-16 (or UTF-32) text; re-save it as UTF-8.")
    what = next((w for m, w in _MAGIC.items() if head.startswith(m)), None)
    if what:
        raise InvalidInputError(f"{name} is a binary file ({what}), not text.")
    if b"\x00" in head:
        raise InvalidInputError(f"{name} is a binary file, not text (is it the file you meant, with the right extension?).")


def decode(data: bytes, name: str) -> str:
    """UTF-8 (a byte-order mark is allowed) or a clear refusal."""
    sniff(data[:8192], name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidInputError(f"{name} is not UTF-8 text (invalid byte at line {line}); re-save it as UTF-8.") from None


def read_text(path: str | Path, what: str = "File", max_bytes: int = MAX_TEXT_BYTES) -> str:
    p = Path(path).expanduser()
    if not p.is_file():
        raise NotFoundError(f"{what} not found: {p}")
    if p.stat().st_size > max_bytes:
        raise InvalidInputError(f"{what} {p} is larger than {max_bytes // 1_000_000} MB.")
    return decode(p.read_bytes(), str(p))


def lines(path: Path, limit: int | None = None) -> Iterator[tuple[int, str]]:
    """A file's lines as text, numbered from 1 (line ends kept), read one at a time: a line longer
    than ``limit`` bytes is refused after reading at most that much of it."""
    limit = limit or field_limit()
    with open(path, "rb") as f:
        sniff(f.read(8192), str(path))
        f.seek(0)
        n = 0
        while data := f.readline(limit + 1):
            n += 1
            if len(data) > limit:
                raise InvalidInputError(f"{path}: line {n} is longer than {limit // 1024**2} MB "
                                        "(the limit is LUMINA_MAX_FIELD_MB).")
            if b"\x00" in data:
                raise InvalidInputError(f"{path}: line {n} holds a NUL byte: this is a binary file, not text.")
            try:
                yield n, data.decode("utf-8-sig" if n == 1 else "utf-8")
            except UnicodeDecodeError:
                raise InvalidInputError(f"{path} is not UTF-8 text (invalid byte at line {n}); "
                                        "re-save it as UTF-8.") from None


def inside(folder: Path, path: Path) -> bool:
    """Whether ``path``, links followed, stays within ``folder`` (a folder import never reads
    what a symbolic link inside it points to elsewhere)."""
    root = os.path.realpath(folder)
    return os.path.commonpath([root, os.path.realpath(path)]) == root


def walk(folder: Path) -> tuple[list[Path], list[Path]]:
    """The files below ``folder`` (sorted) and the entries that are links leading outside it.
    Links to folders are not entered (no loops, no second copies)."""
    files, outside = [], []
    for top, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(dirs + names):
            path = Path(top) / name
            if path.is_symlink() and not inside(folder, path):
                outside.append(path)
            elif name in names and path.is_file():
                files.append(path)
    return sorted(files), outside
