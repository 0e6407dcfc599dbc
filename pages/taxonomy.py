"""Taxonomy designer: the tree with its sample counts, node edits, imports and teacher expansion."""

import json

import streamlit as st

from lumina import jobs
from lumina.taxonomy import edit as taxonomy_edit, expand as taxonomy_expand
from lumina.web import queries as ui_queries
from lumina.web.safe_markdown import escape_inline
from lumina.io.textfiles import decode
from lumina.taxonomy.tree import SEP
from pages import _common as ui
from pages._imports import upload_limit_mb

ui.ensure_frame()

TOP = "(top level)"
SUGGEST_KEY = "tax_suggestion"  # (project, path, Suggestion dict | None, job id | None)
EXPAND_KEY = "tax_expand_job"
NEXT_NODE = "tax_node_next"

project = ui.require_project()
st.title("Taxonomy")
tree = taxonomy_edit.load(project.name)
rows = ui_queries.node_table(project.name) if tree.nodes else []
paths = [r["path"] for r in rows if r["path"] != ui_queries.OUTSIDE_TAXONOMY]

if tree.nodes:
    about = f" — {escape_inline(tree.description)}" if tree.description else ""
    st.caption(f"**{escape_inline(tree.name)}**{about} · a node's counts include everything below it.")
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Nodes", len(paths))
    m2.metric("Leaves", len(tree.leaves()))
    m3.metric("Task types × difficulty", f"{len(tree.task_types)} × {len(tree.difficulty)}")
    m4.metric("Personas", len(tree.personas) or "—")
    st.dataframe(
        [{"node": "\u2003" * r["depth"] + ("• " if r["leaf"] else "▸ ") + r["name"],
          "generated": r["generated"], "approved": r["approved"], "weight": r["weight"],
          "description": r["description"] or "", "path": r["path"]} for r in rows],
        hide_index=True, column_order=["node", "generated", "approved", "weight", "description"],
        height=min(38 + 35 * len(rows), 520), key="tax_table",
        column_config={
            "node": st.column_config.TextColumn("Node", width="medium"),
            "generated": st.column_config.ProgressColumn(
                "Generated", format="%d", min_value=0, max_value=max([r["generated"] for r in rows] + [1])),
            "approved": st.column_config.NumberColumn("Approved", format="%d"),
            "weight": st.column_config.NumberColumn("Weight", format="%g"),
            "description": st.column_config.TextColumn("Description", width="large"),
        },
    )
    if any(r["leaf"] and r["generated"] == 0 for r in rows):
        empty = [r["path"] for r in rows if r["leaf"] and r["generated"] == 0]
        st.caption(f":orange[{len(empty)} leaves have no samples yet]: " + ", ".join(map(escape_inline, empty[:8]))
                   + (" …" if len(empty) > 8 else ""))
else:
    st.info("This project has no taxonomy yet. Add a first subject below, paste an outline (a markdown "
            "list or a table of contents), import a YAML file, or let the teacher propose subjects.",
            icon=":material/info:")

# ---------------------------------------------------------------- one node
st.subheader("Edit")
# A node picked by an action (a rename, a move) is applied before the widget exists.
if NEXT_NODE in st.session_state:
    st.session_state["tax_node"] = st.session_state.pop(NEXT_NODE)
if st.session_state.get("tax_node") not in (TOP, *paths):
    st.session_state["tax_node"] = TOP
selected = st.selectbox("Node", [TOP, *paths], key="tax_node",
                        help="Pick a node to edit it, add children under it or ask the teacher for sub-topics.")
path = None if selected == TOP else selected
left, right = st.columns(2)

with left:
    if path:
        node = next(r for r in rows if r["path"] == path)
        with st.form("tax_node_form"):
            new_name = st.text_input("Name", node["name"], key=f"tax_name::{project.name}::{path}")
            desc = st.text_area("Description", node["description"] or "", key=f"tax_desc::{project.name}::{path}", height=80,
                                help="What the node covers; the teacher sees it when writing instructions.")
            weight = st.number_input("Weight", min_value=0.0, value=float(1.0 if node["weight"] is None else node["weight"]), step=0.5,
                                     key=f"tax_weight::{project.name}::{path}", help="Relative share of samples (a leaf's weight times "
                                                            "its ancestors').")
            if st.form_submit_button("Save node", icon=":material/save:"):
                with ui.show_errors():
                    new_path = path
                    if new_name.strip() != node["name"]:
                        new_path = taxonomy_edit.rename_node(project.name, path, new_name)
                    taxonomy_edit.update_node(project.name, new_path, description=desc, weight=weight)
                    st.session_state[NEXT_NODE] = new_path
                    ui.flash(f"Saved **{escape_inline(new_path)}**.")
                    st.rerun()
        parents = [TOP] + [p for p in paths if p != path and not p.startswith(path + SEP)]
        current_parent = path.rpartition(SEP)[0] or TOP
        m_col, d_col = st.columns(2)
        target = m_col.selectbox("Move under", parents, index=parents.index(current_parent), key=f"tax_move_to::{project.name}::{path}")
        if m_col.button("Move", key="tax_move", disabled=target == current_parent):
            with ui.show_errors():
                moved = taxonomy_edit.move_node(project.name, path, None if target == TOP else target)
                st.session_state[NEXT_NODE] = moved
                ui.flash(f"Moved to **{escape_inline(moved)}**.")
                st.rerun()
        sure = d_col.checkbox("Delete this node and everything below it", key=f"tax_delete_sure::{project.name}::{path}")
        if d_col.button("Delete", key="tax_delete", type="secondary", disabled=not sure, icon=":material/delete:"):
            with ui.show_errors():
                gone = taxonomy_edit.delete_node(project.name, path)
                st.session_state[NEXT_NODE] = TOP
                ui.flash(f"Deleted {gone} node(s); their samples stay, outside the taxonomy.")
                st.rerun()

