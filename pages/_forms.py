"""Form widgets shared by pages: number inputs bounded by pydantic fields, the prompt template
editor."""

from __future__ import annotations

import streamlit as st

from lumina.web.safe_markdown import escape_inline, inline_code
from pages._errors import flash, show_errors


def number_field(model, field: str, value, label: str | None = None, key: str | None = None,
                 container=st, step=None):
    """A number input whose bounds and help come from a pydantic field (validation stays there)."""
    info = model.model_fields[field]
    lo = hi = None
    for m in info.metadata:
        lo = getattr(m, "ge", lo)
        hi = getattr(m, "le", hi)
    kind = float if isinstance(value, float) else int
    return container.number_input(
        label or field.replace("_", " ").capitalize(), value=value,
        min_value=kind(lo) if lo is not None else None, max_value=kind(hi) if hi is not None else None,
        step=step if step is not None else (0.05 if kind is float else 1),
        help=info.description, key=key,
    )


# ---------------------------------------------------------------- prompt templates

def template_editor(project_name: str, t) -> None:
    """A prompt template with its variables, saved per project (every version kept)."""
    from lumina import prompts

    st.markdown(f"**{escape_inline(t.key)}** · in use: {inline_code(t.ref)}" + (" (this project's wording)" if t.override else ""))
    variables = ", ".join(f"`{v}`" for v in prompts.variables(t.key)) or "none"
    edited = st.text_area(t.key, t.source, height=180, key=f"tpl_{t.key}_{t.ref}", label_visibility="collapsed",
                          help=f"Jinja template. Variables: {variables}.")
    st.caption(f"Variables this step provides: {variables}. Saving keeps every earlier version; samples record "
               "the version that wrote them.")
    row = st.container(horizontal=True)
    if row.button("Save for this project", key=f"tpl_save_{t.key}", disabled=edited == t.source):
        with show_errors():
            saved = prompts.save_override(project_name, t.mode, t.step, edited)
            flash(f"{escape_inline(t.key)} now uses {escape_inline(saved.ref)} in {escape_inline(project_name)}.")
            st.rerun()
    if t.override and row.button("Back to the built-in", key=f"tpl_reset_{t.key}"):
        with show_errors():
            back = prompts.reset_override(project_name, t.mode, t.step)
            flash(f"{escape_inline(t.key)} uses the built-in {escape_inline(back.ref)} again.")
            st.rerun()
