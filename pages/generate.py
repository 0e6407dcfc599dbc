"""Generate: pick a mode and its inputs, read (or reword) the prompts, see the budget, start a run."""

import json
import re

import streamlit as st
from pydantic import ValidationError

from lumina import jobs
from lumina.generate import MODES, get_mode, templates_for
from lumina.generate import options as mode_options
from lumina.generate.inputs import input_kind
from lumina.generate.launch import available_inputs, estimate_generation, start_generation
from lumina.generate.params import GenerateParams
from lumina.projects import set_teacher_options, taxonomy_of, update_project
from lumina.teachers import GenParams, options
from lumina.teachers.probe import ProbeResult, test_connection
from pages import _common as ui
from pages._imports import import_box

ui.ensure_frame()

JOB_KEY = "generate_job_id"
PROBE_KEY = "generate_probe"
GO_KEY = "gen_go"

project = ui.require_project()
st.title("Generate")
st.caption(f"Project **{ui.escape_inline(project.name)}** · teacher {ui.inline_code(project.teacher)}")

# ---------------------------------------------------------------- teacher
with st.expander(f"Teacher: {ui.inline_code(project.teacher)}"):
    remote = options.of(project.settings)
    with st.form("teacher_form"):
        spec = st.text_input("Teacher spec", project.teacher, key=f"gen_teacher_spec::{project.name}",
                             help="transformers:MODEL, vllm:MODEL or openai:http://HOST:PORT/v1#MODEL. "
                                  "MODEL is a bundled name, a local folder or a hub id.")
        st.caption("For OpenAI-compatible teachers (vLLM server, SGLang, llama.cpp, hosted APIs):")
        o1, o2, o3 = st.columns(3)
        concurrency = ui.number_field(options.RemoteOptions, "concurrency", remote.concurrency, "Concurrency",
                                      container=o1, key=f"gen_concurrency::{project.name}")
        timeout_s = ui.number_field(options.RemoteOptions, "timeout_s", remote.timeout_s, "Timeout (s)",
                                    container=o2, key=f"gen_timeout::{project.name}", step=10.0)
        max_retries = ui.number_field(options.RemoteOptions, "max_retries", remote.max_retries, "Retries",
                                      container=o3, key=f"gen_max_retries::{project.name}")
        saved = st.form_submit_button("Save teacher")
    if saved:
        with ui.show_errors():
            if spec.strip() != project.teacher:
                project = update_project(project.name, teacher=spec.strip())
            set_teacher_options(project.name, concurrency=concurrency, timeout_s=timeout_s, max_retries=max_retries)
            ui.flash(f"Teacher set to {ui.escape_inline(project.teacher)} (concurrency {concurrency}, timeout {timeout_s:g} s, "
                     f"{max_retries} retries)")
            st.rerun()
    if st.button("Test connection", icon=":material/network_check:", key="gen_probe",
                 help="Generate one short answer and report the latency. Local models load in a "
                      "background job (the web server never loads a model)."):
        with ui.show_errors():
            st.session_state[PROBE_KEY] = test_connection(project.teacher, project.id)
    probe_out = st.session_state.get(PROBE_KEY)
    if isinstance(probe_out, ProbeResult):
        st.success(f"Answered in {probe_out.latency_s:.2f} s: {ui.escape_inline(probe_out.text.strip())}",
                   icon=":material/check_circle:")
    elif probe_out is not None:
        with ui.show_errors():
            job = jobs.get(probe_out.id)
            if job.result:
                r = job.result
                st.success(f"Answered in {r['latency_s']:.2f} s (model load {r['load_s']:.1f} s): "
                           f"{ui.escape_inline(r['text'].strip())}", icon=":material/check_circle:")
            else:
                ui.live_jobs(lambda: [jobs.get(probe_out.id)], project_for=lambda j: project)

# ---------------------------------------------------------------- mode and its inputs
have: dict[str, int] = {}
with ui.show_errors():
    have = available_inputs(project.name)
mode = st.radio("Mode", MODES.names(), horizontal=True, key="gen_mode",
                format_func=lambda m: f"{m} ({have.get(m, 0)} {input_kind(get_mode(m)).words})")
