"""Diversity map (planned): embeddings, a 2-D map, clusters. Today: taxonomy coverage."""

import streamlit as st

from lumina import ui_queries
from pages import _common as ui

ui.ensure_frame()

project = ui.not_built_yet(
    "Diversity map",
    "This page will embed every sample (all-MiniLM-L6-v2), project them to 2-D with UMAP in a "
    "background job, colour the map by taxonomy node, cluster or score, and let you lasso a "
    "region to inspect or reject it, with diversity and coverage scores per node. Below is the "
    "coverage of the taxonomy's leaves, which needs no embeddings.",
)
if project:
    rows = [r for r in ui_queries.node_table(project.name)
            if r["leaf"] and r["path"] != ui_queries.OUTSIDE_TAXONOMY]
    if rows:
        covered = sum(1 for r in rows if r["generated"])
        st.metric("Taxonomy leaves with at least one sample", f"{covered} of {len(rows)}")
        st.progress(covered / len(rows))
    else:
        st.caption("This project has no taxonomy.")
