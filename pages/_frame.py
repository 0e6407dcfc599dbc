"""The frame around every page: app.py's wrapper, the sign-in and acting user, the sidebar project
picker, and the bug notice beyond loopback."""

from __future__ import annotations

import runpy
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import streamlit as st

from lumina import access
from lumina import projects as lp
from lumina.errors import LuminaError
from lumina.records import Project
from lumina.web import serving
from lumina.web.safe_markdown import escape_inline
from pages._errors import show_errors

PROJECT_KEY = "project"
_PICKER_KEY = "_project_picker"
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
