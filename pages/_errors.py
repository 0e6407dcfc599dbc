"""The error box and one-shot messages of the web UI."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import streamlit as st

from lumina.errors import LuminaError

_FLASH_KEY = "_flash"


@contextmanager
def show_errors() -> Iterator[None]:
    """Show a ``LuminaError`` as an error box (the rest of the ``with`` block is skipped);
    anything else is a bug and keeps its traceback."""
    try:
        yield
    except LuminaError as exc:
        st.error(str(exc), icon=":material/error:")


def flash(message: str) -> None:
    """A success message shown once, after the next rerun (e.g. after creating a project)."""
    st.session_state[_FLASH_KEY] = message


def show_flash() -> None:
    message = st.session_state.pop(_FLASH_KEY, None)
    if message:
        st.success(message, icon=":material/check_circle:")
