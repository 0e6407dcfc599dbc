"""Review: a queue (one sample at a time, keyboard shortcuts), a table with filters and bulk
actions, and progress with reviewer agreement. Every decision is an append-only event."""


import streamlit as st

from lumina import review
from lumina.web import queries as ui_queries
from lumina.errors import LuminaError
from lumina.projects.samples import text_hash
from pages import _common as ui
from pages import _filters, _sample_view

ui.ensure_frame()

project = ui.require_project()
st.title("Review")

ERR_KEY = "_review_error"
SKIPPED = f"review_skipped_{project.name}"
DONE = f"review_done_{project.name}"
EDITING = "review_editing"
EDIT_SEEN = "review_edit_seen"           # (instruction, response, status) as the editor opened them
TABLE_SEEN = f"rt_seen_{project.name}"   # {id: (status, text version)} of the rows last shown
ALL_SEEN = f"rt_all_seen_{project.name}"  # (filter, {id: status}) behind the last "act on all N"


# ---------------------------------------------------------------- who is reviewing

login = ui.logged_in_user()
if login:
    reviewer = login
    st.caption(f"Reviewing as **{ui.escape_inline(login)}** (signed in).")
    if not ui.can(project, "curator"):
        st.info("You can read this project's queue; deciding needs the curator role (ask an owner of the project).",
                icon=":material/visibility:")
else:
    def _set_reviewer() -> None:
        old = st.session_state.get(ui.REVIEWER_KEY)
        st.session_state[ui.REVIEWER_KEY] = " ".join(st.session_state["reviewer_input"].split())
        if old and old != st.session_state[ui.REVIEWER_KEY]:  # the old name's queue head is free again
            _guard(review.release_lease, project.name, old)()

    if "reviewer_input" not in st.session_state:
        st.session_state["reviewer_input"] = ui.current_reviewer()
    st.session_state.setdefault(ui.REVIEWER_KEY, st.session_state["reviewer_input"])
    st.sidebar.text_input("Reviewer", key="reviewer_input", on_change=_set_reviewer,
                          help="Your name on every decision you make in this browser session.")
    reviewer = st.session_state[ui.REVIEWER_KEY]
if not reviewer:
    st.warning("Type your name under **Reviewer** in the sidebar: every decision records who made it.")
    st.stop()


def _guard(fn, *args, **kwargs):
    """Run a button's action; a LuminaError is shown on the next run instead of a traceback."""
    def run():
        try:
            message = fn(*args, **kwargs)
            if message:
                ui.flash(message)
        except LuminaError as exc:
            st.session_state[ERR_KEY] = str(exc)
    return run


def _show_error() -> None:
    message = st.session_state.pop(ERR_KEY, None)
    if message:
        st.error(message, icon=":material/error:")


def _count_done(n: int = 1) -> None:
    st.session_state[DONE] = st.session_state.get(DONE, 0) + n


# ---------------------------------------------------------------- actions
# Every action states what this reviewer saw (the status, the text), so a change another
# reviewer made meanwhile is refused with their name instead of silently overwritten.

def _approve(sample_id: int, seen_status: str) -> str:
    review.decide(project.name, [sample_id], "approve", reviewer, expected={sample_id: seen_status})
    _count_done()
    return f"Approved sample {sample_id}."


def _reject(sample_id: int, seen_status: str) -> str:
    reason = st.session_state.get("review_reason") or None
    other = (st.session_state.get("review_reason_text") or "").strip()
    reason = other or reason
    review.decide(project.name, [sample_id], "reject", reviewer, reason=reason, expected={sample_id: seen_status})
    _count_done()
    st.session_state["review_reason_text"] = ""
    st.session_state["review_reason"] = None  # a reason is for one sample, not every later one
    return f"Rejected sample {sample_id}" + (f" ({reason})." if reason else ".")


def _skip(sample_id: int) -> None:
    st.session_state.setdefault(SKIPPED, []).append(sample_id)


def _undo() -> str:
    res = review.undo(project.name, reviewer)
    if res.action in review.DECISIONS:
        _count_done(-1)
    skipped = st.session_state.get(SKIPPED, [])
    for sid in res.sample_ids:  # an undone sample comes back to the queue even if skipped since
        if sid in skipped:
            skipped.remove(sid)
    n = len(res.sample_ids)
    return f"Undid {res.action} of " + (f"sample {res.sample_ids[0]}." if n == 1 else f"{n} samples.")