chosen = get_mode(mode)
inputs = input_kind(chosen)
st.caption(chosen.help)

if inputs.import_as:
    kind = inputs.import_as
    if not have.get(mode):
        st.info(f"No {inputs.words} yet: import {kind} below, or from a terminal with "
                f"{ui.inline_code(f'lumina import {project.name} FILE --as {kind}')}.", icon=":material/upload_file:")
    import_box(project.name, kind, key=f"gen_import_{kind}")
elif inputs.name == "taxonomy":
    tree = taxonomy_of(project)
    if tree is None:
        st.warning("This project has no taxonomy yet: build one on the Taxonomy page (by hand, from an "
                   "outline, or with the teacher's help).", icon=":material/warning:")
        st.page_link("pages/taxonomy.py", label="Go to Taxonomy", icon=":material/account_tree:")
    else:
        with st.expander(f"Taxonomy: {ui.escape_inline(tree.name)} ({len(tree.leaves())} leaves)", expanded=False):
            st.caption(ui.escape_inline(tree.name) + (f" — {ui.escape_inline(tree.description)}" if tree.description else ""))
            st.markdown(ui.tree_markdown(tree.nodes))
            st.markdown("**Task types:** " + ", ".join(map(ui.escape_inline, tree.task_types)) + "  \n"
                        "**Difficulty:** " + ", ".join(map(ui.escape_inline, tree.difficulty))
                        + ("  \n**Personas:** " + ", ".join(map(ui.escape_inline, tree.personas)) if tree.personas else ""))
            st.page_link("pages/taxonomy.py", label="Edit on the Taxonomy page", icon=":material/edit:")
elif not have.get(mode):
    st.info(f"No {inputs.words} yet: generate or import some first.", icon=":material/info:")

# ---------------------------------------------------------------- prompt templates


with ui.show_errors():
    templates = templates_for(mode, project.id)
    with st.expander("Prompt templates: " + ", ".join(t.ref for t in templates)):
        for t in templates:
            ui.template_editor(project.name, t)

# ---------------------------------------------------------------- settings


def render_options(mode) -> tuple[bool, dict]:
    """The mode's own settings, one widget per field of its Options model: (all readable, values).
    Validation stays with the model; a value that cannot even be read is reported here."""
    specs = mode_options.fields(mode.Options)
    if not specs:
        return True, {}
    ok, values = True, {}
    cols = st.columns(min(len(specs), 3))
    for i, f in enumerate(specs):
        col = cols[i % len(cols)]
        key = f"gen_{f.key}"
        if f.kind in ("int", "float"):
            values[f.name] = ui.number_field(mode.Options, f.name, f.default, f.label, container=col, key=key)
        elif f.kind == "bool":
            values[f.name] = col.checkbox(f.label, bool(f.default), key=key, help=f.help)
        elif f.kind == "multi":
            default = list(f.default or [])
            values[f.name] = col.multiselect(f.label, list(dict.fromkeys([*f.choices, *default])), default=default,
                                             key=key, accept_new_options=f.allow_new, help=f.help)
        elif f.kind == "choice":
            blank = [f.none_label or "(none)"] if f.optional else []
            picked = col.selectbox(f.label, [*blank, *f.choices], key=key, help=f.help,
                                   index=([*blank, *f.choices].index(f.default) if f.default in f.choices else 0))
            values[f.name] = None if blank and picked == blank[0] else picked
        elif f.kind == "text":
            text = col.text_input(f.label, f.default or "", key=key, help=f.help, placeholder=f.placeholder)
            values[f.name] = None if f.optional and not text.strip() else text
        elif f.kind == "int_list":
            text = col.text_input(f.label, key=key, help=f.help, placeholder=f.placeholder)
            if text.strip():
                try:
                    values[f.name] = [int(x) for x in re.split(r"[,;\s]+", text.strip()) if x]
                except ValueError:
                    st.error(ui.escape_inline(f"{f.noun} are whole numbers separated by commas."),
                             icon=":material/error:")
                    values[f.name] = []
            elif not f.optional:
                values[f.name] = []
        else:  # anything else: JSON, read by the model
            text = col.text_area(f.label, json.dumps(f.default), key=key, help=f.help)
            try:
                values[f.name] = json.loads(text)
            except ValueError:
                st.error(ui.escape_inline(f"{f.label}: not valid JSON."), icon=":material/error:")
                ok = False
    return ok, values


