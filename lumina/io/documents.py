"""Source documents for grounded generation: read .txt / .md / .pdf files (or a folder of them)
and cut them into passages a teacher can write questions about.

PDF text comes from pypdf. A file that yields no text (a scanned PDF, an encrypted one, a
binary file with a text extension) is refused with a message saying why; a folder import
lists which files it skipped (links leading out of the folder among them). What one document
may cost is capped (its size, pages, decompressed streams, drawing instructions, reading time
and characters), so a small hostile PDF cannot hold the web server. Chunks end at paragraph,
then sentence, boundaries where possible, and neighbouring chunks overlap a little so a fact
cut at a boundary is whole in one.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

from lumina.errors import InvalidInputError, NotFoundError, first_line
from lumina.io.textfiles import decode, walk

TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".rst", ".text")
PDF_SUFFIXES = (".pdf",)
SUFFIXES = TEXT_SUFFIXES + PDF_SUFFIXES
MAX_DOC_BYTES = 200 * 1024**2  # a PDF file (images make them large)
MAX_DOC_CHARS = 10_000_000  # text of one document (about 4,000 book pages)
MAX_TEXT_DOC_BYTES = 4 * MAX_DOC_CHARS  # a .txt / .md file: at most 4 bytes a character
MAX_IMPORT_CHARS = 50_000_000  # all documents of one import together
MAX_PDF_PAGES = 2_000
MAX_PDF_STREAM_BYTES = 8 * 1024**2  # one decompressed stream: a bomb of 873 bytes expanded to 70 MB
MAX_PDF_CONTENT_BYTES = 64 * 1024**2  # drawing instructions of all pages (pages may share one stream)
MAX_PDF_SECONDS = 120  # pypdf reads about 100 KB of text-drawing instructions a second
MAX_FILES = 10_000
DEFAULT_CHUNK_CHARS = 1200
DEFAULT_OVERLAP_CHARS = 150
MIN_CHUNK_CHARS = 80  # shorter passages hold too little to ask about
MIN_UNIT_CHARS = 40

_PARA = re.compile(r"\n\s*\n")
_VISIBLE = re.compile(r"\S")
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
    suffix = p.suffix.lower()
    if suffix not in SUFFIXES:
        raise InvalidInputError(f"{p}: unsupported document type '{p.suffix}' (use {', '.join(SUFFIXES)}).")
    limit = MAX_DOC_BYTES if suffix in PDF_SUFFIXES else MAX_TEXT_DOC_BYTES
    if p.stat().st_size > limit:
        raise InvalidInputError(f"{p} is larger than {limit // 1024**2} MB.")
    if suffix in PDF_SUFFIXES:
        text, pages = _read_pdf(p)
    else:
        text, pages = decode(p.read_bytes(), str(p)), None
    if len(text) > MAX_DOC_CHARS:
        raise InvalidInputError(f"{p} holds more than {MAX_DOC_CHARS:,} characters of text; split it up.")
    text = normalise(text)
    if not text.strip():
        raise InvalidInputError(f"{p} holds no text" + (" (a scanned PDF needs OCR first)." if pages else "."))
    return Document(title or p.name, str(p.resolve()), text, pages)


_PDF_LIMITS = {
    **{f"{f}_maximum_output_length": MAX_PDF_STREAM_BYTES for f in ("zlib", "lzw", "run_length", "brotli", "jbig2")},
    "array_based_stream_maximum_output_length": MAX_PDF_STREAM_BYTES,
    "stream_decoding_work_maximum_length": 4 * MAX_PDF_STREAM_BYTES,
    "xform_maximum_invocations_per_extraction": 500,
}


def _read_pdf(p: Path) -> tuple[str, int]:
    import logging

    import pypdf
    from pypdf.errors import LimitReachedError, PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # it warns per odd object; noise for users
    page = 0
    try:
        # A context variable: other threads of the web server keep their own settings.
        with pypdf.apply_configuration(**_PDF_LIMITS):
            reader = pypdf.PdfReader(str(p))
            if reader.is_encrypted:
                try:
                    opened = reader.decrypt("")  # many PDFs are "encrypted" with an empty password
                except Exception:
                    opened = 0
                if not opened:
                    raise InvalidInputError(f"{p} is an encrypted PDF; save an unencrypted copy first.")
            if len(reader.pages) > MAX_PDF_PAGES:
                raise InvalidInputError(f"{p} has more than {MAX_PDF_PAGES:,} pages ({len(reader.pages):,}); "
                                        "split it up.")
            texts: list[str] = []
            chars = drawn = 0
            started = time.monotonic()
            for page, pg in enumerate(reader.pages, 1):
                contents = pg.get_contents()
                drawn += len(contents.get_data()) if contents is not None else 0
                if drawn > MAX_PDF_CONTENT_BYTES:
                    raise InvalidInputError(f"{p}: its pages up to page {page} hold more than "
                                            f"{MAX_PDF_CONTENT_BYTES // 1024**2} MB of drawing instructions; too much "
                                            "to read text from.")
                texts.append(pg.extract_text() or "")
                chars += len(texts[-1])
                if chars > MAX_DOC_CHARS:
                    raise InvalidInputError(f"{p} holds more than {MAX_DOC_CHARS:,} characters of text "
                                            f"(by page {page}); split it up.")
                if time.monotonic() - started > MAX_PDF_SECONDS:
                    raise InvalidInputError(f"{p}: reading its text took more than {MAX_PDF_SECONDS} s "
                                            f"(page {page} of {len(reader.pages)}); split it, or save it as text.")
    except InvalidInputError:
        raise
    except LimitReachedError as exc:
        where = f"page {page}" if page else "the file"
        raise InvalidInputError(f"{p}: {where} exceeds a safety limit ({first_line(exc, 160)}); "
                                "is it a decompression bomb?") from None
    except (PdfReadError, ValueError, OSError, KeyError, TypeError) as exc:
        raise InvalidInputError(f"{p} is not a readable PDF ({first_line(exc, 160)}).") from None
    except Exception as exc:  # pypdf raises many types on damaged files
        if "encrypt" in str(exc).lower() or "crypt" in type(exc).__name__.lower():
            raise InvalidInputError(f"{p} is an encrypted PDF that cannot be read ({first_line(exc, 160)}).") from None
        raise InvalidInputError(f"{p} is not a readable PDF ({type(exc).__name__}: {first_line(exc, 160)}).") from None
    return "\n\n".join(texts), len(texts)


def normalise(text: str) -> str:
    """Unify line ends, join words hyphenated across PDF lines, squeeze runs of blank space."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    text = re.sub(r"(\w)-\n(\w)", r"\1\2", text)
    # Only what changes is matched: re.sub keeps a piece per match, and matching every single
    # space of 10 MB of "a. a. " held 230 MB.
    text = re.sub(r"(?:[\t\f\v]| (?=[ \t\f\v]))[ \t\f\v]*", " ", text)
    text = re.sub(r" \n ?|\n ", "\n", text)  # blank runs are single spaces by now
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def collect(path: str | Path) -> tuple[list[Document], list[str]]:
    """The documents at ``path`` (a file or a folder, searched recursively) and, for a folder,
    the files skipped with why."""
    p = Path(path).expanduser()
    if not p.exists():
        raise NotFoundError(f"No such file or folder: {p}")
    if p.is_file():
        return [read_document(p)], []
    found, outside = walk(p)
    files = [f for f in found if not any(x.startswith(".") for x in f.relative_to(p).parts)]
    if len(files) > MAX_FILES:
        raise InvalidInputError(f"{p} holds more than {MAX_FILES} files; import sub-folders one at a time.")
    skipped = [f"{f.relative_to(p)}: a link to something outside the folder (not followed)" for f in outside]
    docs: list[Document] = []
    chars = 0
    for f in files:
        if f.suffix.lower() not in SUFFIXES:
            skipped.append(f"{f.relative_to(p)}: not a .txt/.md/.pdf file")
            continue
        try:
            docs.append(read_document(f, title=str(f.relative_to(p))))
        except InvalidInputError as exc:
            skipped.append(f"{f.relative_to(p)}: {exc}")
            continue
        chars += len(docs[-1].text)
        if chars > MAX_IMPORT_CHARS:
            raise InvalidInputError(f"{p}: its documents hold more than {MAX_IMPORT_CHARS:,} characters of text "
                                    f"(by {f.relative_to(p)}); import sub-folders one at a time.")
    if not docs:
        detail = f" ({skipped[0]}{' …' if len(skipped) > 1 else ''})" if skipped else ""
        raise InvalidInputError(f"{p} holds no readable documents{detail}.")
    return docs, skipped