def _save_edit(sample_id: int, approve: bool) -> str:
    old_i, old_r, status = st.session_state[EDIT_SEEN]
    new_i, new_r = st.session_state["edit_instruction"], st.session_state["edit_response"]
    # Only the fields this reviewer changed are sent: the other may hold someone else's edit.
    ev = review.edit(project.name, sample_id, reviewer, new_i if new_i != old_i else None,
                     new_r if new_r != old_r else None, reason=st.session_state.get("edit_reason") or None,
                     expected=text_hash(old_i, old_r))
    st.session_state[EDITING] = None
    if approve:
        _approve(sample_id, status)
        return f"Saved the edit and approved sample {sample_id}." if ev else f"Approved sample {sample_id} (no change)."
    return f"Saved the edit of sample {sample_id}." if ev else "Nothing changed."


def _start_edit(sample_id: int, instruction: str, response: str, status: str) -> None:
    st.session_state[EDITING] = sample_id
    st.session_state["edit_instruction"] = instruction
    st.session_state["edit_response"] = response
    st.session_state[EDIT_SEEN] = (instruction, response, status)


def _cancel_edit() -> None:
    st.session_state[EDITING] = None


# ---------------------------------------------------------------- views

ui.show_flash()
_show_error()
view = st.segmented_control("View", ["Queue", "Table", "Progress"], default="Queue", key="review_view",
                            label_visibility="collapsed") or "Queue"


def queue_view() -> None:
    st.session_state.setdefault("review_seed", review.random_seed())
    filt = _filters.current_filter("review", status=False, scores=False)
    skipped = st.session_state.get(SKIPPED, [])
    page = review.queue_page(project.name, reviewer, st.session_state.get("review_order", review.ORDERS[0]),
                             filt, exclude=skipped, seed=st.session_state["review_seed"])
    nodes, flag_names, q = page.nodes, page.flags, page.view
    c1, *bar = st.columns([2, 3, 2, 2])
    # The widgets come after the query (one read of the database per view); their values are
    # read from session state above, so a change shows on the run it triggers.
    c1.selectbox("Order", review.ORDERS, key="review_order",
                 help="'lowest judge score' and 'most uncertain' use the LLM judge's grade; "
                      "samples without one come last.")
    _filters.filter_bar("review", nodes, flag_names, status=False, columns=bar)
    done = max(0, st.session_state.get(DONE, 0))
    if q.sample is None:
        st.success("Nothing left to review here." + (f" You skipped {len(skipped)}." if skipped else ""),
                   icon=":material/done_all:")
        b1, b2 = st.columns(2)
        if skipped and b1.button("Show skipped samples again", key="review_unskip"):
            st.session_state[SKIPPED] = []
            st.rerun()
        b2.button("Undo last decision", key="review_undo_empty", shortcut="U", on_click=_guard(_undo))
        return
    s = q.sample
    head, pos = st.columns([3, 1], vertical_alignment="bottom")
    with head:
        _sample_view.meta_line(s, with_id=True)
    pos.markdown(f"**{done + 1:,} / {done + q.remaining:,}**", help="This session's position in the queue: "
                 "decided so far + 1, out of decided + still to review.")
    markdown = st.toggle("Render Markdown", value=True, key="review_markdown", help=_sample_view.MARKDOWN_HELP)

    if st.session_state.get(EDITING) == s.id:
        st.text_area("Instruction", key="edit_instruction", height=150)
        st.text_area("Response", key="edit_response", height=300)
        st.text_input("Why (optional)", key="edit_reason")
        e1, e2, e3 = st.columns(3)
        e1.button("Save and approve", type="primary", key="edit_save_approve", shortcut="Ctrl+Enter",
                  on_click=_guard(_save_edit, s.id, True))
        e2.button("Save", key="edit_save", on_click=_guard(_save_edit, s.id, False))
        e3.button("Cancel", key="edit_cancel", shortcut="Esc", on_click=_cancel_edit)
    else:
        _sample_view.body(s, markdown, context_in_expander=True)

        r1, r2 = st.columns([1, 2])
        r1.selectbox("Reject reason", [None, *review.REJECT_REASONS], key="review_reason",
                     format_func=lambda r: "(none)" if r is None else r)
        r2.text_input("or in your words", key="review_reason_text")
        b = st.columns(5)
        b[0].button("Approve", type="primary", shortcut="A", key="review_approve", width="stretch",
                    on_click=_guard(_approve, s.id, s.status))
        b[1].button("Reject", shortcut="X", key="review_reject", width="stretch",
                    on_click=_guard(_reject, s.id, s.status))
        b[2].button("Edit", shortcut="E", key="review_edit", width="stretch",
                    on_click=_start_edit, args=(s.id, s.instruction, s.response, s.status))
        b[3].button("Skip", shortcut="S", key="review_skip", width="stretch", on_click=_skip, args=(s.id,))
        b[4].button("Undo", shortcut="U", key="review_undo", width="stretch", on_click=_guard(_undo))
        st.caption("Keys: **A** approve · **X** reject · **E** edit · **S** skip · **U** undo your last decision.")

    with st.expander("Scores"):
        _sample_view.scores(s)
    with st.expander("Similar samples in this node"):
        near = page.similar
        if not near:
            st.caption("None share words with this instruction.")
        for o, sim in near:
            st.markdown(f"**{o.id}** · {ui.escape_inline(o.status)} · overlap {sim:.2f}")
            st.text(o.instruction[:300])
    history = page.history
    if history:
        with st.expander(f"History ({len(history)})"):
            for ev in history:
                why = f" — {ev.reason}" if ev.reason else ""
                st.text(f"{ev.created_at:%Y-%m-%d %H:%M:%S} {ev.reviewer}: {ev.action}{why}")


