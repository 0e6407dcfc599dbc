"""The live job panel: status, progress, rate, ETA, actions, log tail and failed items, refreshed
every 2 s (``st.fragment(run_every=2)``) while a job is queued or running."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from lumina import jobs as lj
from lumina.records import Job, Project
from lumina.web.safe_markdown import escape_inline, inline_code
from pages._errors import show_errors
from pages._text import duration

ACTIVE = ("queued", "running")

_BADGE = {"running": "blue", "queued": "violet", "done": "green", "failed": "red",
          "cancelled": "gray", "interrupted": "orange"}


def status_badge(job: Job) -> str:
    """Markdown for a coloured badge with the job's verdict."""
    color = "orange" if job.status == "done" and job.failed else _BADGE.get(job.status, "gray")
    return f":{color}-badge[{lj.outcome(job)}]"


# ---------------------------------------------------------------- jobs

def _job_teacher(job: Job, project: Project | None) -> str:
    p = job.params or {}
    default = project.teacher if project else "project default"
    inst, ans = p.get("instruction_teacher") or default, p.get("answer_teacher") or default
    return ans if inst == ans else f"{inst} → {ans}"


def job_panel(job: Job, project: Project | None = None) -> None:
    """One job: status, progress, rate, ETA, teacher, actions, log tail and failed items."""
    with st.container(border=True):
        when = job.created_at.strftime("%Y-%m-%d %H:%M") if job.created_at else ""
        what = lj.describe(job)
        if project:
            what += f" · {project.name}"
        st.markdown(f"**Job {job.id}** &nbsp; {status_badge(job)}  \n"
                    f":gray[{escape_inline(what)} · created {when}]")
        finished = job.done + job.failed
        frac = min(finished / job.total, 1.0) if job.total else 0.0
        unit = lj.progress_unit(job)
        if job.total:
            label = f"{finished} / {job.total} {unit}"
        else:
            label = "waiting for the worker…" if job.status == "queued" else "no items"
        if job.failed:
            label += f" ({job.failed} failed)"
        st.progress(frac, text=label)
        tps = job.tokens_per_s
        facts = [f"**{tps:,.0f}** tokens/s"] if tps else []
        if job.status == "running":
            if job.started_at:
                facts.append(f"running for {duration((datetime.now() - job.started_at).total_seconds())}")
            facts.append(f"ETA **{duration(job.eta_s)}**")
        elif job.started_at and job.finished_at:
            facts.append(f"took **{duration((job.finished_at - job.started_at).total_seconds())}**")
        if lj.uses_teacher(job):
            facts.append(f"teacher {inline_code(_job_teacher(job, project))}")
        st.markdown(" · ".join(facts))
        if job.error:
            st.warning(escape_inline(job.error), icon=":material/warning:")
        _job_actions(job)
        tail = lj.log_tail(job, lines=30)
        with st.expander("Log (last lines)"):
            if tail:
                st.code(tail, language=None)
            else:
                st.caption("No log output yet.")
        if job.failed:
            with st.expander(f"Failed items ({job.failed})"):
                _failures(job)


def _job_actions(job: Job) -> None:
    row = st.container(horizontal=True)
    if job.status in ACTIVE:
        if row.button("Cancel", key=f"cancel-{job.id}", icon=":material/stop:",
                      disabled=job.cancel_requested,
                      help="Stop after the current batch; finished items are kept."):
            with show_errors():
                lj.cancel(job.id, wait=False)
                st.rerun(scope="app")
        if job.cancel_requested:
            row.caption("Cancelling after the current batch…")
        return
    if job.status in lj.RESUMABLE:
        if row.button("Resume", key=f"resume-{job.id}", icon=":material/play_arrow:",
                      help="Start a worker again; finished items are kept, cached teacher calls reused."):
            with show_errors():
                lj.resume(job.id)
                st.rerun(scope="app")
    if job.failed:
        if row.button("Retry failed", key=f"retry-{job.id}", icon=":material/replay:",
                      help=f"Run the {job.failed} failed items again."):
            with show_errors():
                lj.resume(job.id, retry_failed=True)
                st.rerun(scope="app")


def _failures(job: Job, limit: int = 50) -> None:
    items = lj.failures(job.id, limit=limit)
    noted = (job.result or {}).get("errors") or []  # jobs without items (expand) keep theirs here
    if not items and noted:
        for e in noted[:limit]:
            st.markdown(f"**{escape_inline(e.get('path') or 'top level')}**")
            st.text(e.get("error") or "no error message")
            if e.get("raw"):
                st.code(e["raw"], language=None, wrap_lines=True)
        return
    if not items:
        st.caption("No failed items recorded.")
        return
    for it in items:
        st.markdown(f"**{escape_inline(it.key)}** · attempt {it.attempts}")
        st.text(it.error or "no error message")
        raw = it.raw or "(no raw teacher text)"
        st.code(raw, language=None, wrap_lines=True, height=160 if raw.count("\n") > 8 else "content")
        st.caption(escape_inline("Item: " + ", ".join(f"{k}={v}" for k, v in (it.payload or {}).items())))
    if job.failed > limit:
        st.caption(f"Showing the first {limit} of {job.failed}.")


def live_jobs(load, project_for=lambda job: None, empty: str = "No jobs yet.") -> None:
    """Job panels that refresh every 2 s while any job is queued or running.

    ``load()`` returns the jobs to show; ``project_for(job)`` the project to take defaults from.
    When the last active job ends, the whole page reruns once so the timer stops.
    """
    first = load()
    was_active = any(j.status in ACTIVE for j in first)
    state = {"jobs": first}

    @show_errors()
    def body() -> None:
        shown = state.pop("jobs", None)
        current = shown if shown is not None else load()
        if not current:
            st.caption(empty)
            return
        if was_active and not any(j.status in ACTIVE for j in current):
            st.rerun(scope="app")
        for job in current:
            job_panel(job, project_for(job))

    st.fragment(body, run_every=2 if was_active else None)()
