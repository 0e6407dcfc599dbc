"""Untrusted text (teacher answers, imported rows, uploads) as Markdown that renders inert.

``st.markdown`` renders GitHub Markdown plus Streamlit's own syntax: images (an external image
is a request the page makes by itself), links of any scheme, ``:red[...]`` directives,
``:material/icon:``, ``:smile:`` emoji, ``$latex$``. ``to_safe_markdown`` parses the text with
markdown-it and writes it out again: the structure the author wrote (paragraphs, lists,
headings, quotes, tables, emphasis, code) survives, anything active does not:

- raw HTML (block or inline) is shown as text;
- code (fenced, indented, inline) is shown verbatim, in a fence that its content cannot close;
- an image becomes the text ``[image: ALT](URL)``: nothing is loaded;
- a link stays clickable only for http, https and mailto, with its target shown beside it;
  any other link becomes its text and its target, as text;
- every other character that means something to Markdown or to Streamlit is escaped.

No Streamlit import: this is library code, and tests re-parse its output with markdown-it.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.token import Token

__all__ = ["escape_inline", "inline_code", "to_safe_markdown"]

_MAX_NESTING = 20  # markdown-it's CommonMark default; deeper containers keep their text (see _source)
_MD = MarkdownIt("commonmark", {"html": True, "maxNesting": _MAX_NESTING}).enable(["table", "strikethrough"])

# Escaped with a backslash wherever they are: emphasis, code, links, images (a `!` before a link
# this module writes), tables, strikethrough, math, headings and list markers. `<`, `>`, `&`
# become entities (no HTML, autolink, quote or entity).
_ESCAPES = str.maketrans({c: "\\" + c for c in "\\`*_[]|~$#+-!"} | {"<": "&lt;", ">": "&gt;", "&": "&amp;"})
# Only special where a line starts (a setext underline, `1.` / `1)` list markers); a text piece may
# start a line, so "after whitespace or at the start" is enough, and `a=b`, `f(1)` stay readable.
_LINE_START = re.compile(r"(^|\s)(\d*)([=.)])")
# Streamlit rewrites the parsed text itself: `:name` is a directive (`:red[x]`, and a bare `:red`
# swallows the word), `:smile:` an emoji, `:streamlit:` a logo, `->` an arrow. An invisible word
# joiner after the first character stops each (a port or a time, `:8080`, `10:30`, keeps none).
_REWRITTEN = re.compile(r":(?=[A-Za-z]|[\w+\-]+:)|-(?=[\->])|<(?=[\-=])|[>~](?==)")
_NEWLINES = re.compile(r"\r\n?|\n")
_BACKTICKS = re.compile(r"`+")
_LANGUAGE = re.compile(r"[\w+#.\-]*")
_SAFE_SCHEME = re.compile(r"(?:https?|mailto):", re.IGNORECASE)
_TRAILING = re.compile(r"[ \t]+$", re.MULTILINE)
_BREAK = re.compile(r"(?<=\S)\n(?=[ \t]*\S)")
_INDENT = re.compile(r"^[ \t]+", re.MULTILINE)

# markdown-it-py is linear, but pure Python: ~50 µs a line (~130 µs a list item), and some marks
# cost ~30 µs each (`![![![...`: every `[` is re-scanned down to the nesting limit). Past this
# budget (about half a second here) the text is shown as escaped lines, without formatting.
_BUDGET = 500_000


def _cost(text: str) -> int:
    return (len(text) + 100 * text.count("\n") + 60 * text.count("[")
            + 30 * sum(map(text.count, "]*_~`<>|&!\\")))


def _escape(text: str) -> str:
    if any(c in text for c in ":-<>~"):
        text = _REWRITTEN.sub("\\g<0>\u2060", text)  # U+2060 WORD JOINER
    text = text.translate(_ESCAPES)
    if any(c in text for c in "=.)"):
        text = _LINE_START.sub(r"\1\2\\\3", text)
    return text


def escape_inline(value: object) -> str:
    """A short value (a node path, a mode, a key, a file name) that reads literally inside Markdown,
    bold, a badge or a directive label: on one line, trimmed (a space next to ``**`` would undo the
    bold), every Markdown and HTML character escaped."""
    return _escape(_NEWLINES.sub(" ", str(value)).strip())


def inline_code(value: object, in_table: bool = False) -> str:
    """A value as a code span (verbatim, monospace), whatever backticks it contains."""
    text = _NEWLINES.sub(" ", str(value))
    if not text:
        return ""
    ticks = "`" * (max(map(len, _BACKTICKS.findall(text)), default=0) + 1)
    if text.strip(" ") and (text[0] in "` " or text[-1] in "` "):
        text = f" {text} "  # one space each side is stripped again when rendered
    if in_table:
        text = text.replace("|", "\\|")  # GFM splits cells on any unescaped pipe, even in code
    return f"{ticks}{text}{ticks}"


def to_safe_markdown(text: str) -> str:
    """``text`` as Markdown that shows what its author wrote and can neither load, run nor style
    anything: see the module docstring. Linear in ``len(text)``."""
    if not text:
        return ""
    source = _normalise(text)
    if _cost(source) > _BUDGET:
        return "\n".join(_plain(source)) + "\n"
    tokens = _MD.parse(source)
    blocks, _ = _blocks(tokens, 0, source.split("\n"))
    return "\n".join(_join(blocks, tight=False)) + "\n"


def _normalise(text: str) -> str:
    if "\r" in text:
        text = _NEWLINES.sub("\n", text)
    return text.replace("\0", "\ufffd")


# ---------------------------------------------------------------- blocks

_Block = tuple[str, list[str]]  # (kind, lines)
_INTERRUPTS = {"list", "fence", "quote", "heading", "hr"}  # may follow a paragraph line directly


def _join(blocks: list[_Block], tight: bool) -> list[str]:
    lines: list[str] = []
    for k, (kind, block) in enumerate(blocks):
        if k and not (tight and kind in _INTERRUPTS):
            lines.append("")
        lines.extend(block)
    return lines


def _blocks(tokens: list[Token], i: int, source: list[str]) -> tuple[list[_Block], int]:
    """Render block tokens from ``i`` up to the enclosing container's closing token."""
    blocks: list[_Block] = []
    while i < len(tokens) and tokens[i].nesting != -1:
        t = tokens[i]
        kind = t.type
        if kind == "paragraph_open":
            # markdown-it hides the paragraphs of a tight list: that is what tight means below
            kind = "tight paragraph" if t.hidden else "paragraph"
            blocks.append((kind, _inline(tokens[i + 1].children or []).split("\n")))
            i += 3
        elif kind == "heading_open":
            title = _inline(tokens[i + 1].children or [], one_line=True)
            blocks.append(("heading", [f"{'#' * int(t.tag[1:])} {title}".rstrip()]))
            i += 3
        elif kind in ("fence", "code_block"):
            blocks.append(("fence", _fence(t.content, t.info if kind == "fence" else "")))
            i += 1
        elif kind == "hr":
            blocks.append(("hr", ["***"]))
            i += 1
        elif kind == "blockquote_open":
            inner, i = _blocks(tokens, i + 1, source)
            lines = _join(inner, tight=False) or _source(t, source)
            blocks.append(("quote", [f"> {line}" if line else ">" for line in lines]))
            i += 1
        elif kind in ("bullet_list_open", "ordered_list_open"):
            lines, i = _list(tokens, i, source)
            blocks.append(("list", lines))
        elif kind == "table_open":
            lines, i = _table(tokens, i)
            blocks.append(("table", lines))
        elif t.nesting == 1:  # a container this renderer does not know: keep what is inside
            inner, i = _blocks(tokens, i + 1, source)
            blocks.extend(inner)
            i += 1
        else:  # html_block, and any other leaf: its source, as text
            blocks.append(("text", _plain(t.content)))
            i += 1
    return blocks, i