@dataclass(slots=True)
class _Unit:
    start: int
    end: int
    para_start: bool  # the first sentence of a paragraph: a good place to cut before


def _units(text: str, limit: int) -> list[_Unit]:
    """Sentences with their offsets (a sentence longer than ``limit`` is sliced). A unit runs to
    the first sentence end at least MIN_UNIT_CHARS on, and a short paragraph joins what follows,
    so text like "a. a. a. " does not become millions of units (10 MB of it: 34 s and 930 MB)."""
    units: list[_Unit] = []
    pos = 0
    for sep in chain(_PARA.finditer(text), [None]):
        p_start, p_end = pos, (sep.start() if sep else len(text))
        pos = sep.end() if sep else len(text)
        first = True
        s_pos = p_start
        while s_pos < p_end:
            m = _SENT.search(text, min(s_pos + MIN_UNIT_CHARS, p_end), p_end)
            b_start, b_end = (m.start(), m.end()) if m else (p_end, p_end)
            for i in range(s_pos, b_start, limit):
                end = min(i + limit, b_start)
                if not _VISIBLE.search(text, i, end):
                    continue
                last = units[-1] if units else None
                if last and last.end - last.start < MIN_UNIT_CHARS and end - last.start <= limit:
                    last.end = end
                else:
                    units.append(_Unit(i, end, first))
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
    out: list[Chunk] = []
    for a, b in spans:
        raw = text[a:b]
        if raw.strip():  # the offset of the text kept (a sliced sentence may start with a space)
            out.append(Chunk(doc.title, len(out), a + len(raw) - len(raw.lstrip()), raw.strip()))
    return out
