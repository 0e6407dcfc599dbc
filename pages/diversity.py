"""Diversity map: every sample embedded and placed in 2-D (UMAP), coloured by node, cluster,
status, flag or any score; select a region (box or lasso) to read it and act on it in bulk."""

import html

import plotly.graph_objects as go
import streamlit as st

from lumina import jobs, review
from lumina.diversity import map_job as mapping
from lumina.web import queries as ui_queries
from lumina.records import SampleFilter
from lumina.web.safe_markdown import escape_inline, inline_code
from pages import _common as ui

ui.ensure_frame()

project = ui.require_project()
st.title("Diversity map")
ui.show_flash()

rows = [r for r in ui_queries.node_table(project.name) if r["leaf"] and r["path"] != ui_queries.OUTSIDE_TAXONOMY]
if rows:
    covered = sum(1 for r in rows if r["generated"])
    st.metric("Taxonomy leaves with at least one sample", f"{covered} of {len(rows)}")
    st.progress(covered / len(rows))
    empty = [r["path"] for r in rows if not r["generated"]]
    if empty:
        with st.expander(f"Leaves without samples ({len(empty)})"):
            st.text("\n".join(empty[:200]))

state = mapping.map_state(project.name)
c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="bottom")
meta = state["meta"]
c1.markdown(f"**{state['placed']:,} of {state['total']:,}** samples on the map"
            + (f" · fitted {escape_inline(meta.get('fitted_at', ''))} on {meta.get('n_fit', 0):,} with "
               f"{inline_code(meta.get('embedder', ''))}" if meta else ""))
if c2.button("Update map", type="primary", key="dv_update", disabled=not state["total"],
             help="Embed new samples and place them with the fitted projection (fast)."):
    with ui.show_errors():
        job = mapping.start_map(project.name, mapping.MapParams())
        ui.flash(f"Map job {job.id} started.")
        st.rerun()
if c3.button("Refit", key="dv_refit", disabled=not state["total"], help="Rebuild the projection from all samples."):
    with ui.show_errors():
        job = mapping.start_map(project.name, mapping.MapParams(refit=True))
        ui.flash(f"Map job {job.id} (refit) started.")
        st.rerun()
map_jobs = [j for j in jobs.list_jobs(project.id, limit=20) if j.kind == "map"]
if any(j.status in ui.ACTIVE for j in map_jobs):
    ui.live_jobs(lambda: [jobs.get(map_jobs[0].id)])

if not state["placed"]:
    st.info("No map yet: **Update map** embeds the samples (all-MiniLM-L6-v2) and projects them with UMAP.",
            icon=":material/info:")
    st.stop()

metrics = ui_queries.metric_names(project.name)
COLOURS = ["taxonomy node", "cluster", "status", "flags", *metrics]
colour = st.selectbox("Colour by", COLOURS, key="dv_colour")
data = mapping.map_data(project.name, colour if colour in metrics else None).to_pydict()
clusters = meta.get("clusters") or {}
hover = [f"{i} · {html.escape(t[:100])}" for i, t in zip(data["id"], data["instruction"])]
fig = go.Figure()
if colour in metrics:
    bar = dict(title=html.escape(colour))  # plotly titles, like hover text, read a little HTML
    fig.add_trace(go.Scattergl(x=data["x"], y=data["y"], mode="markers", customdata=data["id"], text=hover,
                               hoverinfo="text", marker=dict(size=5, color=data["value"], colorscale="Viridis",
                                                              showscale=True, colorbar=bar)))
else:
    key = {"taxonomy node": "node", "cluster": "cluster", "status": "status", "flags": "flags"}[colour]
    groups: dict = {}
    for k, v in enumerate(data[key]):
        name = (clusters.get(str(v), f"cluster {v}") if key == "cluster" else (v or "(none)"))
        groups.setdefault(name, []).append(k)
    ranked = sorted(groups.items(), key=lambda kv: -len(kv[1]))
    if len(ranked) > 40:  # a legend of hundreds helps nobody; every point stays on the map
        ranked = ranked[:39] + [(f"other ({len(ranked) - 39} groups)", [k for _, idx in ranked[39:] for k in idx])]
    for name, idx in ranked:
        fig.add_trace(go.Scattergl(x=[data["x"][k] for k in idx], y=[data["y"][k] for k in idx], mode="markers",
                                   name=html.escape(str(name))[:60], customdata=[data["id"][k] for k in idx],
                                   text=[hover[k] for k in idx], hoverinfo="text", marker=dict(size=5)))
