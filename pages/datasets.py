"""Datasets: freeze approved samples into immutable versions (optionally mixed with a general
set), compare versions, export them with a dataset card."""

import streamlit as st

from lumina import datasets
from lumina.datasets.versions import split_preview
from lumina.web import queries as ui_queries
from pages import _common as ui
from pages._imports import upload_limit_mb

ui.ensure_frame()

project = ui.require_project()
st.title("Datasets")
ui.show_flash()

approved = ui_queries.status_counts(project.name).get("approved", 0)
versions = datasets.list_versions(project.name)

st.subheader("Freeze a version")
st.caption(f"Approved samples a version would hold today: **{approved:,}**. A version copies their current "
           "(edited) text, so later reviews never change it.")
# The share and the mix follow each change (the split preview, the ratio waiting for a file); the
# form holds the rest.
with st.container(border=True):
    eval_fraction = st.slider("Eval share", 0.0, 0.5, 0.1, 0.05, key="ds_eval_share",
                              help="Held out for evaluation, stratified by taxonomy node.")
    if approved:
        preview = split_preview(approved, eval_fraction)
        st.caption(f"This version would hold **{preview.summary()}**.")
        if preview.warning:
            st.warning(preview.warning, icon=":material/warning:")
    st.markdown("**Mix in a general dataset** (optional): LuminaSFT found synthetic data helped most mixed "
                "with a general SFT set such as Tulu or UltraChat.")
    m1, m2 = st.columns([3, 1])
    mix_path = m1.text_input("Path on this machine (JSONL, Parquet or a `datasets` folder)", key="mix_path")
    upload = st.file_uploader("…or upload one", type=["jsonl", "json", "parquet", "csv"], key="mix_upload",
                              max_upload_size=upload_limit_mb())
    has_mix = bool(mix_path.strip()) or upload is not None
    ratio = m2.slider("Its share of train", 0.05, 0.95, 0.5, 0.05, key="mix_ratio", disabled=not has_mix,
                      help="The general rows' share of the train split." if has_mix
                      else "Give a path or upload a file to mix in first.")
    with st.form("freeze_form", border=False):
        c1, c2 = st.columns([3, 1])
        name = c1.text_input("Version name", value=f"v{len(versions) + 1}",
                             help="Letters, digits, '.', '_' or '-'. A name can't be reused.")
        seed = c2.number_input("Seed", value=0, step=1)
        go = st.form_submit_button("Freeze", type="primary", disabled=approved == 0)
if go:
    with ui.show_errors():
        source = None
        if upload is not None:
            source = str(datasets.save_general_upload(upload.name, upload.getvalue()))
        elif mix_path.strip():
            source = mix_path.strip()
        with st.spinner("Freezing…"):
            v = datasets.freeze(project.name, name, eval_fraction, int(seed),
                                datasets.MixSource(source, ratio) if source else None,
                                created_by=ui.current_reviewer())
        mixed = v.lineage.get("mix")
        ui.flash(f"Froze {ui.escape_inline(v.name)}: {v.counts.get('train', 0):,} train, {v.counts.get('eval', 0):,} eval"
                 + (f", {mixed['rows_used']:,} general rows mixed in." if mixed else "."))
        st.rerun()

if not versions:
    st.info("No versions yet. Approve samples on the **Review** page, then freeze one above.",
            icon=":material/info:")
    st.stop()

st.subheader("Versions")
st.dataframe([{
    "name": v.name, "frozen": v.created_at.strftime("%Y-%m-%d %H:%M"), "train": v.counts.get("train", 0),
    "eval": v.counts.get("eval", 0), "general rows": (v.lineage.get("mix") or {}).get("rows_used", 0),
    "hash": v.content_hash[:12], "same content as": ", ".join(v.lineage.get("same_content_as", [])),
} for v in reversed(versions)], hide_index=True, width="stretch")

names = [v.name for v in reversed(versions)]
chosen = st.selectbox("Version", names, key="ds_version")
facts = datasets.card_facts(project.name, chosen)
tab_card, tab_export, tab_diff = st.tabs(["Card", "Export", "Compare"])
with tab_card:
    st.dataframe(facts["coverage"], hide_index=True, width="stretch",
                 column_config={"share": st.column_config.ProgressColumn("share", format="%.2f",
                                                                         min_value=0.0, max_value=1.0)})
    with st.expander("Dataset card (README.md)"):
        ui.safe_text(datasets.card(project.name, chosen), markdown=True)
with tab_export:
    fmt = st.selectbox("Format", datasets.EXPORT_FORMATS, key="ds_format",
                       format_func={"jsonl": "JSONL (messages)", "parquet": "Parquet (messages)",
                                    "hf": "Hugging Face datasets (save_to_disk)",
                                    "llamafactory": "LLaMA-Factory (ShareGPT + dataset_info.json)"}.get)
    if st.button("Export", key="ds_export"):
        with ui.show_errors():
            # The folder is Lumina's own (under the data folder): a new export replaces the last one.
            out = datasets.export_version(project.name, chosen, fmt, datasets.export_folder(project.name, chosen, fmt),
                                          force=True)
            st.session_state["ds_exported"] = str(out)
    done = st.session_state.get("ds_exported")
    if done and done == str(datasets.export_folder(project.name, chosen, fmt)):
        from pathlib import Path

        st.success(f"Written to {ui.inline_code(done)} (with README.md, the dataset card).", icon=":material/check_circle:")
        st.download_button("Download as .zip", datasets.zip_folder(Path(done)), file_name=f"{Path(done).name}.zip",
                           mime="application/zip", key="ds_download")
    st.caption("From a terminal: " + ui.inline_code(f"lumina dataset export {project.name} {chosen} --format {fmt} --out FOLDER"))
with tab_diff:
    if len(names) < 2:
        st.caption("Freeze a second version to compare.")
    else:
        other = st.selectbox("Compare with", [n for n in names if n != chosen], key="ds_other")
        d = datasets.diff(project.name, other, chosen)
        c = st.columns(4)
        c[0].metric("Added", len(d.added))
        c[1].metric("Removed", len(d.removed))
        c[2].metric("Edited", len(d.edited))
        c[3].metric("General rows", d.mix["b"], delta=d.mix["b"] - d.mix["a"])
        st.caption(f"From {ui.escape_inline(other)} to {ui.escape_inline(chosen)}; {d.unchanged} samples unchanged.")
        st.dataframe([c for c in d.coverage], hide_index=True, width="stretch")
