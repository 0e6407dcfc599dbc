"""Shared pieces of the web UI: the project picker, the error box, safe text, the job panel.

Only widgets and calls into ``lumina.*`` here, like the pages themselves.
"""

from __future__ import annotations

import html
import runpy
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator

import streamlit as st

from lumina import access
from lumina.web import serving
from lumina import jobs as lj
from lumina import projects as lp
from lumina.errors import LuminaError
from lumina.records import Job, Project
from lumina.web.safe_markdown import escape_inline, inline_code, to_safe_markdown

PROJECT_KEY = "project"
_PICKER_KEY = "_project_picker"
_FLASH_KEY = "_flash"
ACTIVE = ("queued", "running")
NO_PROJECT = (
    "There is no project yet. Create one on the **Projects** page, or run `lumina demo` in a "
    "terminal for a ready-made one."
)


APP_FILE = Path(__file__).resolve().parent.parent / "app.py"
_IN_FRAME = "_in_app_frame"


# ---------------------------------------------------------------- the frame (app.py)

@contextmanager
def app_frame() -> Iterator[None]:
    """Marks that app.py (navigation, sidebar, page config) is wrapping the page run."""
    st.session_state[_IN_FRAME] = True
    try:
        yield
    finally:
        st.session_state[_IN_FRAME] = False


def ensure_frame() -> None:
    """Call first in every page: run the page inside app.py even when Streamlit did not.

    Streamlit 1.67 still treats a folder named ``pages/`` beside the entry script as an old-style
    multipage app until ``st.navigation`` has run once in the process: the server's first script
    run (and every ``AppTest`` run after ``switch_page``) executes the page file on its own,
    without app.py. Then the page runs app.py, which renders the frame and this page inside it.
    """
    if st.session_state.get(_IN_FRAME):
        return
    runpy.run_path(str(APP_FILE), run_name="__lumina_app__")
    st.stop()


# ---------------------------------------------------------------- errors and messages

@contextmanager
def show_errors() -> Iterator[None]:
    """Show a ``LuminaError`` as an error box (the rest of the ``with`` block is skipped);
    anything else is a bug and keeps its traceback."""
    try:
        yield
    except LuminaError as exc:
        st.error(str(exc), icon=":material/error:")


@contextmanager
def hide_bugs() -> Iterator[None]:
    """Beyond loopback a bug shows a short notice, not a traceback (it goes to the server's log):
    tracebacks tell visitors about the server's files and code."""
    if serving.is_loopback(_served_on()):
        yield
        return
    try:
        yield
    except Exception:
        import logging
        import uuid

        ref = uuid.uuid4().hex[:8]
        logging.getLogger("lumina.app").exception("error %s", ref)
        st.error(f"Something went wrong on the server (reference {ref}, in its log).", icon=":material/error:")


def flash(message: str) -> None:
    """A success message shown once, after the next rerun (e.g. after creating a project)."""
    st.session_state[_FLASH_KEY] = message


def show_flash() -> None:
    message = st.session_state.pop(_FLASH_KEY, None)
    if message:
        st.success(message, icon=":material/check_circle:")


# ---------------------------------------------------------------- project picker

def select_project(name: str) -> None:
    st.session_state[PROJECT_KEY] = name


def _picked() -> None:
    st.session_state[PROJECT_KEY] = st.session_state[_PICKER_KEY]


def project_picker() -> str | None:
    """The sidebar select box; its choice lives in ``st.session_state["project"]``."""
    names = lp.names()
    current = st.session_state.get(PROJECT_KEY)
    if current not in names:
        current = names[0] if names else None
    st.session_state[PROJECT_KEY] = current
    with st.sidebar:
        if not names:
            st.caption("No projects yet.")
            return None
        st.session_state[_PICKER_KEY] = current  # set before the widget exists: allowed
        st.selectbox("Project", names, key=_PICKER_KEY, on_change=_picked)
    return current


def current_project() -> Project | None:
    name = st.session_state.get(PROJECT_KEY)
    if not name:
        return None
    try:
        return lp.get(name)
    except LuminaError:
        return None


def require_project() -> Project:
    """The selected project; without one, say how to make one and stop the page."""
    project = current_project()
    if project is None:
        st.info(NO_PROJECT, icon=":material/info:")
        st.page_link("pages/projects.py", label="Go to Projects", icon=":material/folder:")
        st.stop()
    return project


