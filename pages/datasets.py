"""Datasets (planned): frozen, content-hashed versions and exports."""

import streamlit as st

from lumina import ui_queries
from pages import _common as ui

ui.ensure_frame()

project = ui.not_built_yet(
    "Datasets",
    "This page will freeze the approved samples into a content-hashed dataset version with "
    "train/validation splits, and export it as JSONL, Parquet or a Hugging Face dataset in the "
    "`messages` or prompt/completion shape TRL reads, with a generated dataset card.",
)
if project:
    approved = ui_queries.status_counts(project.name).get("approved", 0)
    st.metric("Approved samples a version would hold today", approved)
