"""Reading a user's text file (a taxonomy, an outline, a template) with one-line errors."""

from __future__ import annotations

from pathlib import Path

from lumina.errors import InvalidInputError, NotFoundError

MAX_TEXT_BYTES = 5_000_000


def decode(data: bytes, name: str) -> str:
    """UTF-8 (a byte-order mark is allowed) or a clear refusal."""
    if b"\x00" in data[:8192]:
        raise InvalidInputError(f"{name} is a binary file, not text.")
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
