"""lumina.web.safe_markdown: hostile text in, inert Markdown out.

Every output is parsed again with markdown-it (with ``text_join`` off, so an escaped character
stays a ``text_special`` token) and checked for what would be active in ``st.markdown``: raw
HTML, images, links to other schemes or with a hidden target, and Streamlit's own syntax in text.
"""

from __future__ import annotations

import re
import time

import pytest
from markdown_it import MarkdownIt

from lumina.web.safe_markdown import escape_inline, inline_code, to_safe_markdown

# Streamlit's parser has no nesting limit: neither may the checker (markdown-it's default is 20).
CHECK = (MarkdownIt("commonmark", {"html": True, "maxNesting": 100}).enable(["table", "strikethrough"])
         .disable("text_join"))
WJ = "\u2060"
SAFE_HREF = re.compile(r"(?:https?|mailto):", re.IGNORECASE)
# In a plain text token (not an escape, not an entity) these would still mean something to
# Streamlit: math, brackets (links, footnotes, task boxes), a directive or emoji, an arrow.
ACTIVE_IN_TEXT = re.compile(r"[$\[\]<>`]|:[A-Za-z]|:[\w+\-]+:|(^|\s)(<->|->|<-|--|>=|<=|~=)(\s|$)")


def _flat(tokens):
    for t in tokens:
        yield t
        if t.children:
            yield from _flat(t.children)


def _visible(children) -> str:
    parts = []
    for t in children:
        if t.type in ("text", "text_special", "code_inline"):
            parts.append(t.content)
        elif t.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts).replace(WJ, "")


def visible(markdown: str) -> str:
    """What a reader sees of ``markdown`` (text, code, code blocks), word joiners removed."""
    out = []
    for t in CHECK.parse(markdown):
        if t.type == "inline":
            out.append(_visible(t.children))
        elif t.type in ("fence", "code_block"):
            out.append(t.content)
    return "\n".join(out)


def assert_inert(markdown: str) -> None:
    tokens = list(_flat(CHECK.parse(markdown)))
    kinds = {t.type for t in tokens}
    assert not kinds & {"html_block", "html_inline", "image"}, (kinds, markdown)
    for t in tokens:
        if t.type == "text":
            assert not ACTIVE_IN_TEXT.search(t.content), (t.content, markdown)
        if t.type == "inline":
            shown = _visible(t.children)
            for c in t.children:
                if c.type == "link_open":
                    href = str(c.attrGet("href"))
                    assert SAFE_HREF.match(href), (href, markdown)
                    assert href in shown or href.removeprefix("mailto:") in shown, (href, shown)


def render(text: str) -> str:
    out = to_safe_markdown(text)
    assert_inert(out)
    return out


def code_blocks(markdown: str) -> list[str]:
    return [t.content for t in CHECK.parse(markdown) if t.type in ("fence", "code_block")]


def links(markdown: str) -> list[str]:
    return [str(t.attrGet("href")) for t in _flat(CHECK.parse(markdown)) if t.type == "link_open"]


# ---------------------------------------------------------------- raw HTML

@pytest.mark.parametrize("payload", [
    "<script>window.__x=1</script>",
    '<img src=x onerror="window.__x=2">',
    '<iframe src="https://evil.example/"></iframe>',
    "<svg onload=alert(1)>",
    "<!-- hidden comment -->",
    "<div>\n<b>block</b>\n</div>",
    "<style>body{display:none}</style>",
    "Text with <b>inline</b> and <a href='javascript:alert(1)'>a link</a>.",
    "<?php echo 1; ?>",
    "<![CDATA[ x ]]>",
])
def test_raw_html_is_shown_as_text(payload):
    out = render(payload)
    assert visible(out).split() == payload.split()


def test_html_block_keeps_its_lines_and_indentation():
    out = render("<div>\n    <script>alert(1)</script>\n\n</div>")
    assert "\u00a0" * 4 + "&lt;script&gt;" in out  # indentation kept, not read as code
    assert not code_blocks(out)


def test_escaped_and_entity_html_stays_text():
    assert visible(render("&lt;script&gt;alert(1)&lt;/script&gt; \\<b>")) == "<script>alert(1)</script> <b>"


# ---------------------------------------------------------------- code