with right:
    where = f"under **{escape_inline(path)}**" if path else "at the top level"
    with st.form("tax_add_form", clear_on_submit=True):
        st.markdown(f"Add a node {where}")
        add_name = st.text_input("New node name", key="tax_add_name")
        add_desc = st.text_input("Description (optional)", key="tax_add_desc")
        if st.form_submit_button("Add", icon=":material/add:"):
            with ui.show_errors():
                added = taxonomy_edit.add_node(project.name, path, add_name, add_desc)
                ui.flash(f"Added **{escape_inline(added)}**.")
                st.rerun()

    st.markdown(f"**Ask the teacher** for sub-topics {where}")
    s1, s2 = st.columns([1, 2], vertical_alignment="bottom")
    how_many = s1.number_input("How many", 1, taxonomy_expand.MAX_CHILDREN, 5, key="tax_suggest_n")
    if s2.button("Propose sub-topics", key="tax_suggest", icon=":material/auto_awesome:"):
        with ui.show_errors():
            # A new seed each time: asking again gives new proposals, not the cached ones.
            st.session_state["tax_suggest_seed"] = st.session_state.get("tax_suggest_seed", 0) + 1
            out = taxonomy_expand.suggest(project.name, path or "", int(how_many),
                                          seed=st.session_state["tax_suggest_seed"])
            st.session_state[SUGGEST_KEY] = (
                (project.name, path or "", out.to_dict(), None) if isinstance(out, taxonomy_expand.Suggestion)
                else (project.name, path or "", None, out.id))


def proposals_review(for_path: str, suggestion: taxonomy_expand.Suggestion) -> None:
    """Accept, edit or reject each proposal; only checked rows are added."""
    label = escape_inline(for_path) if for_path else "the top level"
    if suggestion.error and not suggestion.proposals:
        st.warning(f"The teacher's proposals for {label} were unusable: {escape_inline(suggestion.error)}",
                   icon=":material/warning:")
        if suggestion.raw:
            with st.expander("Raw teacher text"):
                st.code(suggestion.raw, language=None, wrap_lines=True)
    else:
        st.markdown(f"**Proposed sub-topics for {label}** — untick to reject, edit freely, then add.")
        token = abs(hash(json.dumps(suggestion.to_dict(), sort_keys=True)))  # fresh widgets per suggestion
        chosen = []
        for i, p in enumerate(suggestion.proposals):
            c_add, c_name, c_desc = st.columns([1, 3, 6], vertical_alignment="center")
            keep = c_add.checkbox("Add", True, key=f"tax_prop_add_{i}_{token}")
            name = c_name.text_input("Name", p.name, key=f"tax_prop_name_{i}_{token}", label_visibility="collapsed")
            desc = c_desc.text_input("Description", p.description or "", key=f"tax_prop_desc_{i}_{token}",
                                     label_visibility="collapsed")
            if keep and name.strip():
                chosen.append(taxonomy_expand.Proposal(name.strip(), desc.strip() or None))
        if st.button(f"Add {len(chosen)} checked sub-topic(s)", key="tax_accept", type="primary",
                     icon=":material/playlist_add:", disabled=not chosen):
            with ui.show_errors():
                n_added = taxonomy_expand.accept(project.name, for_path, chosen)
                st.session_state.pop(SUGGEST_KEY, None)
                ui.flash(f"Added {n_added} sub-topic(s) under {label}.")
                st.rerun()


pending = st.session_state.get(SUGGEST_KEY)
if pending and pending[0] == project.name:
    _, for_path, found, job_id = pending
    with st.container(border=True):
        with ui.show_errors():
            if found is None:
                job = jobs.get(job_id)
                if job.result and job.result.get("suggestions"):
                    found = job.result["suggestions"][0]
                    st.session_state[SUGGEST_KEY] = (project.name, for_path, found, job_id)
                else:
                    st.caption("The teacher runs in a background job (the web server never loads a model).")
                    ui.live_jobs(lambda: [jobs.get(job_id)], project_for=lambda j: project)
            if found is not None:
                proposals_review(for_path, taxonomy_expand.Suggestion.from_dict(found))
        if st.button("Discard proposals", key="tax_discard"):
            st.session_state.pop(SUGGEST_KEY, None)
            st.rerun()