PAGE_SIZE = 50


def table_view() -> None:
    choices = ui_queries.filter_choices(project.name)
    filt = _filters.filter_bar("rt", choices.nodes, choices.flags, choices.metrics)
    rows, total = ui_queries.filtered_page(project.name, filt, limit=PAGE_SIZE,
                                           offset=(st.session_state.get("rt_page", 1) - 1) * PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    if st.session_state.get("rt_page", 1) > pages:
        st.session_state["rt_page"] = 1
        st.rerun()
    if not total:
        st.info("No sample matches these filters.", icon=":material/filter_alt_off:")
        return
    p1, p2 = st.columns([1, 4], vertical_alignment="bottom")
    p1.number_input(f"Page (of {pages})", min_value=1, max_value=pages, step=1, key="rt_page")
    p2.caption(f"{total:,} matching. Tick rows to act on them, or act on all {total:,}. "
               "Edit the instruction or response in the table, then save the edits.")
    table = [{"select": False, "id": s.id, "status": s.status, "node": s.node_path or "",
              "instruction": s.instruction, "response": s.response, "flags": ", ".join(s.flags)} for s in rows]
    edited = st.data_editor(
        # Keyed by the rows shown: ticks and edits belong to these samples, never to the next page's
        table, key=f"rt_editor_{project.name}_{hash(tuple(s.id for s in rows))}_{st.session_state.get('rt_round', 0)}",
        hide_index=True, width="stretch", disabled=["id", "status", "node", "flags"],
        column_config={
            "select": st.column_config.CheckboxColumn("✓", width="small"),
            "id": st.column_config.NumberColumn("ID", format="%d", width="small"),
            "instruction": st.column_config.TextColumn("Instruction", width="large"),
            "response": st.column_config.TextColumn("Response", width="large"),
        })
    # What the previous run showed is what a click of this run refers to (a fresh read would
    # hide what someone else decided or edited meanwhile).
    seen = st.session_state.get(TABLE_SEEN, {})
    st.session_state[TABLE_SEEN] = {s.id: (s.status, text_hash(s.instruction, s.response)) for s in rows}
    chosen = [r["id"] for r in edited if r["select"]]
    changed = [(r, o) for r, o in zip(edited, rows) if r["instruction"] != o.instruction or r["response"] != o.response]
    reason = st.text_input("Reject reason (optional)", key="rt_reason")
    b = st.columns(5)
    chosen_seen = {s.id: seen.get(s.id, (s.status,))[0] for s in rows if s.id in chosen}
    if b[0].button(f"Approve selected ({len(chosen)})", disabled=not chosen, key="rt_approve_sel"):
        _bulk(chosen_seen, "approve", None)
    if b[1].button(f"Reject selected ({len(chosen)})", disabled=not chosen, key="rt_reject_sel"):
        _bulk(chosen_seen, "reject", reason)
    confirm = b[4].checkbox(f"Act on all {total:,}", key="rt_confirm_all",
                            help="Tick to enable the two buttons that act on every matching sample.")
    shown_all = st.session_state.pop(ALL_SEEN, None)
    if confirm:  # the samples behind "all N" as this run shows them; a click acts on these only
        st.session_state[ALL_SEEN] = (repr(filt), review.filtered_statuses(project.name, filt))
    acting_on = shown_all[1] if shown_all and shown_all[0] == repr(filt) else {}
    if b[2].button(f"Approve all {total:,}", disabled=not confirm, key="rt_approve_all"):
        _bulk(acting_on, "approve", None)
    if b[3].button(f"Reject all {total:,}", disabled=not confirm, key="rt_reject_all"):
        _bulk(acting_on, "reject", reason)
    e1, e2 = st.columns([1, 3])
    if e1.button(f"Save edits ({len(changed)})", disabled=not changed, key="rt_save_edits"):
        saved, refused = 0, []
        for r, o in changed:
            try:
                ev = review.edit(project.name, o.id, reviewer,
                                 r["instruction"] if r["instruction"] != o.instruction else None,
                                 r["response"] if r["response"] != o.response else None,
                                 expected=seen.get(o.id, (None, text_hash(o.instruction, o.response)))[1])
                saved += ev is not None
            except LuminaError as exc:
                refused.append(str(exc))
        st.session_state["rt_round"] = st.session_state.get("rt_round", 0) + 1
        if refused:
            st.session_state[ERR_KEY] = f"Saved {saved} edits; {len(refused)} not saved. " + " ".join(refused[:3])
        else:
            ui.flash(f"Saved {saved} edits.")
        st.rerun()
    e2.button("Undo last decision", key="rt_undo", on_click=_guard(_undo))


def _bulk(expected: dict[int, str], action: str, reason) -> None:
    """Decide on the samples shown, each only if its status is still the one shown."""
    st.session_state["rt_round"] = st.session_state.get("rt_round", 0) + 1  # a fresh table: no ticks left
    with ui.show_errors():
        if not expected:
            raise LuminaError("Nothing to act on: tick the samples again.")
        res = review.decide(project.name, list(expected), action, reviewer, reason=reason or None,
                            expected=expected, skip_changed=True)
        skipped = (f" Skipped {res.skipped:,} that someone else decided since you looked." if res.skipped else "")
        ui.flash(f"{'Approved' if action == 'approve' else 'Rejected'} {res.decided:,} samples "
                 f"({res.changed:,} changed status). One undo reverses all of them." + skipped)
        st.rerun()


def progress_view() -> None:
    p = review.progress(project.name)
    mine = review.progress(project.name, reviewer)
    c = st.columns(5)
    c[0].metric("Pending review", f"{p.pending:,}")
    c[1].metric("Approved", f"{p.approved:,}")
    c[2].metric("Rejected", f"{p.rejected:,}")
    c[3].metric("Decisions in the last hour", p.last_hour, help="All reviewers; a bulk action counts once.")
    c[4].metric("Your rate", f"{mine.per_hour:.0f}/h" if mine.per_hour else "–",
                help="Your decisions per hour over the last 8 hours.")
    st.subheader("Per node")
    st.dataframe(p.by_node, hide_index=True, width="stretch")
    if p.reviewers:
        st.subheader("Reviewers (last 8 hours)")
        st.dataframe([{"reviewer": r["reviewer"], "decisions": r["decisions"],
                       "per hour": round(r["per_hour"]) if r["per_hour"] else None} for r in p.reviewers],
                     hide_index=True)
    st.subheader("Agreement")
    frac = review.double_review_fraction(project.name)
    key = f"review_double_{project.name}"

    def _save_double() -> None:  # only a move of the slider writes; a rerun never does
        review.set_double_review(project.name, st.session_state[key])

    st.slider("Share of samples reviewed twice", 0.0, 0.5, value=frac, step=0.05, key=key, on_change=_save_double,
              help="These samples stay in other reviewers' queues until two people have decided.")
    a = review.agreement(project.name)
    if a.samples:
        k = f"{a.kappa:.2f}" if a.kappa is not None else "undefined"
        st.markdown(f"{a.samples} samples with two verdicts, {a.agreed} agree; Cohen's kappa **{k}**. "
                    + ui.escape_inline(a.note))
        if a.disagreements:
            st.dataframe(a.disagreements, hide_index=True)
    else:
        st.caption(a.note)


{"Queue": queue_view, "Table": table_view, "Progress": progress_view}[view]()
