"""Review (planned): approve / reject / edit. Today: how many samples wait for review."""

import streamlit as st

from lumina import ui_queries
from pages import _common as ui

ui.ensure_frame()

project = ui.not_built_yet(
    "Review",
    "This page will show pending samples one at a time or in a filtered batch, with keyboard "
    "shortcuts to approve, reject or edit them; every decision is kept in an audit trail and an "
    "edit keeps the original. Bulk actions will act on a Samples filter or a Quality threshold.",
)
if project:
    counts = ui_queries.status_counts(project.name)
    c1, c2, c3 = st.columns(3)
    c1.metric("Pending review", counts.get("pending", 0))
    c2.metric("Approved", counts.get("approved", 0))
    c3.metric("Rejected", counts.get("rejected", 0))
