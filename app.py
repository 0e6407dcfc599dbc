"""Lumina's web UI: `streamlit run app.py`.

The entry point is only a router and a frame: the sign-in (every library call of the run then
acts as that user), navigation over pages/, the sidebar project picker (its choice lives in
st.session_state["project"]) and, once per session, marking jobs whose worker died as
interrupted.
"""

import streamlit as st

import lumina
from lumina import jobs
from lumina.config import settings
from pages import _common as ui

st.set_page_config(page_title="Lumina", page_icon=":material/flare:", layout="wide")

actor = ui.sign_in()  # the page stops here until someone is signed in

if not st.session_state.get("_jobs_recovered"):
    with ui.show_errors():
        jobs.recover()
    st.session_state["_jobs_recovered"] = True

pages = {
    "Data": [
        st.Page("pages/projects.py", title="Projects", icon=":material/folder:", default=True),
        st.Page("pages/taxonomy.py", title="Taxonomy", icon=":material/account_tree:"),
        st.Page("pages/generate.py", title="Generate", icon=":material/auto_awesome:"),
        st.Page("pages/samples.py", title="Samples", icon=":material/table_rows:"),
        st.Page("pages/jobs.py", title="Jobs", icon=":material/pending_actions:"),
    ],
    "Curate": [
        st.Page("pages/quality.py", title="Quality", icon=":material/verified:"),
        st.Page("pages/diversity.py", title="Diversity map", icon=":material/scatter_plot:"),
        st.Page("pages/review.py", title="Review", icon=":material/rate_review:"),
        st.Page("pages/datasets.py", title="Datasets", icon=":material/dataset:"),
    ],
    "Model": [
        st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
        st.Page("pages/evaluate.py", title="Evaluate", icon=":material/query_stats:"),
    ],
}
page = st.navigation(pages)

with ui.show_errors():
    ui.signed_in_box(actor, ui.project_picker())
st.sidebar.caption(f"Lumina {lumina.__version__}", help=f"Data folder: {ui.inline_code(settings().home)} (LUMINA_HOME)")

ui.show_flash()
with ui.app_frame(), ui.show_errors(), ui.hide_bugs():
    page.run()
