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
from lumina.taxonomy import Node
from lumina.taxonomy_ops import MAX_NAME_CHARS, clean_name

MAX_LINES = 20_000

_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_BULLET = re.compile(r"^(?:[-*+•◦▪‣]|\[[ xX]\])\s+(.*)$")
# 1.  1)  1.2  1.2.3  (with an optional trailing dot) — or a lone roman numeral / capital letter.
_NUMBER = re.compile(r"^(?:(\d+(?:\.\d+)*)\.?|\(?(\d+)\)|([IVXLCDM]+|[A-Z])[.)])\s+(.*)$")
_LEADER_PAGE = re.compile(r"\s*(?:\.{2,}|…+|·{2,}|_{3,})\s*\d+\s*$")
_TAB_PAGE = re.compile(r"\t+\d+\s*$")
_CHAPTER = re.compile(r"^(?:chapter|part|section|unit|module|lesson)\s+\d+[.:]?\s+(?=\S)", re.IGNORECASE)


_TITLES = {"contents", "table of contents", "toc", "outline"}  # a TOC's own heading is not a subject


@dataclass
class _Line:
    level: int  # 0 = top level
    name: str
    number_depth: int | None  # from '2.1.3', when the line had one


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


def _strip_noise(text: str) -> str:
    text = _LEADER_PAGE.sub("", text)
    text = _TAB_PAGE.sub("", text)
    return text.strip().strip("*_`").strip()


def _parse_line(raw: str) -> tuple[str, int | None, int | None]:
    """(name, heading level or None, number depth or None) of one line."""
    text = raw.strip()
    heading = None
    m = _HEADING.match(text)
    if m:
        heading, text = len(m.group(1)), m.group(2).strip()
    m = _BULLET.match(text)
    if m:
        text = m.group(1).strip()
    number_depth = None
    m = _NUMBER.match(text)
    if m and m.group(4).strip():
        dotted = m.group(1)
        number_depth = len(dotted.split(".")) if dotted else 1
        text = m.group(4)
    text = _strip_noise(text)
    text = _CHAPTER.sub("", text) or text
    return text.rstrip(":").strip(), heading, number_depth


def parse_outline(text: str, where: str = "outline") -> list[Node]:
    """Turn an outline into top-level nodes with their children."""
    lines = [ln.rstrip("\r") for ln in text.splitlines()]
    if len(lines) > MAX_LINES:
        raise InvalidInputError(f"{where}: more than {MAX_LINES} lines; split it up.")
    parsed: list[tuple[int, str, int | None, int | None]] = []
    for n, raw in enumerate(lines, 1):
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
        parsed.append((_indent(raw), name, heading, number_depth))
    if not parsed:
        raise InvalidInputError(f"{where}: no outline lines found (one node name per line, indented "
                                "or as a markdown list).")
    return _build(_levels(parsed))


def _levels(parsed: list[tuple[int, str, int | None, int | None]]) -> list[_Line]:
    """Assign each line a level from headings, numbering and indentation."""
    heading_levels = sorted({h for _, _, h, _ in parsed if h})
    heading_rank = {h: i for i, h in enumerate(heading_levels)}
    use_numbers = sum(1 for *_, d in parsed if d and d > 1) > 0  # dotted numbers carry structure
    out: list[_Line] = []
    under_heading = -1  # level of the last heading seen
    anchor: tuple[int, int] | None = None  # (level, indent) of the last numbered line
    indents: list[int] = []  # indentation widths open below the anchor (or the heading)
    for indent, name, heading, number_depth in parsed:
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
        out.append(_Line(level, name, number_depth))
    return out


def _build(lines: list[_Line]) -> list[Node]:
    roots: list[Node] = []
    stack: list[tuple[int, Node]] = []  # (level, node), levels strictly increasing
    for ln in lines:
        while stack and stack[-1][0] >= ln.level:
            stack.pop()
        siblings = stack[-1][1].children if stack else roots
        node = next((s for s in siblings if s.name.lower() == ln.name.lower()), None)
        if node is None:
            node = Node(name=ln.name)
            siblings.append(node)
        stack.append((ln.level, node))
    return roots
