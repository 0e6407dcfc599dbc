"""Evaluate (planned): the trained student against its base model."""

import html

import streamlit as st

from pages import _common as ui

ui.ensure_frame()

project = ui.not_built_yet(
    "Evaluate",
    "This page will compare a trained student with its base model on held-out samples: a judge "
    "scores both answers side by side, with win rate, per-node results and the answers "
    "themselves to read.",
)
if project:
    st.markdown(f"Base model to compare against: `{html.escape(project.student)}` · no training runs yet.")
