"""Plain outlines as taxonomy trees: a markdown list, headings, or a table of contents.

One node per non-blank line. Depth comes from, in order of trust:
  - markdown headings (``#`` = top level, ``##`` below it, ...); list items under a heading
    nest below it;
  - section numbers (``2.``, ``2.1``, ``2.1.3``, ``II.``, ``A.``): the count of dotted parts;
  - indentation (spaces or tabs, any consistent width), with or without list markers.
Table-of-contents noise is removed: dot leaders with page numbers (``Loops ....... 12``),
a page number after a tab, and the numbering itself (``2.1 Loops`` is the node ``Loops``).
Same-named siblings merge, so pasting two overlapping outlines is harmless.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lumina.errors import InvalidInputError
from lumina.taxonomy.tree import MAX_DEPTH, Node
from lumina.taxonomy.ops import MAX_NAME_CHARS, clean_name
from lumina.io.textfiles import MAX_TEXT_BYTES

MAX_LINES = 20_000
MAX_LINE_CHARS = 1_000  # indentation included

# Every pattern is anchored at the start and has no two quantifiers that can match the same
# characters one after the other, so a match costs at most one pass over the line. Trailing
# page numbers are cut with string operations: a search for them from every position was
# quadratic (20k spaces in one line took 36 s).
_BULLET = re.compile(r"(?:[-*+•◦▪‣]|\[[ xX]\])\s+")
# 1.  1)  1.2  1.2.3  (with an optional trailing dot) — or a lone roman numeral / capital letter.
_NUMBER = re.compile(r"(?:(\d+(?:\.\d+)*)\.?|\(?(\d+)\)|([IVXLCDM]+|[A-Z])[.)])\s+")
_CHAPTER = re.compile(r"(?:chapter|part|section|unit|module|lesson)\s+\d+[.:]?\s+(?=\S)", re.IGNORECASE)
_LEADERS = {".": 2, "…": 1, "·": 2, "_": 3}  # a dot leader: at least this many of one character


_TITLES = {"contents", "table of contents", "toc", "outline"}  # a TOC's own heading is not a subject


@dataclass
class _Line:
    level: int  # 0 = top level
    name: str
    number_depth: int | None  # from '2.1.3', when the line had one
    n: int = 0  # line number


def _indent(raw: str) -> int:
    width = 0
    for ch in raw:
        if ch == " ":
            width += 1
        elif ch == "\t":
            width += 4
        else:
            break
    return width


def _page_number(text: str) -> tuple[str, int]:
    """The text without trailing blanks, and where its trailing page number starts."""
    t = text.rstrip()
    i = len(t)
    while i and t[i - 1].isdecimal():
        i -= 1
    return t, i


def _strip_page(text: str) -> str:
    """Cut a table of contents' page number: 'Loops ....... 12' and 'Loops<TAB>12' -> 'Loops'."""
    t, i = _page_number(text)
    if i < len(t):
        lead = t[:i].rstrip()
        run = len(lead) - len(lead.rstrip(lead[-1:]))
        if lead and run >= _LEADERS.get(lead[-1], len(lead) + 1):
            text = lead[:len(lead) - run]
    t, i = _page_number(text)
    if i < len(t) and t[i - 1:i] == "\t":
        text = t[:i].rstrip("\t")
    return text


def _strip_noise(text: str) -> str:
    return _strip_page(text).strip().strip("*_`").strip()


def _parse_line(raw: str) -> tuple[str, int | None, int | None]:
    """(name, heading level or None, number depth or None) of one line."""
    text = raw.strip()
    heading = None
    hashes = len(text) - len(text.lstrip("#"))
    if 1 <= hashes <= 6 and text[hashes:hashes + 1].isspace():
        heading, text = hashes, text[hashes:].strip()
    m = _BULLET.match(text)
    if m:
        text = text[m.end():].strip()
    number_depth = None
    m = _NUMBER.match(text)
    if m and text[m.end():].strip():
        dotted = m.group(1)
        number_depth = len(dotted.split(".")) if dotted else 1
        text = text[m.end():]
    text = _strip_noise(text)
    m = _CHAPTER.match(text)
    if m and text[m.end():]:
        text = text[m.end():]
    return text.rstrip(":").strip(), heading, number_depth


