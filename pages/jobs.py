"""Jobs: every background run, live while any is active; cancel, resume, retry failed items."""

import streamlit as st

from lumina import jobs
from lumina.web import queries as ui_queries
from pages import _common as ui

ui.ensure_frame()

st.title("Jobs")
st.caption("Generation and other long steps run as worker processes; they keep going when this "
           "page is closed. A job whose worker died is marked interrupted and can be resumed.")

project = ui.current_project()
c1, c2, _ = st.columns([1, 1, 3], vertical_alignment="bottom")
limit = c1.selectbox("Show the latest", [10, 25, 50, 100], index=1, key="jobs_limit")
everything = c2.toggle("All projects", value=project is None, disabled=project is None,
                       key="jobs_all_projects")

by_id = ui_queries.projects_by_id()


def load():
    return jobs.list_jobs(None if everything else project.id, limit=limit)


ui.live_jobs(load, project_for=lambda job: by_id.get(job.project_id),
             empty="No jobs yet. Start one on the Generate page." if not everything
             else "No jobs in any project yet.")