def test_markdown_escaping_keeps_code_blocks_verbatim():
    # Moved from tests/test_app.py with pages/_common.escape_for_markdown, which was to_safe_markdown.
    text = ('Use <b>bold</b>:\n```python\nif a < b:\n    print("<script>")\n```\n'
            '<img src=x onerror=alert(1)>\n')
    out = to_safe_markdown(text)
    assert "&lt;b&gt;bold&lt;/b&gt;" in out and "&lt;img src=x onerror=alert(1)&gt;" in out
    assert 'if a < b:\n    print("<script>")' in out  # inside the fence: shown verbatim by Markdown
    assert "<img" not in out.replace('print("<script>")', "")
    assert "<x>" in to_safe_markdown("```\nunclosed <x>")  # an unclosed fence runs to the end


def test_fence_inside_a_list_item_then_raw_html():
    text = "- step one\n  ```html\n  <b>in code</b>\n  ```\n<img src=x onerror=alert(1)>\n"
    out = render(text)
    assert code_blocks(out) == ["<b>in code</b>\n"]
    assert "<img src=x onerror=alert(1)>" in visible(out)


def test_unclosed_fence_inside_a_list_item_then_raw_html():
    # The old line scanner thought the fence ran to the end and let the HTML through.
    text = "1. step\n   ```\n   code <x>\n<img src=x onerror=alert(1)>\n<script>alert(2)</script>\n"
    out = render(text)
    assert code_blocks(out) == ["code <x>\n"]
    assert "<script>alert(2)</script>" in visible(out)


def test_nested_fences_and_indented_code_stay_verbatim():
    text = ("~~~\n```\n<script>in tilde</script>\n```\n~~~\n\n````md\n```\n<b>x</b>\n````\n\n"
            "    <script>indented</script>\n\nafter <b>x</b>")
    out = render(text)
    assert code_blocks(out) == ["```\n<script>in tilde</script>\n```\n", "```\n<b>x</b>\n",
                                "<script>indented</script>\n"]
    assert visible(out).endswith("after <b>x</b>")


def test_fence_with_backticks_inside_cannot_be_closed_early():
    text = "`````\n````\n![x](https://evil.example/p.png)\n`````"
    assert code_blocks(render(text)) == ["````\n![x](https://evil.example/p.png)\n"]


def test_code_info_string_keeps_only_a_language():
    out = render("```python onload=x <b>\nprint(1)\n```")
    assert out.startswith("```python\n")


def test_inline_code_is_verbatim():
    out = render("Use `<script>` or `` a`b `` and `:red[x]` `$x$`.")
    assert visible(out) == "Use <script> or a`b and :red[x] $x$."


def test_code_in_a_table_cell_keeps_its_pipe_inside():
    out = render("| a | b |\n|---|---|\n| `x\\|y` | ![p](https://evil.example/p.png) |\n")
    assert "\\|" in out
    assert [t.content for t in _flat(CHECK.parse(out)) if t.type == "code_inline"][0] == "x|y"


# ---------------------------------------------------------------- images

@pytest.mark.parametrize("payload, alt, src", [
    ("![pixel](https://evil.example/p.png)", "pixel", "https://evil.example/p.png"),
    ('![t](http://127.0.0.1:9/t.gif "title")', "t", "http://127.0.0.1:9/t.gif"),
    ("![](https://evil.example/empty.png)", "", "https://evil.example/empty.png"),
    ("![x](data:image/png;base64,iVBORw0KGgo=)", "x", "data:image/png;base64,iVBORw0KGgo="),
    ("![ref][p]\n\n[p]: https://evil.example/ref.png", "ref", "https://evil.example/ref.png"),
    ("![*em* alt](https://evil.example/e.png)", "em alt", "https://evil.example/e.png"),
])
def test_images_become_text(payload, alt, src):
    out = render(payload)
    assert f"[image: {alt}]({src})" in visible(out)
    assert not links(out)


def test_image_inside_a_link():
    out = render("[![logo](https://evil.example/l.png)](https://ok.example/)")
    assert links(out) == ["https://ok.example/"]
    assert "[image: logo](https://evil.example/l.png)" in visible(out)


# ---------------------------------------------------------------- links

