"""One sample as the Samples and Review pages show it: the meta line, the body (instruction,
context, response, reasoning), its scores and its provenance. Teacher text stays inert
(``pages._text.safe_text``); short values go through ``escape_inline`` / ``inline_code``."""

from __future__ import annotations

import streamlit as st

from lumina.records import Sample
from lumina.web.safe_markdown import escape_inline, inline_code
from pages._text import safe_text

MARKDOWN_HELP = "Formatting only; HTML in teacher text is always shown as text."


def meta_line(s: Sample, with_id: bool = False) -> None:
    """Status, mode, node, task type, difficulty and persona on one line; the flags as badges."""
    meta = [f"sample **{s.id}**"] if with_id else []
    meta += [f"status **{escape_inline(s.status)}**", f"mode {inline_code(s.mode)}"]
    for label, value in (("node", s.node_path), ("task", s.task_type), ("difficulty", s.difficulty),
                         ("persona", s.persona)):
        if value:
            meta.append(f"{label} **{escape_inline(value)}**")
    st.markdown(" · ".join(meta))
    if s.flags:
        st.markdown(" ".join(f":orange-badge[{escape_inline(f)}]" for f in s.flags))


def body(s: Sample, markdown: bool, context_in_expander: bool = False) -> None:
    """Instruction (and context) beside the response; the teacher's reasoning folded below."""
    left, right = st.columns(2)
    with left:
        st.markdown("**Instruction**")
        with st.container(border=True):
            safe_text(s.instruction, markdown=markdown)
        if s.context and context_in_expander:
            with st.expander("Context", expanded=True):
                safe_text(s.context, markdown=markdown)
        elif s.context:
            st.markdown("**Context**")
            with st.container(border=True):
                safe_text(s.context, markdown=markdown)
    with right:
        st.markdown("**Response**")
        with st.container(border=True):
            safe_text(s.response, markdown=markdown)
    if s.reasoning:
        with st.expander("Teacher reasoning (kept apart from the answer)"):
            safe_text(s.reasoning)


def scores(s: Sample) -> None:
    """Every score of the sample as a two-column table."""
    if s.scores:
        st.dataframe([{"metric": k, "value": v} for k, v in sorted(s.scores.items())], hide_index=True,
                     column_config={"value": st.column_config.NumberColumn(format="%.3f")})
    else:
        st.caption("No scores.")


def shown_params(s: Sample) -> dict:
    """The sample's sampling parameters with its own seed. Samples generated before the modes
    stored it kept the job-wide ``seed: null`` although every teacher call was sent the item's
    seed (the provenance ``seed``): such a null is shown as that seed."""
    params = dict(s.params or {})
    if s.seed is None or s.job_id is None:
        return params
    for step, value in params.items():
        if isinstance(value, dict) and "seed" in value and value["seed"] is None:
            params[step] = {**value, "seed": s.seed}
    return params


def provenance(s: Sample) -> None:
    """Who and what wrote the sample: mode, teachers, templates, seed, job; parameters; raw output."""
    st.dataframe([{"field": k, "value": "" if v is None else str(v)} for k, v in (
        ("mode", s.mode), ("answer teacher", s.teacher),
        ("instruction teacher", s.instruction_teacher), ("templates", s.template),
        ("seed", s.seed), ("job", s.job_id), ("item", s.item_key),
        ("source", s.source), ("parent sample", s.parent_id),
        ("created", s.created_at.strftime("%Y-%m-%d %H:%M:%S") if s.created_at else None),
    )], hide_index=True, column_config={"value": st.column_config.TextColumn(width="large")})
    with st.expander("Sampling parameters"):
        st.json(shown_params(s), expanded=2)
    with st.expander("Raw teacher output"):
        raw = s.raw or {}
        if not raw:
            st.caption("Not recorded.")
        for key, value in raw.items():
            st.caption(escape_inline(key))
            if isinstance(value, str):
                st.code(value, language=None, wrap_lines=True)
            else:
                st.json(value, expanded=1)


def details(s: Sample) -> None:
    """Scores beside provenance."""
    left, right = st.columns([1, 2])
    with left:
        st.markdown("**Scores**")
        scores(s)
    with right:
        st.markdown("**Provenance**")
        provenance(s)
