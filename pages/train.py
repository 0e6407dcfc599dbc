"""Train (planned): LoRA fine-tuning of the student as a background job."""

import html

import streamlit as st

from lumina import ui_queries
from pages import _common as ui

ui.ensure_frame()

project = ui.not_built_yet(
    "Train",
    "This page will fine-tune the project's student on a dataset version with TRL's SFTTrainer "
    "and a LoRA adapter, as a worker job with a live loss curve, on CPU or GPU; each run keeps "
    "its resolved config, so it can be resumed or repeated.",
)
if project:
    st.markdown(f"Student: `{html.escape(project.student)}` · approved samples: "
                f"**{ui_queries.status_counts(project.name).get('approved', 0)}**")
