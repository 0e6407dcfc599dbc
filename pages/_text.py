"""Teacher text shown inert, and small formatting helpers."""

from __future__ import annotations

import streamlit as st

from lumina.web.safe_markdown import escape_inline, to_safe_markdown


def safe_text(text: str | None, markdown: bool = False) -> None:
    """Teacher text, never interpreted as HTML (``st.text``); Markdown only through
    ``to_safe_markdown``."""
    if not text:
        st.caption("(empty)")
    elif markdown:
        st.markdown(to_safe_markdown(text))
    else:
        st.text(text)


def tree_markdown(nodes, depth: int = 0) -> str:
    """A taxonomy tree as a nested Markdown list (names and descriptions escaped)."""
    lines = []
    for n in nodes:
        extra = f" — {escape_inline(n.description)}" if n.description else ""
        weight = f" `×{n.weight:g}`" if n.weight != 1.0 else ""
        lines.append(f"{'    ' * depth}- **{escape_inline(n.name)}**{weight}{extra}")
        if n.children:
            lines.append(tree_markdown(n.children, depth + 1))
    return "\n".join(lines)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
