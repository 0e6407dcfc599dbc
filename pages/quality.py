"""Quality: run scorers, see each score's distribution with a threshold, and preview then apply
an automatic reject policy (recorded as review events, undoable)."""

import html

import plotly.graph_objects as go
import streamlit as st

from lumina import jobs, review
from lumina.quality import policy, score_job as scoring, scorers
from lumina.web import queries as ui_queries
from lumina.records import SampleFilter
from lumina.web.safe_markdown import escape_inline, inline_code
from pages import _common as ui

ui.ensure_frame()

project = ui.require_project()
st.title("Quality")
ui.show_flash()

counts = ui_queries.status_counts(project.name)
total = sum(counts.values())
if not total:
    st.info("No samples yet. Generate or import some first.", icon=":material/info:")
    st.stop()

st.subheader("Scorers")
listed = scorers.listed()
cols = st.columns(len(listed))
for col, scorer in zip(cols, listed):
    name = scorer.name
    help_text = scorer.help.replace("{teacher}", inline_code(project.teacher)).replace(
        "{student}", inline_code(project.student))
    with col:
        label = name
        if scorer.scope == "sample":
            with ui.show_errors():
                n = scoring.pending(project.name, name)
                label = f"{name} ({n:,} to score)" if n else f"{name} (up to date)"
        if st.button(label, key=f"q_run_{name}", help=help_text or None, width="stretch"):
            with ui.show_errors():
                job = scoring.start_scoring(project.name, scoring.ScoreParams(name))
                ui.flash(f"Started {name} as job {job.id}.")
                st.rerun()

score_jobs = [j for j in jobs.list_jobs(project.id, limit=20) if j.kind == "score"]
if any(j.status in ui.ACTIVE for j in score_jobs):
    ui.live_jobs(lambda: [jobs.get(j.id) for j in score_jobs[:3]])

st.subheader("Heuristic flags and other flags")
flags = ui_queries.flag_counts(project.name)
if flags:
    st.dataframe([{"flag": f, "samples": n, "share": n / total} for f, n in flags.items()], hide_index=True,
                 column_config={"share": st.column_config.ProgressColumn("Share of samples", format="percent",
                                                                         min_value=0.0, max_value=1.0)})
else:
    st.caption(f"No flags on the {total} samples of {escape_inline(project.name)}.")

values = ui_queries.metric_values(project.name)
if values:
    st.subheader("Distributions")
    metric = st.selectbox("Score", list(values), key="q_metric",
                          index=list(values).index("judge.overall") if "judge.overall" in values else 0)
    v = values[metric]
    lo, hi = float(min(v)), float(max(v))
    if hi > lo:
        keep = st.slider("Keep samples with a score of at least", lo, hi, lo, key=f"q_thr_{metric}")
        passing = sum(x >= keep for x in v)
        st.markdown(f"**{passing:,} of {len(v):,}** scored samples pass "
                    f"({len(v) - passing:,} below); {total - len(v):,} have no {escape_inline(metric)} score.")
    else:
        keep = lo
        st.caption(f"Every scored sample has {escape_inline(metric)} = {lo:g}.")
    fig = go.Figure(go.Histogram(x=v, nbinsx=40))
    fig.add_vline(x=keep, line_dash="dash", line_color="red")
    fig.update_layout(height=260, margin=dict(l=10, r=10, t=10, b=10), xaxis_title=html.escape(metric),
                      yaxis_title="samples")  # plotly titles read a little HTML
    st.plotly_chart(fig, key=f"q_hist_{metric}")

with st.expander("Judge rubric (the prompt the judge grades with; per project, versioned)"):
    from lumina import prompts

    with ui.show_errors():
        ui.template_editor(project.name, prompts.for_project(project.id, "judge", "rubric"))
        st.caption("Changing the rubric changes the judge's scorer version, so the next judge run re-grades "
                   "every sample.")

st.subheader("Automatic policy")
st.caption("Rules joined by **or**: a score comparison (`judge.overall < 3`, `ifd.ifd > 1`) or a flag name. "
           "It rejects matching **pending** samples only, as review events you can undo.")
rule = st.text_input("Reject if", value="judge.overall < 3 or duplicate or contaminated", key="q_policy")
reviewer = ui.current_reviewer()
with ui.show_errors():
    pv = policy.preview(project.name, rule)
    st.markdown(f"**{len(pv.ids):,}** pending samples match: "
                + ", ".join(f"{inline_code(k)} {n:,}" for k, n in pv.per_rule.items()))
    if pv.ids:
        shown = ui_queries.filtered_page(project.name, SampleFilter(ids=pv.ids[:20]), limit=20)[0]
        with st.expander(f"First {len(shown)} of them"):
            for s in shown:
                st.markdown(f"**{s.id}** · " + " ".join(f":orange-badge[{escape_inline(f)}]" for f in s.flags))
                st.text(s.instruction[:300])
    st.caption(f"Decisions are recorded as **{escape_inline(reviewer)}**.")
    a, b = st.columns([1, 3])
    if a.button(f"Apply: reject {len(pv.ids):,}", type="primary", key="q_apply", disabled=not pv.ids):
        res = policy.apply(project.name, rule, reviewer)
        ui.flash(f"Rejected {res.decided:,} samples by policy {inline_code(pv.text)} as {escape_inline(reviewer)}. "
                 "Undo reverses all of them.")
        st.rerun()
    if b.button("Undo my last decision", key="q_undo"):
        res = review.undo(project.name, reviewer)
        ui.flash(f"Undid {escape_inline(res.action)} of {len(res.sample_ids):,} samples.")
        st.rerun()
