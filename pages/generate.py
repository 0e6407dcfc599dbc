"""Generate: see what the teacher will be asked (taxonomy, prompt templates), then start a run."""

import html

import streamlit as st
from pydantic import ValidationError

from lumina import jobs
from lumina.generate import MODE_HELP, MODES, templates_for
from lumina.generate.launch import available_inputs, start_generation
from lumina.generate.params import GenerateParams
from lumina.projects import taxonomy_of, update_project
from lumina.teachers.probe import ProbeResult, test_connection
from lumina.teachers import GenParams
from pages import _common as ui

ui.ensure_frame()

JOB_KEY = "generate_job_id"

project = ui.require_project()
st.title("Generate")
st.caption(f"Project **{html.escape(project.name)}** · teacher `{project.teacher}`")

PROBE_KEY = "generate_probe"
with st.expander(f"Teacher: `{project.teacher}`"):
    with st.form("teacher_form"):
        spec = st.text_input("Teacher spec", project.teacher, key="gen_teacher_spec",
                             help="transformers:MODEL, vllm:MODEL or openai:http://HOST:PORT/v1#MODEL. "
                                  "MODEL is a bundled name, a local folder or a hub id.")
        saved = st.form_submit_button("Save teacher")
    if saved and spec.strip() != project.teacher:
        with ui.show_errors():
            project = update_project(project.name, teacher=spec.strip())
            ui.flash(f"Teacher set to {project.teacher}")
            st.rerun()
    if st.button("Test connection", icon=":material/network_check:", key="gen_probe",
                 help="Generate one short answer and report the latency. Local models load in a "
                      "background job (the web server never loads a model)."):
        with ui.show_errors():
            st.session_state[PROBE_KEY] = test_connection(project.teacher, project.id)
    probe_out = st.session_state.get(PROBE_KEY)
    if isinstance(probe_out, ProbeResult):
        st.success(f"Answered in {probe_out.latency_s:.2f} s: {ui.escape_for_markdown(probe_out.text.strip())}",
                   icon=":material/check_circle:")
    elif probe_out is not None:
        with ui.show_errors():
            job = jobs.get(probe_out.id)
            if job.result:
                r = job.result
                st.success(f"Answered in {r['latency_s']:.2f} s (model load {r['load_s']:.1f} s): "
                           f"{ui.escape_for_markdown(r['text'].strip())}", icon=":material/check_circle:")
            else:
                ui.live_jobs(lambda: [jobs.get(probe_out.id)], project_for=lambda j: project)

tree = taxonomy_of(project)
with ui.show_errors():
    have = available_inputs(project.name)
INPUT_WORDS = {"taxonomy": "taxonomy leaves", "seeded": "seed tasks", "regenerate": "prompts"}
mode = st.radio("Mode", list(MODES), horizontal=True, key="gen_mode",
                format_func=lambda m: f"{m} ({have.get(m, 0)} {INPUT_WORDS.get(m, 'inputs')})")
st.caption(MODE_HELP.get(mode, ""))
if mode != "taxonomy" and not have.get(mode):
    kind = "seeds" if mode == "seeded" else "prompts"
    st.info(f"No {INPUT_WORDS[mode]} yet. Import a file (JSONL, CSV, Parquet or a datasets folder): "
            f"`lumina import {project.name} FILE --as {kind}`.", icon=":material/upload_file:")


def _tree_markdown(nodes, depth=0) -> list[str]:
    lines = []
    for n in nodes:
        extra = f" — {html.escape(n.description)}" if n.description else ""
        weight = f" `×{n.weight:g}`" if n.weight != 1.0 else ""
        lines.append(f"{'    ' * depth}- **{html.escape(n.name)}**{weight}{extra}")
        lines += _tree_markdown(n.children, depth + 1)
    return lines


if mode != "taxonomy":
    pass
elif tree is None:
    st.warning("This project has no taxonomy, so there is nothing to generate from. Create a "
               "project with a taxonomy on the Projects page.", icon=":material/warning:")
