"""Samples browser: filter, page through, and read one sample with its provenance."""

import math

import streamlit as st

from lumina.web import queries as ui_queries
from lumina.web.safe_markdown import escape_inline, inline_code
from pages import _common as ui

ui.ensure_frame()

project = ui.require_project()
st.title("Samples")

STATUSES = ["all", "pending", "approved", "rejected"]
ALL_NODES = "all nodes"
PAGE_KEY = "samples_page"


def _first_page() -> None:
    st.session_state[PAGE_KEY] = 1


counts = ui_queries.status_counts(project.name)
st.caption(f"{escape_inline(project.name)}: {sum(counts.values())} samples — "
           + (", ".join(f"{n} {escape_inline(s)}" for s, n in counts.items()) or "none yet"))

f1, f2, f3, f4 = st.columns([1, 2, 3, 1])
status = f1.selectbox("Status", STATUSES, key="samples_status", on_change=_first_page)
node = f2.selectbox("Node", [ALL_NODES] + ui_queries.node_paths(project.name), key="samples_node",
                    on_change=_first_page, help="A node includes everything below it.")
search = f3.text_input("Search instruction and response", key="samples_search",
                       on_change=_first_page, placeholder="words to find")
size = f4.selectbox("Per page", [25, 50, 100, 200], index=1, key="samples_size", on_change=_first_page)

filters = dict(status=None if status == "all" else status, node=None if node == ALL_NODES else node,
               search=search)
total = ui_queries.count_matching(project.name, **filters)
pages = max(1, math.ceil(total / size))
if st.session_state.get(PAGE_KEY, 1) > pages:
    st.session_state[PAGE_KEY] = pages
if total == 0:
    if sum(counts.values()):
        st.info("No sample matches these filters.", icon=":material/filter_alt_off:")
    else:
        st.info("No samples yet. Start a run on the **Generate** page.", icon=":material/info:")
        st.page_link("pages/generate.py", label="Go to Generate", icon=":material/auto_awesome:")
    st.stop()

pager, info = st.columns([1, 5], vertical_alignment="bottom")
page = pager.number_input(f"Page (of {pages})", min_value=1, max_value=pages, step=1, key=PAGE_KEY)
samples, total = ui_queries.sample_page(project.name, limit=size, offset=(page - 1) * size, **filters)
info.caption(f"{total} matching · showing {(page - 1) * size + 1}–{(page - 1) * size + len(samples)}")


def _short(text: str, n: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


table = [{
    "id": s.id, "status": s.status, "node": s.node_path, "task type": s.task_type,
    "difficulty": s.difficulty, "instruction": _short(s.instruction), "response": _short(s.response),
    "flags": s.flags,
    "words": s.scores.get("heuristics.response_words"),
    "repetition": s.scores.get("heuristics.repetition"),
    "distinct-2": s.scores.get("heuristics.distinct_2"),
} for s in samples]
event = st.dataframe(
    table, key="samples_table", on_select="rerun", selection_mode="single-row", hide_index=True,
    height=min(38 + 35 * len(table), 420),
    column_config={
        "id": st.column_config.NumberColumn("ID", format="%d", width="small"),
        "status": st.column_config.TextColumn("Status", width="small"),
        "node": st.column_config.TextColumn("Node", width="medium"),
        "task type": st.column_config.TextColumn("Task type"),
        "difficulty": st.column_config.TextColumn("Difficulty", width="small"),
        "instruction": st.column_config.TextColumn("Instruction", width="large"),
        "response": st.column_config.TextColumn("Response", width="large"),
        "flags": st.column_config.ListColumn("Flags", width="small"),
        "words": st.column_config.NumberColumn("Words", format="%d", help="Words in the response"),
        "repetition": st.column_config.ProgressColumn(
            "Repetition", format="%.2f", min_value=0.0, max_value=1.0,
            help="Share of repeated word 3-grams in the response (high = looping)"),
        "distinct-2": st.column_config.NumberColumn("Distinct-2", format="%.2f",
                                                    help="Share of distinct word bigrams"),
    },
)
rows = event.selection.rows if event and event.selection else []
chosen = samples[rows[0]] if rows and rows[0] < len(samples) else samples[0]

st.divider()
head, toggle = st.columns([3, 1], vertical_alignment="bottom")
head.subheader(f"Sample {chosen.id}")
if not rows:
    head.caption("The first sample on this page — select a row above to see another.")
as_markdown = toggle.toggle("Render Markdown", key="samples_markdown",
                            help="Formatting only; HTML in teacher text is always shown as text.")

meta = [f"status **{escape_inline(chosen.status)}**", f"mode {inline_code(chosen.mode)}"]
for label, value in (("node", chosen.node_path), ("task", chosen.task_type),
                     ("difficulty", chosen.difficulty), ("persona", chosen.persona)):
    if value:
        meta.append(f"{label} **{escape_inline(value)}**")
st.markdown(" · ".join(meta))
if chosen.flags:
    st.markdown(" ".join(f":orange-badge[{escape_inline(f)}]" for f in chosen.flags))

left, right = st.columns(2)
with left:
    st.markdown("**Instruction**")
    with st.container(border=True):
        ui.safe_text(chosen.instruction, markdown=as_markdown)
    if chosen.context:
        st.markdown("**Context**")
        with st.container(border=True):
            ui.safe_text(chosen.context, markdown=as_markdown)
with right:
    st.markdown("**Response**")
    with st.container(border=True):
        ui.safe_text(chosen.response, markdown=as_markdown)
if chosen.reasoning:
    with st.expander("Teacher reasoning (kept apart from the answer)"):
        ui.safe_text(chosen.reasoning)

s1, s2 = st.columns([1, 2])
with s1:
    st.markdown("**Scores**")
    if chosen.scores:
        st.dataframe([{"metric": k, "value": v} for k, v in sorted(chosen.scores.items())],
                     hide_index=True, column_config={"value": st.column_config.NumberColumn(format="%.3f")})
    else:
        st.caption("No scores.")
with s2:
    st.markdown("**Provenance**")
    st.dataframe([{"field": k, "value": "" if v is None else str(v)} for k, v in (
        ("mode", chosen.mode), ("answer teacher", chosen.teacher),
        ("instruction teacher", chosen.instruction_teacher), ("templates", chosen.template),
        ("seed", chosen.seed), ("job", chosen.job_id), ("item", chosen.item_key),
        ("source", chosen.source), ("parent sample", chosen.parent_id),
        ("created", chosen.created_at.strftime("%Y-%m-%d %H:%M:%S") if chosen.created_at else None),
    )], hide_index=True, column_config={"value": st.column_config.TextColumn(width="large")})
    with st.expander("Sampling parameters"):
        st.json(chosen.params or {}, expanded=2)
    with st.expander("Raw teacher output"):
        raw = chosen.raw or {}
        if not raw:
            st.caption("Not recorded.")
        for key, value in raw.items():
            st.caption(escape_inline(key))
            if isinstance(value, str):
                st.code(value, language=None, wrap_lines=True)
            else:
                st.json(value, expanded=1)
