"""Source documents for grounded generation: read .txt / .md / .pdf files (or a folder of them)
and cut them into passages a teacher can write questions about.

PDF text comes from pypdf. A file that yields no text (a scanned PDF, an encrypted one, a
binary file with a text extension) is refused with a message saying why; a folder import
lists which files it skipped. Chunks end at paragraph, then sentence, boundaries where
possible, and neighbouring chunks overlap a little so a fact cut at a boundary is whole in one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lumina.errors import InvalidInputError, NotFoundError, first_line
from lumina.textfiles import decode

TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".rst", ".text")
PDF_SUFFIXES = (".pdf",)
SUFFIXES = TEXT_SUFFIXES + PDF_SUFFIXES
MAX_DOC_BYTES = 200 * 1024**2
MAX_FILES = 10_000
DEFAULT_CHUNK_CHARS = 1200
DEFAULT_OVERLAP_CHARS = 150
MIN_CHUNK_CHARS = 80  # shorter passages hold too little to ask about

_PARA = re.compile(r"\n\s*\n")
_SENT = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])\s*")  # CJK sentences end without a space


@dataclass
class Document:
    title: str  # file name, relative to the imported folder
    path: str
    text: str
    pages: int | None = None


@dataclass
class Chunk:
    title: str
    index: int  # position within its document
    start: int  # character offset in the document text
    text: str


def read_document(path: Path, title: str | None = None) -> Document:
    p = Path(path)
    if p.stat().st_size > MAX_DOC_BYTES:
        raise InvalidInputError(f"{p} is larger than {MAX_DOC_BYTES // 1024**2} MB.")
    suffix = p.suffix.lower()
    if suffix in PDF_SUFFIXES:
        text, pages = _read_pdf(p)
    elif suffix in TEXT_SUFFIXES:
        text, pages = decode(p.read_bytes(), str(p)), None
    else:
        raise InvalidInputError(f"{p}: unsupported document type '{p.suffix}' (use {', '.join(SUFFIXES)}).")
    text = normalise(text)
    if not text.strip():
        raise InvalidInputError(f"{p} holds no text" + (" (a scanned PDF needs OCR first)." if pages else "."))
    return Document(title or p.name, str(p.resolve()), text, pages)


def _read_pdf(p: Path) -> tuple[str, int]:
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # it warns per odd object; noise for users
    try:
        reader = PdfReader(str(p))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")  # many PDFs are "encrypted" with an empty password
            except Exception:
                opened = 0
            if not opened:
                raise InvalidInputError(f"{p} is an encrypted PDF; save an unencrypted copy first.")
        pages = [page.extract_text() or "" for page in reader.pages]
    except InvalidInputError:
        raise
    except (PdfReadError, ValueError, OSError, KeyError, TypeError) as exc:
        raise InvalidInputError(f"{p} is not a readable PDF ({first_line(exc, 160)}).") from None
    except Exception as exc:  # pypdf raises many types on damaged files
        if "encrypt" in str(exc).lower() or "crypt" in type(exc).__name__.lower():
            raise InvalidInputError(f"{p} is an encrypted PDF that cannot be read ({exc}).") from None
        raise InvalidInputError(f"{p} is not a readable PDF ({type(exc).__name__}: {str(exc)[:160]}).") from None
    return "\n\n".join(pages), len(pages)


def normalise(text: str) -> str:
    """Unify line ends, join words hyphenated across PDF lines, squeeze runs of blank space."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    text = re.sub(r"(\w)-\n(\w)", r"\1\2", text)
    text = re.sub(r"[ \t\f\v]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def collect(path: str | Path) -> tuple[list[Document], list[str]]:
    """The documents at ``path`` (a file or a folder, searched recursively) and, for a folder,
    the files skipped with why."""
    p = Path(path).expanduser()
    if not p.exists():
        raise NotFoundError(f"No such file or folder: {p}")
    if p.is_file():
        return [read_document(p)], []
    files = sorted(f for f in p.rglob("*") if f.is_file() and not any(x.startswith(".") for x in f.relative_to(p).parts))
    if len(files) > MAX_FILES:
        raise InvalidInputError(f"{p} holds more than {MAX_FILES} files; import sub-folders one at a time.")
    docs, skipped = [], []
    for f in files:
        if f.suffix.lower() not in SUFFIXES:
            skipped.append(f"{f.relative_to(p)}: not a .txt/.md/.pdf file")
            continue
        try:
            docs.append(read_document(f, title=str(f.relative_to(p))))
        except InvalidInputError as exc:
            skipped.append(f"{f.relative_to(p)}: {exc}")
    if not docs:
        detail = f" ({skipped[0]}{' …' if len(skipped) > 1 else ''})" if skipped else ""
        raise InvalidInputError(f"{p} holds no readable documents{detail}.")
    return docs, skipped


@dataclass
class _Unit:
    start: int
    end: int
    para_start: bool  # the first sentence of a paragraph: a good place to cut before


def _units(text: str, limit: int) -> list[_Unit]:
    """Sentences with their offsets (a sentence longer than ``limit`` is sliced)."""
    units: list[_Unit] = []
    pos = 0
    for sep in [*_PARA.finditer(text), None]:
        p_start, p_end = pos, (sep.start() if sep else len(text))
        pos = sep.end() if sep else len(text)
        first = True
        s_pos = p_start
        para = text[p_start:p_end]
        bounds = [(p_start + m.start(), p_start + m.end()) for m in _SENT.finditer(para)] + [(p_end, p_end)]
        for b_start, b_end in bounds:
            for i in range(s_pos, b_start, limit):
                if text[i:min(i + limit, b_start)].strip():
                    units.append(_Unit(i, min(i + limit, b_start), first))
                    first = False
            s_pos = b_end
    return units


def chunk(doc: Document, max_chars: int = DEFAULT_CHUNK_CHARS,
          overlap: int = DEFAULT_OVERLAP_CHARS) -> list[Chunk]:
    """Pack whole sentences into passages of at most ``max_chars``, cutting at a paragraph break
    when one falls in the passage's last 40 %; the next passage repeats the last sentences that
    fit in ``overlap`` characters."""
    if max_chars < 200:
        raise InvalidInputError(f"Chunks of {max_chars} characters are too small (at least 200).")
    if not 0 <= overlap < max_chars // 2:
        raise InvalidInputError(f"Overlap must be between 0 and half the chunk size (got {overlap}).")
    text = doc.text
    units = _units(text, max_chars)
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(units):
        j = i
        while j + 1 < len(units) and units[j + 1].end - units[i].start <= max_chars:
            j += 1
        cut = j
        if j + 1 < len(units):  # not the end: prefer a paragraph break late in the passage
            for k in range(j, i, -1):
                if units[k + 1].para_start and units[k].end - units[i].start >= 0.6 * max_chars:
                    cut = k
                    break
        if not spans or units[cut].end > spans[-1][1]:  # nothing new beyond the overlap: skip it
            spans.append((units[i].start, units[cut].end))
        if cut + 1 >= len(units):
            break
        nxt = cut + 1
        for m in range(i + 1, cut + 1):
            if units[cut].end - units[m].start <= overlap:
                nxt = m
                break
        i = nxt
    # A short tail joins its neighbour rather than becoming a passage of its own.
    if len(spans) > 1 and spans[-1][1] - spans[-1][0] < MIN_CHUNK_CHARS:
        tail = spans.pop()
        spans[-1] = (spans[-1][0], tail[1])
    return [Chunk(doc.title, n, a, text[a:b].strip()) for n, (a, b) in enumerate(spans) if text[a:b].strip()]
