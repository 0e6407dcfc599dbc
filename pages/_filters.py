"""The filter bar of sample lists (the Samples page, the Review queue and table): status, node,
flags, words and a score range make one ``SampleFilter``, which the library turns into the same
WHERE clause for every list, count, queue and bulk action (one WHERE builder in the library).

Every widget's key starts with a page's prefix (``samples_node``, ``rt_flags``...), so the filter
can be read from session state before the bar is drawn (the Review queue draws it after its
query, with the choices that query returned).
"""

from __future__ import annotations

from typing import Callable, Sequence

import streamlit as st

from lumina.records import SampleFilter

ALL = "all"
STATUSES = [ALL, "pending", "approved", "rejected"]
ALL_NODES = "all nodes"


def current_filter(prefix: str, status: bool = True, scores: bool = True) -> SampleFilter:
    """The filter the bar with this prefix holds (its widgets' values in session state)."""
    state = st.session_state
    chosen = state.get(f"{prefix}_status", ALL) if status else None
    node = state.get(f"{prefix}_node", ALL_NODES)
    ranges = []
    if scores:
        metric, low, high = (state.get(f"{prefix}_{k}") for k in ("metric", "low", "high"))
        if metric and (low is not None or high is not None):
            ranges.append((metric, low, high))
    return SampleFilter(status=None if chosen in (None, ALL) else chosen,
                        node=None if node in (None, ALL_NODES) else node,
                        flags=list(state.get(f"{prefix}_flags") or []),
                        search=(state.get(f"{prefix}_search") or "").strip() or None,
                        score_ranges=ranges)


def filter_bar(prefix: str, nodes: Sequence[str], flags: Sequence[str], metrics: Sequence[str] | None = None,
               *, status: bool = True, columns: Sequence | None = None, search_label: str = "Search",
               placeholder: str = "words", on_change: Callable[[], None] | None = None) -> SampleFilter:
    """Draw the bar and return its filter.

    ``columns``: containers for the status (when ``status``), node, flag and search widgets; by
    default one row of columns. ``metrics``: the score names to offer in a "Score ranges" expander
    below (None: no score filter). ``on_change`` runs when any of them changes (e.g. back to page 1).
    """
    if columns is None:
        columns = st.columns([1, 2, 2, 2] if status else [2, 2, 2])
    cols = iter(columns)
    if status:
        next(cols).selectbox("Status", STATUSES, key=f"{prefix}_status", on_change=on_change)
    next(cols).selectbox("Node", [ALL_NODES, *nodes], key=f"{prefix}_node", on_change=on_change,
                         help="A node includes everything below it.")
    next(cols).multiselect("Has flag", list(flags), key=f"{prefix}_flags", on_change=on_change)
    next(cols).text_input(search_label, key=f"{prefix}_search", placeholder=placeholder, on_change=on_change)
    if metrics is not None:
        with st.expander("Score ranges"):
            m1, m2, m3 = st.columns([2, 1, 1])
            m1.selectbox("Score", [None, *metrics], key=f"{prefix}_metric", on_change=on_change,
                         format_func=lambda m: "(no score filter)" if m is None else m)
            m2.number_input("at least", value=None, key=f"{prefix}_low", on_change=on_change)
            m3.number_input("at most", value=None, key=f"{prefix}_high", on_change=on_change)
    return current_filter(prefix, status=status, scores=metrics is not None)