@pytest.mark.parametrize("payload, shown", [
    ("[x](javascript:alert(1))", "javascript:alert(1)"),
    ("[x](JaVaScRiPt:alert(1))", "JaVaScRiPt:alert(1)"),
    ("[x](  javascript:alert(1))", "javascript:alert(1)"),
    ("[x](&#106;avascript:alert(1))", "javascript:alert(1)"),
    ("[x](java&#x09;script:alert(1))", "script:alert(1)"),
    ("[x](vbscript:msgbox(1))", "vbscript:msgbox(1)"),
    ("[x](data:text/html;base64,PHNjcmlwdD4=)", "data:text/html;base64,PHNjcmlwdD4="),
    ("[x](data:image/png;base64,AAAA)", "data:image/png;base64,AAAA"),
    ("[x](file:///etc/passwd)", "file:///etc/passwd"),
    ("[x](ftp://files.example/a)", "ftp://files.example/a"),
    ("[x](/admin)", "/admin"),
    ("[x](//evil.example/a)", "//evil.example/a"),
    ("<javascript:alert(1)>", "<javascript:alert(1)>"),
    ("[x][r]\n\n[r]: javascript:alert(1)", "javascript:alert(1)"),
    ("[x][r]\n\n[r]: <javascript:alert(1)>", "javascript:alert(1)"),
])
def test_unsafe_links_become_text(payload, shown):
    out = render(payload)
    assert not links(out)
    assert shown in visible(out)


@pytest.mark.parametrize("payload, href, text", [
    ("[click here](https://ok.example/a?b=1)", "https://ok.example/a?b=1", "click here (https://ok.example/a?b=1)"),
    ("[mail](mailto:me@ok.example)", "mailto:me@ok.example", "mail (mailto:me@ok.example)"),
    ("<https://ok.example/auto>", "https://ok.example/auto", "https://ok.example/auto"),
    ("<me@ok.example>", "mailto:me@ok.example", "me@ok.example"),
    ("[x][r]\n\n[r]: http://ok.example/ref 'title'", "http://ok.example/ref", "x (http://ok.example/ref)"),
    ("[](https://ok.example/empty)", "https://ok.example/empty", "https://ok.example/empty"),
    ("[**bold** `code`](HTTPS://ok.example/)", "HTTPS://ok.example/", "bold code (HTTPS://ok.example/)"),
])
def test_safe_links_show_their_target(payload, href, text):
    out = render(payload)
    assert links(out) == [href]
    assert visible(out) == text


def test_link_target_with_parentheses_and_spaces():
    out = render("[wiki](<https://en.wikipedia.org/wiki/Foo (bar)>)")
    assert links(out) == ["https://en.wikipedia.org/wiki/Foo%20(bar)"]


# ---------------------------------------------------------------- Streamlit's own syntax

@pytest.mark.parametrize("payload", [
    ":red[styled]", ":blue-background[x]", ":orange-badge[badge]", ":color[x]{foreground=\"red\"}",
    ":material/home:", ":material_home:", ":smile:", ":+1:", ":streamlit:", "::leaf[x]", ":::container",
    "Warning:red alert", "$x^2$", "$$\n\\int x\n$$", "a -> b <- c <-> d -- e >= f <= g ~= h",
    "~single~ (GFM in Streamlit strikes this through)", "[ ] task", "[^1] note\n\n[^1]: the note",
])
def test_streamlit_directives_emoji_and_math_are_neutralised(payload):
    out = render(payload)  # no active syntax left in text: see ACTIVE_IN_TEXT
    assert visible(out).split() == payload.split()


def test_times_ports_and_urls_keep_their_colons_plain():
    out = render("at 10:30 on http://ok.example:8080/x")
    assert WJ not in out


# ---------------------------------------------------------------- structure survives

def test_markdown_structure_survives():
    text = ("# Title <b>\n\nSome *em*, **strong**, ~~gone~~ and `code`.\n\n- one\n- two\n  - nested\n\n"
            "1. first\n2. second\n\n> quoted <i>x</i>\n\n---\n\n| a | b |\n|:-|-:|\n| 1 | <b>2</b> |\n")
    out = render(text)
    kinds = [t.type for t in CHECK.parse(out)]
    for kind in ("heading_open", "bullet_list_open", "ordered_list_open", "blockquote_open", "hr", "table_open"):
        assert kind in kinds, kind
    inline = [t.type for t in _flat(CHECK.parse(out))]
    for kind in ("em_open", "strong_open", "s_open", "code_inline"):
        assert kind in inline, kind
    assert "<b>2</b>" in visible(out) and "Title <b>" in visible(out)


def test_loose_and_tight_lists_and_adjacent_lists():
    tight = render("- a\n- b\n")
    assert "\n\n" not in tight.strip()
    loose = render("- a\n\n- b\n")
    assert "- a\n\n- b" in loose
    two = CHECK.parse(render("- a\n* b\n"))
    assert sum(t.type == "bullet_list_open" for t in two) == 2


