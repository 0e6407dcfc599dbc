"""Taxonomy (read-only for now): the tree with how many samples each node has."""

import html

import streamlit as st

from lumina import ui_queries
from lumina.projects import taxonomy_of
from pages import _common as ui

ui.ensure_frame()

project = ui.require_project()
st.title("Taxonomy")
tree = taxonomy_of(project)
if tree is None:
    st.info("This project has no taxonomy (its samples were imported, or it was created "
            "without one). Editing a taxonomy here is not built yet.", icon=":material/info:")
    st.stop()

about = f" — {html.escape(tree.description)}" if tree.description else ""
st.caption(f"**{html.escape(tree.name)}**{about} · read-only for now; a node's counts include "
           "everything below it.")
m1, m2, m3 = st.columns(3)
m1.metric("Leaves", len(tree.leaves()))
m2.metric("Task types × difficulty", f"{len(tree.task_types)} × {len(tree.difficulty)}")
m3.metric("Personas", len(tree.personas) or "—")

rows = ui_queries.node_table(project.name)
st.dataframe(
    [{"node": "\u2003" * r["depth"] + ("• " if r["leaf"] else "▸ ") + r["name"],
      "generated": r["generated"], "approved": r["approved"], "weight": r["weight"],
      "description": r["description"] or "", "path": r["path"]} for r in rows],
    hide_index=True, column_order=["node", "generated", "approved", "weight", "description"],
    height=min(38 + 35 * len(rows), 600),
    column_config={
        "node": st.column_config.TextColumn("Node", width="medium"),
        "generated": st.column_config.ProgressColumn(
            "Generated", format="%d", min_value=0,
            max_value=max([r["generated"] for r in rows] + [1])),
        "approved": st.column_config.NumberColumn("Approved", format="%d"),
        "weight": st.column_config.NumberColumn("Weight", format="%g"),
        "description": st.column_config.TextColumn("Description", width="large"),
    },
)

left, right = st.columns(2)
left.markdown("**Task types:** " + ", ".join(map(html.escape, tree.task_types)))
left.markdown("**Difficulty:** " + ", ".join(map(html.escape, tree.difficulty)))
if tree.personas:
    right.markdown("**Personas:** " + ", ".join(map(html.escape, tree.personas)))
yaml_text = tree.to_yaml()
with st.expander("YAML"):
    st.code(yaml_text, language="yaml")
st.download_button("Download YAML", yaml_text, file_name=f"{project.name}-taxonomy.yaml",
                   mime="application/x-yaml", icon=":material/download:")