def _list(tokens: list[Token], i: int, source: list[str]) -> tuple[list[str], int]:
    ordered = tokens[i].type == "ordered_list_open"
    i += 1
    items: list[list[_Block]] = []
    markers: list[str] = []
    tight = True
    while tokens[i].type == "list_item_open":
        item = tokens[i]
        # Keep the author's marker: a change of marker is what separates two adjacent lists.
        markers.append(f"{item.info}{item.markup}" if ordered else item.markup or "-")
        inner, i = _blocks(tokens, i + 1, source)
        i += 1
        if not inner and (dropped := _source(item, source)):
            inner = [("text", dropped)]
        tight = tight and all(kind != "paragraph" for kind, _ in inner)
        items.append(inner)
    lines: list[str] = []
    for k, (marker, inner) in enumerate(zip(markers, items)):
        if k and not tight:
            lines.append("")
        body = _join(inner, tight) or [""]
        pad = " " * (len(marker) + 1)
        lines.append(f"{marker} {body[0]}".rstrip())
        lines.extend(pad + line if line else "" for line in body[1:])
    return lines, i + 1


def _table(tokens: list[Token], i: int) -> tuple[list[str], int]:
    rows: list[list[str]] = []
    aligns: list[str] = []
    while tokens[i].type != "table_close":
        t = tokens[i]
        if t.type == "tr_open":
            rows.append([])
        elif t.type in ("th_open", "td_open"):
            if t.type == "th_open":
                style = str(t.attrGet("style") or "")
                aligns.append({"text-align:left": ":---", "text-align:center": ":---:",
                               "text-align:right": "---:"}.get(style, "---"))
            rows[-1].append(_inline(tokens[i + 1].children or [], one_line=True, in_table=True))
            i += 2
        i += 1
    lines = [f"| {' | '.join(row)} |" for row in rows]
    lines.insert(1, f"| {' | '.join(aligns)} |")
    return lines, i + 1