fig.update_layout(height=560, margin=dict(l=10, r=10, t=10, b=10), dragmode="lasso",
                  xaxis=dict(visible=False), yaxis=dict(visible=False), legend=dict(itemsizing="constant"))
event = st.plotly_chart(fig, key="dv_map", on_select="rerun", selection_mode=("box", "lasso"))

points = (event.selection.points if event and event.selection else []) or []
selected = sorted({int(p["customdata"]) for p in points if p.get("customdata") is not None})
if selected:
    st.subheader(f"Selected: {len(selected):,} samples")
    reviewer = ui.current_reviewer()
    b1, b2, b3, b4 = st.columns([1, 1, 2, 1], vertical_alignment="bottom")
    if b1.button("Approve all", key="dv_approve"):
        with ui.show_errors():
            r = review.decide(project.name, selected, "approve", reviewer)
            ui.flash(f"Approved {r.decided:,} samples (one undo reverses it).")
            st.rerun()
    if b2.button("Reject all", key="dv_reject"):
        with ui.show_errors():
            r = review.decide(project.name, selected, "reject", reviewer, reason="map selection")
            ui.flash(f"Rejected {r.decided:,} samples (one undo reverses it).")
            st.rerun()
    name = b3.text_input("Flag name", value="check", key="dv_flag_name")
    if b4.button("Flag all", key="dv_flag"):
        with ui.show_errors():
            n = review.flag(project.name, selected, name, reviewer)
            ui.flash(f"Flagged {n:,} samples '{escape_inline(name)}'.")
            st.rerun()
    shown = ui_queries.filtered_page(project.name, SampleFilter(ids=selected[:200]), limit=200)[0]
    st.dataframe([{"id": s.id, "status": s.status, "node": s.node_path, "instruction": s.instruction[:200],
                   "flags": ", ".join(s.flags)} for s in shown], hide_index=True, width="stretch")
else:
    st.caption("Drag a box or lasso on the map to select samples.")

history = state["history"]
if history:
    latest = next((h for h in reversed(history) if h.get("version") is None), history[-1])
    st.subheader("Diversity")
    m = st.columns(4)
    m[0].metric("Vendi score", f"{latest['vendi']:.1f}", help="The effective number of distinct samples "
                "(exp of the entropy of the similarity spectrum).")
    m[1].metric("Mean cosine distance", f"{latest['mean_cosine_distance']:.3f}")
    m[2].metric("Distinct-2", f"{latest['distinct_2']:.3f}", help="Share of distinct word bigrams.")
    cov = latest.get("coverage") or {}
    if cov.get("leaf_coverage") is not None and rows:
        m[3].metric("Leaves covered", f"{cov['leaf_coverage']:.0%}")
    shares = latest.get("cluster_shares") or {}
    if shares:
        st.dataframe([{"cluster": clusters.get(k, f"cluster {k}"), "share": v} for k, v in
                      sorted(shares.items(), key=lambda kv: -kv[1])], hide_index=True,
                     column_config={"share": st.column_config.ProgressColumn(format="percent", min_value=0.0,
                                                                             max_value=1.0)})
    per_version = [h for h in history if h.get("version")]
    if per_version:
        st.markdown("**Per dataset version** (latest figures of each)")
        last = {}
        for h in per_version:
            last[h["version"]] = h
        st.dataframe([{"version": v, "samples": h["samples"], "vendi": h["vendi"],
                       "mean cosine distance": h["mean_cosine_distance"], "distinct-2": h["distinct_2"]}
                      for v, h in last.items()], hide_index=True)