# ---------------------------------------------------------------- safe text

def escape_for_markdown(text: str) -> str:
    """Teacher text as Markdown that renders inert: parsed, then written out again with HTML as
    text, images as text, only http(s)/mailto links (target shown) and Streamlit's syntax escaped."""
    return to_safe_markdown(text)


def safe_text(text: str | None, markdown: bool = False) -> None:
    """Teacher text, never interpreted as HTML (``st.text``); Markdown only after escaping."""
    if not text:
        st.caption("(empty)")
    elif markdown:
        st.markdown(escape_for_markdown(text))
    else:
        st.text(text)


# ---------------------------------------------------------------- formatting

def tree_markdown(nodes, depth: int = 0) -> str:
    """A taxonomy tree as a nested Markdown list (names and descriptions escaped)."""
    lines = []
    for n in nodes:
        extra = f" — {escape_inline(n.description)}" if n.description else ""
        weight = f" `×{n.weight:g}`" if n.weight != 1.0 else ""
        lines.append(f"{'    ' * depth}- **{escape_inline(n.name)}**{weight}{extra}")
        if n.children:
            lines.append(tree_markdown(n.children, depth + 1))
    return "\n".join(lines)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


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
        p = job.params or {}
        if job.kind == "generate":
            what = f"generate · {p.get('mode', 'taxonomy')} · {p.get('n')} samples"
        elif job.kind == "expand":
            what = (f"expand taxonomy to depth {p.get('depth')}" if p.get("apply")
                    else "propose sub-topics") + f" · {p.get('n')} per node"
        elif job.kind == "train":
            what = f"train · run {p.get('run_id')} · version {p.get('version')}"
        elif job.kind == "score":
            what = f"score · {p.get('scorer')}"
        elif job.kind == "map":
            what = "diversity map" + (" · refit" if p.get("refit") else "")
        elif job.kind == "playground":
            what = f"playground · run {p.get('run_id')}"
        elif job.kind == "import":
            what = f"import {p.get('kind')} · {', '.join(p.get('names') or [])[:120]}"
        elif job.kind == "eval":
            what = f"evaluate · run {p.get('run_id')}" + (f" · {', '.join(p['evalsets'])}" if p.get("evalsets") else "")
        else:
            what = job.kind
        if project:
            what += f" · {project.name}"
        st.markdown(f"**Job {job.id}** &nbsp; {status_badge(job)}  \n"
                    f":gray[{escape_inline(what)} · created {when}]")
        finished = job.done + job.failed
        frac = min(finished / job.total, 1.0) if job.total else 0.0
        per_sample = job.kind == "score" and p.get("scorer") in ("heuristics", "judge", "ifd")
        unit = "samples" if per_sample else {"train": "steps", "eval": "steps", "map": "steps",
                                              "score": "steps"}.get(job.kind, "items")
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
        if job.kind in ("generate", "expand", "probe", "eval") or (job.kind == "score" and p.get("scorer") == "judge"):
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


# ---------------------------------------------------------------- forms from pydantic models

def number_field(model, field: str, value, label: str | None = None, key: str | None = None,
                 container=st, step=None):
    """A number input whose bounds and help come from a pydantic field (validation stays there)."""
    info = model.model_fields[field]
    lo = hi = None
    for m in info.metadata:
        lo = getattr(m, "ge", lo)
        hi = getattr(m, "le", hi)
    kind = float if isinstance(value, float) else int
    return container.number_input(
        label or field.replace("_", " ").capitalize(), value=value,
        min_value=kind(lo) if lo is not None else None, max_value=kind(hi) if hi is not None else None,
        step=step if step is not None else (0.05 if kind is float else 1),
        help=info.description, key=key,
    )


# ---------------------------------------------------------------- prompt templates

