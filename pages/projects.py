"""Projects: what exists, and a form to start a new one from a taxonomy."""

import streamlit as st

from lumina import access, projects, teachers
from lumina.teachers import BACKENDS, BUNDLED_LLM
from lumina.taxonomy import tree as taxonomy
from lumina.web import queries as ui_queries
from lumina.errors import LuminaError
from lumina.io.textfiles import decode
from pages import _common as ui
from pages._imports import upload_limit_mb

ui.ensure_frame()

st.title("Projects")
st.caption("A project is a taxonomy, a teacher that writes samples and a student to train on them.")

rows = projects.summaries()
if rows:
    current = st.session_state.get(ui.PROJECT_KEY)

    def _open() -> None:
        picked = st.session_state["projects_table"].selection.rows
        if picked:
            ui.select_project(rows[picked[0]]["name"])

    st.dataframe(
        [{"name": r["name"], "samples": r["samples"], "approved": r["approved"],
          "rejected": r["rejected"], "active jobs": r["active_jobs"], "teacher": r["teacher"],
          "student": r["student"], "created": r["created_at"]} for r in rows],
        key="projects_table", on_select=_open, selection_mode="single-row", hide_index=True,
        column_config={
            "name": st.column_config.TextColumn("Project", width="medium"),
            "samples": st.column_config.NumberColumn("Samples", format="%d"),
            "approved": st.column_config.NumberColumn("Approved", format="%d"),
            "rejected": st.column_config.NumberColumn("Rejected", format="%d"),
            "active jobs": st.column_config.NumberColumn("Active jobs", format="%d"),
            "teacher": st.column_config.TextColumn("Teacher"),
            "student": st.column_config.TextColumn("Student"),
            "created": st.column_config.DatetimeColumn("Created", format="YYYY-MM-DD HH:mm"),
        },
    )
    st.caption(f"Current project: **{ui.escape_inline(current)}** — select a row or use the sidebar to switch.")
else:
    st.info("No projects yet. Create one below, or run `lumina demo` in a terminal for a "
            "ready-made project with samples.", icon=":material/info:")

actor = ui.current_actor()
current = st.session_state.get(ui.PROJECT_KEY)
if current and not actor.trusted:
    st.subheader(f"Members of {ui.escape_inline(current)}")
    with ui.show_errors():
        members = access.members(current)
        st.dataframe([{"member": m, "role": r, "granted by": g or ""} for m, r, g in members] or
                     [{"member": "(nobody listed)", "role": "", "granted by": ""}], hide_index=True)
        st.caption("Everyone else who signs in: " + (access.default_role() or "no access") + ". "
                   + " · ".join(f"**{r}** {h}" for r, h in access.ROLE_HELP.items()))
        if ui.can(current, "owner"):
            with st.form("members_form"):
                c1, c2, c3 = st.columns([3, 2, 1])
                who = c1.text_input("Login (e-mail)", key="member_login")
                role = c2.selectbox("Role", access.ROLES, index=1, key="member_role")
                remove = c3.checkbox("Remove", key="member_remove")
                if st.form_submit_button("Save member"):
                    if remove:
                        done = access.revoke(current, who)
                        ui.flash(f"Removed {ui.escape_inline(who)}." if done else f"{ui.escape_inline(who)} was not listed.")
                    else:
                        access.grant(current, who, role)
                        ui.flash(f"{ui.escape_inline(who)} is now {role} of {ui.escape_inline(current)}.")
                    st.rerun()


def teacher_choices() -> dict[str, str]:
    """Ready teacher specs, one per registered backend (the bundled model for those that run here,
    the backend's name alone for those reached over the network), each with how it reads."""
    out = {}
    for b in BACKENDS:
        desc, _, example = b.help.rpartition(": ") if ": " in b.help else (b.help, "", "")
        why = b.unavailable() if b.unavailable else None
        if b.remote:
            spec, label = f"{b.name}:", f"{b.name}: {desc} — type its spec under Teacher ({example or b.name + ':…'})"
        else:
            spec = f"{b.name}:{BUNDLED_LLM}"
            label = f"{spec} — {desc}, bundled model"
        out[spec] = label + (f" — not available here: {why}" if why else "")
    return out