def parse_outline(text: str, where: str = "outline") -> list[Node]:
    """Turn an outline into top-level nodes with their children."""
    if len(text) > MAX_TEXT_BYTES:
        raise InvalidInputError(f"{where}: more than {MAX_TEXT_BYTES:,} characters; split it up.")
    lines = [ln.rstrip("\r") for ln in text.removeprefix("\ufeff").splitlines()]
    if len(lines) > MAX_LINES:
        raise InvalidInputError(f"{where}: more than {MAX_LINES} lines; split it up.")
    parsed: list[tuple[int, str, int | None, int | None, int]] = []
    for n, raw in enumerate(lines, 1):
        if len(raw) > MAX_LINE_CHARS:
            raise InvalidInputError(f"{where}: line {n} is longer than {MAX_LINE_CHARS:,} characters; "
                                    "an outline line is a node name, not a paragraph.")
        if not raw.strip() or raw.strip() in ("---", "***", "```"):
            continue
        name, heading, number_depth = _parse_line(raw)
        if not name or name.lower() in _TITLES:
            continue
        if len(name) > MAX_NAME_CHARS:
            raise InvalidInputError(f"{where}, line {n}: '{name[:40]}…' is longer than {MAX_NAME_CHARS} "
                                    "characters; an outline line is a node name, not a paragraph.")
        try:
            name = clean_name(name)
        except InvalidInputError as exc:
            raise InvalidInputError(f"{where}, line {n}: {exc}") from None
        parsed.append((_indent(raw), name, heading, number_depth, n))
    if not parsed:
        raise InvalidInputError(f"{where}: no outline lines found (one node name per line, indented "
                                "or as a markdown list).")
    return _build(_levels(parsed), where)


def _levels(parsed: list[tuple[int, str, int | None, int | None, int]]) -> list[_Line]:
    """Assign each line a level from headings, numbering and indentation."""
    heading_levels = sorted({h for _, _, h, _, _ in parsed if h})
    heading_rank = {h: i for i, h in enumerate(heading_levels)}
    use_numbers = any(d and d > 1 for _, _, _, d, _ in parsed)  # dotted numbers carry structure
    out: list[_Line] = []
    under_heading = -1  # level of the last heading seen
    anchor: tuple[int, int] | None = None  # (level, indent) of the last numbered line
    indents: list[int] = []  # indentation widths open below the anchor (or the heading)
    for indent, name, heading, number_depth, n in parsed:
        if heading:
            level = heading_rank[heading]
            under_heading, anchor, indents = level, None, []
        elif use_numbers and number_depth:
            level = under_heading + number_depth
            anchor, indents = (level, indent), []
        else:
            base, floor = (anchor[0], anchor[1]) if anchor and indent > anchor[1] else (under_heading, -1)
            if anchor and indent <= anchor[1]:
                anchor = None  # back out of the numbered line's sub-list
            while indents and (indents[-1] > indent or indents[-1] <= floor):
                indents.pop()
            if not indents or indents[-1] < indent:
                indents.append(indent)
            level = base + len(indents)
        out.append(_Line(level, name, number_depth, n))
    return out


def _build(lines: list[_Line], where: str) -> list[Node]:
    roots: list[Node] = []
    stack: list[tuple[int, Node]] = []  # (level, node), levels strictly increasing
    by_name: dict[int, dict[str, Node]] = {}  # id(parent) (0: the top) -> lower-case name -> child
    for ln in lines:
        while stack and stack[-1][0] >= ln.level:
            stack.pop()
        if len(stack) >= MAX_DEPTH:
            raise InvalidInputError(f"{where}, line {ln.n}: the outline is deeper than {MAX_DEPTH} levels.")
        parent = stack[-1][1] if stack else None
        known = by_name.setdefault(id(parent) if parent else 0, {})
        node = known.get(ln.name.lower())
        if node is None:
            node = known[ln.name.lower()] = Node(name=ln.name)
            (parent.children if parent else roots).append(node)
        stack.append((ln.level, node))
    return roots