# ---------------------------------------------------------------- the whole taxonomy
st.subheader("Whole taxonomy")
t_lists, t_import, t_expand, t_yaml = st.tabs(["Task types & personas", "Import", "Expand with the teacher", "YAML"])

with t_lists:
    rev = abs(hash(tree.to_yaml()))  # new widgets when the tree changed elsewhere (an import, the CLI)
    with st.form("tax_lists"):
        name = st.text_input("Taxonomy name", tree.name, key=f"tax_title::{rev}")
        description = st.text_input("Description", tree.description or "", key=f"tax_description::{rev}")
        c1, c2, c3 = st.columns(3)
        task_types = c1.text_area("Task types (one per line)", "\n".join(tree.task_types), key=f"tax_task_types::{rev}",
                                  height=150)
        difficulty = c2.text_area("Difficulty levels (one per line)", "\n".join(tree.difficulty),
                                  key=f"tax_difficulty::{rev}", height=150)
        personas = c3.text_area("Personas (one per line, optional)", "\n".join(tree.personas), key=f"tax_personas::{rev}",
                                height=150, help="Each leaf × task type × difficulty is also crossed with these.")
        if st.form_submit_button("Save", icon=":material/save:"):
            with ui.show_errors():
                taxonomy_edit.set_details(project.name, name, description, task_types.splitlines(),
                                          difficulty.splitlines(), personas.splitlines())
                ui.flash("Saved the taxonomy's lists.")
                st.rerun()

with t_import:
    st.markdown("**Outline** — one node per line: a markdown list, headings, or a table of contents "
                "(numbering, dot leaders and page numbers are removed).")
    outline_text = st.text_area("Outline", key="tax_outline", height=160, label_visibility="collapsed",
                                placeholder="- Physics\n  - Optics\n  - Mechanics\n- Biology\n  - Cells")
    o1, o2 = st.columns(2)
    under = o1.selectbox("Add under", [TOP, *paths], key="tax_outline_under")
    replace = o2.checkbox("Replace the whole tree", key="tax_outline_replace",
                          help="Start over from this outline (samples keep their node labels).")
    if st.button("Import outline", key="tax_outline_go", disabled=not outline_text.strip()):
        with ui.show_errors():
            n_added = taxonomy_edit.import_outline(project.name, outline_text,
                                                   under=None if under == TOP or replace else under, replace=replace)
            ui.flash(f"Added {n_added} node(s) from the outline.")
            st.rerun()
    st.divider()
    upload = st.file_uploader("…or replace everything with a taxonomy YAML file", type=["yaml", "yml"],
                              key="tax_yaml_upload", max_upload_size=upload_limit_mb())
    if st.button("Replace with this YAML", key="tax_yaml_go", disabled=upload is None):
        with ui.show_errors():
            text = decode(upload.getvalue(), upload.name)
            new = taxonomy_edit.replace_from_yaml(project.name, text, where=upload.name)
            ui.flash(f"Taxonomy replaced from {escape_inline(upload.name)}: {len(new.leaves())} leaves.")
            st.rerun()

with t_expand:
    st.markdown("The teacher proposes sub-topics for every leaf until the tree reaches the depth you set "
                "(\"subjects → topics → sub-topics\"). It runs as a background job; edit the result here after.")
    x1, x2, x3 = st.columns(3)
    depth = x1.number_input("Depth", 1, 8, max(2, min(8, max((p.count(SEP) + 2 for p in paths), default=1))),
                            key="tax_expand_depth", help="1 = top-level subjects only.")
    per_node = x2.number_input("Sub-topics per node", 1, taxonomy_expand.MAX_CHILDREN, 4, key="tax_expand_n")
    scope = x3.selectbox("Only below", [TOP, *paths], key="tax_expand_under")
    if st.button("Expand", key="tax_expand_go", icon=":material/account_tree:"):
        with ui.show_errors():
            job = taxonomy_expand.expand_tree(project.name, int(depth), int(per_node),
                                              under=None if scope == TOP else scope)
            st.session_state[EXPAND_KEY] = (project.name, job.id)
    exp = st.session_state.get(EXPAND_KEY)
    if exp and exp[0] == project.name:
        with ui.show_errors():
            ui.live_jobs(lambda: [jobs.get(exp[1])], project_for=lambda j: project)
            result = jobs.get(exp[1]).result or {}
            for e in result.get("errors", [])[:20]:
                st.caption(f"{escape_inline(e['path'] or 'top level')}: {escape_inline(e['error'])}")

with t_yaml:
    yaml_text = tree.to_yaml()
    st.code(yaml_text, language="yaml")
    st.download_button("Download YAML", yaml_text, file_name=f"{project.name}-taxonomy.yaml",
                       mime="application/x-yaml", icon=":material/download:", disabled=not tree.nodes)