def template_editor(project_name: str, t) -> None:
    """A prompt template with its variables, saved per project (every version kept)."""
    from lumina import prompts

    st.markdown(f"**{escape_inline(t.key)}** · in use: {inline_code(t.ref)}" + (" (this project's wording)" if t.override else ""))
    variables = ", ".join(f"`{v}`" for v in prompts.variables(t.key)) or "none"
    edited = st.text_area(t.key, t.source, height=180, key=f"tpl_{t.key}_{t.ref}", label_visibility="collapsed",
                          help=f"Jinja template. Variables: {variables}.")
    st.caption(f"Variables this step provides: {variables}. Saving keeps every earlier version; samples record "
               "the version that wrote them.")
    row = st.container(horizontal=True)
    if row.button("Save for this project", key=f"tpl_save_{t.key}", disabled=edited == t.source):
        with show_errors():
            saved = prompts.save_override(project_name, t.mode, t.step, edited)
            flash(f"{escape_inline(t.key)} now uses {escape_inline(saved.ref)} in {escape_inline(project_name)}.")
            st.rerun()
    if t.override and row.button("Back to the built-in", key=f"tpl_reset_{t.key}"):
        with show_errors():
            back = prompts.reset_override(project_name, t.mode, t.step)
            flash(f"{escape_inline(t.key)} uses the built-in {escape_inline(back.ref)} again.")
            st.rerun()


# ---------------------------------------------------------------- who is signed in

REVIEWER_KEY = "reviewer"  # a plain session key (not a widget's), so it survives page switches
_ACTOR_KEY = "_lumina_actor"


def _session_actor():
    """The acting user of the script run in progress (fragments too); None outside a script run
    (a test, another thread), which leaves the library's default."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx(suppress_warning=True) is None:
        return None
    return st.session_state.get(_ACTOR_KEY) or access.NOBODY


def _has_oidc_secrets() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def _served_on() -> str | None:
    return st.get_option("server.address")


def sign_in() -> access.Actor:
    """Who is using this browser session; stops the page until they are signed in.

    Loopback without a sign-in configured: the local user (owner of everything, as on the command
    line). Otherwise the login from Streamlit's OIDC (``st.user``) or the trusted proxy header; the
    app refuses to run on a non-loopback address without one (lumina.web.serving.refusal).
    """
    access.install_resolver(_session_actor)
    st.session_state.pop(_ACTOR_KEY, None)  # decided afresh on every run: a logout takes effect
    try:
        config = serving.auth_config(_has_oidc_secrets())
    except LuminaError as exc:
        st.error(str(exc), icon=":material/lock:")
        st.stop()
    reason = serving.refusal(_served_on(), config)
    if reason:
        st.error(reason, icon=":material/lock:")
        st.stop()
    if config.mode == "none":
        from lumina.review import default_reviewer

        actor = access.Actor(st.session_state.get(REVIEWER_KEY) or default_reviewer(), "local")
    elif config.mode == "oidc":
        if not getattr(st.user, "is_logged_in", False):
            st.title("Lumina")
            st.write("Sign in to continue.")
            if st.button("Sign in", icon=":material/login:", type="primary"):
                st.login(config.provider) if config.provider else st.login()
            st.stop()
        actor = access.Actor.login(st.user.get("email") or st.user.get("sub") or "")
    else:
        name = serving.header_user(dict(st.context.headers), config)
        if not name:
            st.error("Lumina expects to be reached through its sign-in proxy, which did not identify you. "
                     "Open it through the proxy's address.", icon=":material/lock:")
            st.stop()
        actor = access.Actor.login(name)
    st.session_state[_ACTOR_KEY] = actor
    return actor


def signed_in_box(actor: access.Actor, project: str | None) -> None:
    if actor.trusted:
        return
    with st.sidebar:
        role = None
        if project:
            with show_errors():
                role = access.role_in(lp.get(project).id, actor)
        st.caption(f"Signed in as **{escape_inline(actor.name)}**" + (f" · {role} of this project" if role else ""))
        if serving.auth_config(_has_oidc_secrets()).mode == "oidc":
            st.button("Sign out", icon=":material/logout:", on_click=st.logout)


def current_actor() -> access.Actor:
    return st.session_state.get(_ACTOR_KEY) or access.NOBODY


def logged_in_user() -> str | None:
    """The signed-in user's login, or None when the app runs locally without a sign-in."""
    actor = st.session_state.get(_ACTOR_KEY)
    return actor.name if actor is not None and not actor.trusted else None


def current_reviewer() -> str:
    """The signed-in user when a sign-in is configured (the only name they may act under), else the
    name typed on the Review page in this browser session, else the default (``$LUMINA_REVIEWER``
    or the OS user)."""
    from lumina.review import default_reviewer

    return logged_in_user() or st.session_state.get(REVIEWER_KEY) or default_reviewer()


def can(project: Project | str | None, role: str) -> bool:
    """Whether to offer an action (the library checks again when it runs)."""
    return project is not None and access.can(project, role, current_actor())
