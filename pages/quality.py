"""Quality (planned): scorers, histograms and thresholds. Today: the heuristic flags."""

import streamlit as st

from lumina import ui_queries
from pages import _common as ui

ui.ensure_frame()

project = ui.not_built_yet(
    "Quality",
    "This page will score every sample with an LLM judge (a rubric), the student's perplexity "
    "and instruction-following difficulty, near-duplicate detection and benchmark "
    "decontamination, then show a histogram per score with thresholds you can drag to flag or "
    "reject samples in bulk. The cheap heuristic scores below are already computed as samples "
    "are written.",
)
if project:
    flags = ui_queries.flag_counts(project.name)
    total = sum(ui_queries.status_counts(project.name).values())
    st.subheader("Heuristic flags so far")
    if flags:
        st.dataframe([{"flag": f, "samples": n, "share": n / total if total else 0.0}
                      for f, n in flags.items()],
                     hide_index=True, column_config={
                         "share": st.column_config.ProgressColumn("Share of samples", format="percent",
                                                                  min_value=0.0, max_value=1.0)})
    else:
        st.caption(f"No flags on the {total} samples of {project.name}.")