d = GenerateParams()
st.subheader("New run")
c1, c2, c3, c4 = st.columns(4)
n = ui.number_field(GenerateParams, "n", d.n, "Samples", container=c1, key="gen_n")
seed = ui.number_field(GenerateParams, "seed", d.seed, "Seed", container=c2, key="gen_seed")
batch = ui.number_field(GenerateParams, "batch_size", d.batch_size, "Batch size", container=c3, key="gen_batch")
retries = ui.number_field(GenerateParams, "retries", d.retries, "Retries", container=c4, key="gen_retries")
options_ok, extra = render_options(chosen)

i_col, a_col = st.columns(2)
with i_col:
    st.markdown("**Instruction step**" if "instruction" in chosen.teacher_steps else "**Instruction step** (not used)")
    i_tok = ui.number_field(GenParams, "max_tokens", d.instruction_params.max_tokens, "Max tokens", key="gen_i_tokens")
    i_temp = ui.number_field(GenParams, "temperature", d.instruction_params.temperature, "Temperature",
                             key="gen_i_temp")
    i_teacher = st.text_input("Teacher (blank: the project's)", key="gen_i_teacher",
                              help=GenerateParams.model_fields["instruction_teacher"].description)
with a_col:
    st.markdown("**Answer step**")
    a_tok = ui.number_field(GenParams, "max_tokens", d.answer_params.max_tokens, "Max tokens", key="gen_a_tokens")
    a_temp = ui.number_field(GenParams, "temperature", d.answer_params.temperature, "Temperature", key="gen_a_temp")
    a_teacher = st.text_input("Teacher (blank: the project's)", key="gen_a_teacher",
                              help=GenerateParams.model_fields["answer_teacher"].description)

params = None
problems: list[dict] = []
options: dict | None = None
try:
    options = chosen.Options.model_validate(extra).model_dump(mode="json")
except ValidationError as exc:
    problems += exc.errors()
try:
    common = GenerateParams(
        mode=mode, n=n, seed=seed, batch_size=batch, retries=retries,
        instruction_teacher=i_teacher.strip() or None, answer_teacher=a_teacher.strip() or None,
        instruction_params=GenParams(max_tokens=i_tok, temperature=i_temp),
        answer_params=GenParams(max_tokens=a_tok, temperature=a_temp),
    )
    if options is not None and options_ok:
        params = common.model_copy(update={"options": options})
except ValidationError as exc:
    problems += exc.errors()
for err in problems:
    where = ".".join(map(str, err["loc"])) or "settings"
    st.error(ui.escape_inline(f"{where}: {err['msg']}"), icon=":material/error:")

# ---------------------------------------------------------------- budget guard and launch
if params is not None:
    with ui.show_errors():
        est = estimate_generation(project.name, params)
        tokens = (f"about **{est.tokens_expected:,}** tokens (at most {est.tokens_max:,})" if est.tokens_expected
                  else f"at most **{est.tokens_max:,}** tokens")
        if est.tokens_per_s:
            st.info(f"Budget: {tokens}; at **{est.tokens_per_s:,.0f}** tokens/s ({est.rate_source}) that is "
                    f"about **{ui.duration(est.seconds)}** (at most {ui.duration(est.seconds_max)}).",
                    icon=":material/timer:")
        else:
            st.info(f"Budget: {tokens}. No speed measured yet for {ui.inline_code(est.teacher)} on this machine: use "
                    "**Test connection** above, or start with a small run.", icon=":material/timer:")

go = st.button("Generate", type="primary", icon=":material/auto_awesome:", key=GO_KEY,
               disabled=params is None or not have.get(mode))
if go and params is not None:
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