else:
    with st.expander(f"Taxonomy: {tree.name} ({len(tree.leaves())} leaves)", expanded=False):
        left, right = st.columns([2, 1])
        left.markdown("\n".join(_tree_markdown(tree.nodes)))
        right.markdown("**Task types**  \n" + ", ".join(map(html.escape, tree.task_types)))
        right.markdown("**Difficulty**  \n" + ", ".join(map(html.escape, tree.difficulty)))
        if tree.personas:
            right.markdown("**Personas**  \n" + ", ".join(map(html.escape, tree.personas)))
        st.code(tree.to_yaml(), language="yaml")

with ui.show_errors():
    templates = templates_for(mode)
    with st.expander("Prompt templates: " + ", ".join(t.ref for t in templates)):
        for t in templates:
            st.markdown(f"**{t.ref}**")
            st.code(t.source, language="jinja2", wrap_lines=True)

defaults = GenerateParams()
with st.form("generate"):
    st.subheader("New run")
    c1, c2, c3, c4 = st.columns(4)
    n = ui.number_field(GenerateParams, "n", defaults.n, "Samples", container=c1)
    seed = ui.number_field(GenerateParams, "seed", defaults.seed, "Seed", container=c2)
    batch = ui.number_field(GenerateParams, "batch_size", defaults.batch_size, "Batch size", container=c3)
    retries = ui.number_field(GenerateParams, "retries", defaults.retries, "Retries", container=c4)
    seed_examples, max_turns = defaults.seed_examples, defaults.max_turns
    if mode == "seeded":
        seed_examples = ui.number_field(GenerateParams, "seed_examples", defaults.seed_examples,
                                        "Seed tasks shown per new task", key="gen_seed_examples")
    if mode == "regenerate":
        max_turns = ui.number_field(GenerateParams, "max_turns", defaults.max_turns,
                                    "Turns to regenerate", key="gen_max_turns")
    i_col, a_col = st.columns(2)
    with i_col:
        st.markdown("**Instruction step**")
        i_tok = ui.number_field(GenParams, "max_tokens", defaults.instruction_params.max_tokens,
                                "Max tokens", key="gen_i_tokens")
        i_temp = ui.number_field(GenParams, "temperature", defaults.instruction_params.temperature,
                                 "Temperature", key="gen_i_temp")
        i_teacher = st.text_input("Teacher (blank: the project's)", key="gen_i_teacher",
                                  help=GenerateParams.model_fields["instruction_teacher"].description)
    with a_col:
        st.markdown("**Answer step**")
        a_tok = ui.number_field(GenParams, "max_tokens", defaults.answer_params.max_tokens,
                                "Max tokens", key="gen_a_tokens")
        a_temp = ui.number_field(GenParams, "temperature", defaults.answer_params.temperature,
                                 "Temperature", key="gen_a_temp")
        a_teacher = st.text_input("Teacher (blank: the project's)", key="gen_a_teacher",
                                  help=GenerateParams.model_fields["answer_teacher"].description)
    go = st.form_submit_button("Generate", type="primary", icon=":material/auto_awesome:",
                               disabled=not have.get(mode))

if go:
    try:
        params = GenerateParams(
            mode=mode, n=n, seed=seed, batch_size=batch, retries=retries,
            seed_examples=seed_examples, max_turns=max_turns,
            instruction_teacher=i_teacher.strip() or None, answer_teacher=a_teacher.strip() or None,
            instruction_params=GenParams(max_tokens=i_tok, temperature=i_temp),
            answer_params=GenParams(max_tokens=a_tok, temperature=a_temp),
        )
    except ValidationError as exc:
        for err in exc.errors():
            st.error(f"{'.'.join(map(str, err['loc']))}: {err['msg']}", icon=":material/error:")
    else:
        with ui.show_errors():
            job = start_generation(project.name, params)
            st.session_state[JOB_KEY] = (project.name, job.id)
            st.toast(f"Started job {job.id}", icon=":material/rocket_launch:")

last_project, job_id = st.session_state.get(JOB_KEY) or (None, None)
if job_id and last_project == project.name:
    st.subheader("This run")
    with ui.show_errors():
        ui.live_jobs(lambda: [jobs.get(job_id)], project_for=lambda job: project)
    st.page_link("pages/jobs.py", label="All jobs", icon=":material/pending_actions:")
