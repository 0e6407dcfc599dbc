"""Samples browser: filter, page through, and read one sample with its provenance."""

import math

import streamlit as st

from lumina.web import queries as ui_queries
from lumina.web.safe_markdown import escape_inline
from pages import _common as ui
from pages import _filters, _sample_view

ui.ensure_frame()

project = ui.require_project()
st.title("Samples")

PAGE_KEY = "samples_page"


def _first_page() -> None:
    st.session_state[PAGE_KEY] = 1


choices = ui_queries.filter_choices(project.name)
counts = choices.statuses
st.caption(f"{escape_inline(project.name)}: {sum(counts.values())} samples — "
           + (", ".join(f"{n} {escape_inline(s)}" for s, n in counts.items()) or "none yet"))

*bar, f5 = st.columns([1, 2, 2, 2, 1])
filt = _filters.filter_bar("samples", choices.nodes, choices.flags, choices.metrics, columns=bar,
                           search_label="Search instruction and response", placeholder="words to find",
                           on_change=_first_page)
size = f5.selectbox("Per page", [25, 50, 100, 200], index=1, key="samples_size", on_change=_first_page)

total = ui_queries.count_matching(project.name, filt)
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
samples, total = ui_queries.filtered_page(project.name, filt, limit=size, offset=(page - 1) * size)
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
as_markdown = toggle.toggle("Render Markdown", key="samples_markdown", help=_sample_view.MARKDOWN_HELP)

_sample_view.meta_line(chosen)
_sample_view.body(chosen, markdown=as_markdown)
_sample_view.details(chosen)