def _fence(content: str, info: str) -> list[str]:
    """Verbatim, in a backtick fence longer than any backtick run inside (nothing can close it early)."""
    ticks = "`" * max(3, max(map(len, _BACKTICKS.findall(content)), default=0) + 1)
    language = _LANGUAGE.match(info.strip())[0]  # a language name only: the info string is no place for text
    body = content[:-1] if content.endswith("\n") else content
    return [ticks + language, *(body.split("\n") if content else []), ticks]


def _plain(text: str) -> list[str]:
    """Text as lines of escaped text: line breaks kept (hard breaks), indentation kept (no-break
    spaces: Markdown would strip spaces, or read four of them as code)."""
    text = _TRAILING.sub("", _escape(text.strip("\n")))
    text = _BREAK.sub("\\\\\n", text)
    return _INDENT.sub(lambda m: "\u00a0" * len(m[0].expandtabs(4)), text).split("\n")


def _source(token: Token, source: list[str]) -> list[str]:
    """The source lines of a container markdown-it left empty: past its nesting limit it drops
    what is inside, so show that as text rather than lose it."""
    if token.level + 1 < _MAX_NESTING or not token.map:
        return []
    return _plain("\n".join(source[token.map[0]:token.map[1]]))


# ---------------------------------------------------------------- inline

def _inline(tokens: list[Token], one_line: bool = False, in_table: bool = False) -> str:
    out: list[str] = []
    shown: list[str] = []  # what a reader sees, to compare a link's text with its target
    link: tuple[int, int, str] | None = None
    for t in tokens:
        kind = t.type
        if kind in ("text", "text_special", "html_inline"):
            out.append(_escape(t.content))
            shown.append(t.content)
        elif kind == "code_inline":
            out.append(inline_code(t.content, in_table))
            shown.append(t.content)
        elif kind in ("softbreak", "hardbreak"):
            out.append(" " if one_line else "\n" if kind == "softbreak" else "\\\n")
            shown.append(" ")
        elif kind in ("em_open", "em_close"):
            out.append("*")
        elif kind in ("strong_open", "strong_close"):
            out.append("**")
        elif kind in ("s_open", "s_close"):
            out.append("~~")
        elif kind == "image":
            alt, src = _plain_text(t.children or []), str(t.attrGet("src") or "")
            out.append(_escape(f"[image: {alt}](") + inline_code(src, in_table) + ")")
            shown.append(f"[image: {alt}]({src})")
        elif kind == "link_open":
            link = (len(out), len(shown), str(t.attrGet("href") or ""))
        elif kind == "link_close" and link is not None:
            start, shown_start, href = link
            label, text = "".join(out[start:]), "".join(shown[shown_start:])
            del out[start:]
            out.append(_link(label, text, href, in_table))
            link = None
        elif t.content:
            out.append(_escape(t.content))
            shown.append(t.content)
    return "".join(out)


def _link(label: str, text: str, href: str, in_table: bool) -> str:
    target = inline_code(href, in_table)
    if not _SAFE_SCHEME.match(href):  # javascript:, data:, a relative path...: text, target as text
        return f"{label} ({target})" if href else label
    if not text.strip():
        label, text = _escape(href), href
    if text == href or "mailto:" + text == href:  # an autolink already shows its target
        return f"[{label}](<{href}>)"
    return f"[{label}](<{href}>) ({target})"


def _plain_text(tokens: list[Token]) -> str:
    parts = []
    for t in tokens:
        if t.type == "image":
            parts.append(_plain_text(t.children or []))
        elif t.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        else:
            parts.append(t.content)
    return "".join(parts)