def default_choice(choices: dict[str, str]) -> str:
    """The library's default teacher when its backend runs here, else the first ready one that does."""
    def runs(spec: str) -> bool:
        b = BACKENDS.get(spec.partition(":")[0])
        return not b.remote and not (b.unavailable and b.unavailable())

    preferred = teachers.default_teacher_spec()
    if preferred in choices and runs(preferred):
        return preferred
    return next((s for s in choices if runs(s)), next(iter(choices)))


def teacher_problem(spec: str) -> str | None:
    """Why this spec cannot be a project's teacher here (checked before anything is created)."""
    backend, _, rest = spec.partition(":")
    if backend in BACKENDS and not rest and BACKENDS.get(backend).remote:
        example = BACKENDS.get(backend).help.rpartition(": ")[2] or f"{backend}:http://HOST:PORT/v1#MODEL"
        return f"Type the {backend} teacher's spec under Teacher, e.g. {example}."
    try:
        projects.check_teacher(spec, reach=True)
        b = teachers.backend_of(spec)
        return b.unavailable() if b.unavailable else None
    except LuminaError as exc:
        return str(exc)


st.subheader("New project")
examples = ui_queries.example_taxonomies()
NONE = "(no taxonomy)"
with st.form("new_project", clear_on_submit=False):
    name = st.text_input("Name", key="new_name", placeholder="e.g. everyday-science", max_chars=64,
                         help="Letters, digits, spaces, '-', '_' and '.'; no space or dot at either end.")
    left, right = st.columns(2)
    example = left.selectbox("Taxonomy from an example", [p.name for p in examples] + [NONE],
                             key="new_example",
                             help="Files in data/examples/.")
    upload = right.file_uploader("…or upload a taxonomy YAML (used instead of the example)",
                                 type=["yaml", "yml"], key="new_upload", max_upload_size=upload_limit_mb())
    choices = teacher_choices()
    t1, t2 = st.columns(2)
    choice = t1.selectbox("Ready teacher", list(choices), index=list(choices).index(default_choice(choices)),
                          format_func=choices.get, key="new_teacher_choice",
                          help="The backends Lumina knows, with the bundled model where it runs here.")
    custom = t2.text_input("Teacher", key="new_teacher", placeholder="the ready teacher, or type BACKEND:MODEL",
                           help="Empty: the ready teacher picked beside. A spec typed here is used instead — "
                                + "; ".join(f"{b.name}: {b.help}" for b in BACKENDS))
    teacher_note = st.empty()  # the teacher's problem, beside its fields
    student = st.text_input("Student", value=teachers.default_student_spec(), key="new_student",
                            help="The small model you will fine-tune on the curated samples.")
    submitted = st.form_submit_button("Create project", type="primary", icon=":material/add:")

if submitted:
    teacher = custom.strip() or choice
    problem = teacher_problem(teacher)
    if problem:
        teacher_note.error(problem, icon=":material/error:")
    with ui.show_errors():
        if problem:  # nothing is created; the name's own problem, if any, shows at once too
            projects.validate_name(name)
        else:
            if upload is not None:
                tree = taxonomy.loads(decode(upload.getvalue(), upload.name), where=upload.name)
            elif example != NONE:
                tree = taxonomy.load(next(p for p in examples if p.name == example))
            else:
                tree = None
            project = projects.create_project(name, taxonomy_obj=tree, teacher=teacher, student=student,
                                              check_reachable=False)  # reached just above
            ui.select_project(project.name)
            nodes = f" with {len(tree.leaves())} taxonomy leaves" if tree else " without a taxonomy"
            ui.flash(f"Created project **{ui.escape_inline(project.name)}**{nodes}. Next: Generate.")
            st.rerun()

if examples:
    with st.expander("About the example taxonomies"):
        for path in examples:
            try:
                tree = taxonomy.load(path)
            except LuminaError as exc:
                st.warning(f"**{ui.escape_inline(path.name)}** cannot be used: {ui.escape_inline(exc)}", icon=":material/warning:")
            else:
                st.markdown(ui.escape_inline(f"{path.name} — {tree.name}: {tree.description or ''} "
                                             f"({len(tree.leaves())} leaves; task types: {', '.join(tree.task_types)}; "
                                             f"difficulty: {', '.join(tree.difficulty)})"))