def test_text_that_looks_like_structure_stays_text():
    text = "1\\. not a list\n\\- not a bullet\n\\# not a heading\nline\n\\==="
    out = render(text)
    assert [t.type for t in CHECK.parse(out)] == ["paragraph_open", "inline", "paragraph_close"]
    assert visible(out) == "1. not a list - not a bullet # not a heading line ==="


def test_nesting_past_the_parser_limit_keeps_the_text():
    out = render("> " * 30 + "<b>deep</b> ![p](https://evil.example/p.png)")
    assert "<b>deep</b>" in visible(out) and "https://evil.example/p.png" in visible(out)


def test_empty_and_whitespace():
    assert to_safe_markdown("") == ""
    assert_inert(to_safe_markdown("   \n\n  "))


# ---------------------------------------------------------------- metadata values

@pytest.mark.parametrize("value", [
    "Physics/Optics", "<script>alert(1)</script>", "![p](https://evil.example/p.png)", "[x](javascript:a)",
    ":red[x]", "*bold* _it_ `code` ~~s~~ $x$", "# h\n- item\n> q", "1. first", "a|b", "C:\\path\\to", "&amp;",
    "10:30 -> 11:00", "=== ", "\\", "back`tick", ":material/home:",
])
def test_escape_inline_reads_literally(value):
    out = f"node **{escape_inline(value)}** · mode x"
    assert_inert(out)
    assert visible(out) == f"node {value.replace(chr(10), ' ').strip()} · mode x"


@pytest.mark.parametrize("value", ["smollm2", "a`b", "``x``", " lead", "<b>", "x|y", "line\nbreak"])
def test_inline_code_is_one_code_span(value):
    out = f"student {inline_code(value)}"
    spans = [t.content for t in _flat(CHECK.parse(out)) if t.type == "code_inline"]
    assert spans == [value.replace("\n", " ")]


# ---------------------------------------------------------------- time

PROSE = ("Photosynthesis turns light into **chemical energy**; see [the notes](https://ok.example/n).\n\n"
         "1. Light is absorbed.\n2. Water is split <b>here</b>.\n\n```python\ndef rate(x):\n    return x\n```\n\n")


@pytest.mark.parametrize("name, text", [
    ("1 MB of prose", PROSE * (1_000_000 // len(PROSE))),
    ("1 MB of short lines", "x\n" * 500_000),
    ("1 MB of [", "[" * 1_000_000),
    ("1 MB of ![", "![" * 500_000),
    ("20k backticks", "`" * 20_000),
    ("20k [", "[" * 20_000),
    ("20k *", "*" * 20_000),
    ("20k *a", "*a " * 20_000),
    ("10k [a](", "[a](" * 10_000),
    ("just under the budget, ![", "![" * 4_000),
    ("just under the budget, list items", "- x\n" * 3_000),
])
def test_time_is_linear(name, text):
    start = time.perf_counter()
    out = to_safe_markdown(text)
    elapsed = time.perf_counter() - start
    print(f"{name}: {len(text):,} chars in {elapsed * 1000:.0f} ms")
    assert elapsed < 5.0, f"{name}: {elapsed:.2f} s for {len(text):,} characters"
    if len(text) <= 20_000:
        assert_inert(out)


def test_text_over_the_budget_is_still_inert_and_complete():
    text = "x\n" * 6_000 + "<script>alert(1)</script>\n![p](https://evil.example/p.png)\n:red[x] $y$\n    code"
    out = render(text)
    # Indentation is kept as no-break spaces: four spaces would start a code block.
    assert visible(out).endswith("<script>alert(1)</script> ![p](https://evil.example/p.png) :red[x] $y$ "
                                 + "\u00a0" * 4 + "code")


# ---------------------------------------------------------------- random text

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

FRAGMENTS = ["<", ">", "[", "]", "(", ")", "!", "`", "```", "~~~", "\n", "\n\n", " ", "    ", "- ", "1. ", "> ",
             "*", "_", "~", "$", ":", "red", "smile", "javascript:", "https://x.example/", "data:", "&#106;", "&lt;",
             "\\", "|", "---", "=", "#", "a", "img src=x onerror=alert(1)", "script", "\t", "<!--", "-->", "&", "\"",
             "'", "|-|\n", "]: ", "www.x.example"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join))
def test_random_markdown_is_inert(text):
    out = to_safe_markdown(text)
    assert_inert(out)
    assert_inert(to_safe_markdown(out))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_random_values_read_literally(value):
    out = f"a {escape_inline(value)} z"
    assert_inert(out)
    expected = re.sub(r"\r\n?|\n", " ", value).strip().replace("\0", "\ufffd")
    assert visible(out) == f"a {expected} z"
