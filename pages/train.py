"""Train: fine-tune the student on a frozen dataset version (TRL SFTTrainer + PEFT LoRA) as a
background job, with live loss / learning rate / speed charts, cancel and resume; runs side by side."""

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from lumina import datasets, jobs
from lumina.train import job as train_runs
from lumina.models.device import detect
from lumina.web.safe_markdown import escape_inline, inline_code
from lumina.train.config import METHODS, PRESETS, TrainConfig
from pages import _common as ui

ui.ensure_frame()

project = ui.require_project()
st.title("Train")
ui.show_flash()

device = detect()
st.caption(f"Device: **{escape_inline(device.label())}** · student {inline_code(project.student)}")
versions = datasets.list_versions(project.name)
if not versions:
    st.info("Freeze a dataset version on the **Datasets** page first: training runs on a frozen version, "
            "so every run knows exactly what it learnt from.", icon=":material/info:")
    st.page_link("pages/datasets.py", label="Go to Datasets", icon=":material/dataset:")
    st.stop()

st.subheader("New run")
c1, c2, c3 = st.columns([2, 3, 2])
version = c1.selectbox("Dataset version", [v.name for v in reversed(versions)], key="tr_version")
base = c2.text_input("Base student", value=project.student, key="tr_base",
                     help="The bundled smollm2-135m-instruct, a local folder or a hub id already downloaded.")
preset = c3.selectbox("Preset", list(PRESETS), key="tr_preset",
                      help="'quick check' proves the pipeline in minutes; 'standard' is a real run.")
defaults = TrainConfig.from_dict(PRESETS[preset])
with st.expander("Settings", expanded=False):
    s1, s2, s3, s4 = st.columns(4)
    method = s1.selectbox("Method", METHODS, key=f"tr_method_{preset}",
                          help="QLoRA needs a CUDA GPU and bitsandbytes.")
    lr = s2.number_input("Learning rate", value=float(defaults.learning_rate), format="%.1e", step=1e-5,
                         key=f"tr_lr_{preset}")
    epochs = s3.number_input("Epochs", value=float(defaults.epochs), min_value=0.0, step=0.5, key=f"tr_epochs_{preset}")
    max_steps = s4.number_input("Max steps (-1 = by epochs)", value=int(defaults.max_steps), step=1,
                                key=f"tr_steps_{preset}")
    s5, s6, s7, s8 = st.columns(4)
    batch = s5.number_input("Batch size", value=int(defaults.batch_size), min_value=1, step=1, key=f"tr_batch_{preset}")
    accum = s6.number_input("Gradient accumulation", value=int(defaults.grad_accum), min_value=1, step=1,
                            key=f"tr_accum_{preset}")
    max_length = s7.number_input("Max length (tokens)", value=int(defaults.max_length), min_value=16, step=64,
                                 key=f"tr_len_{preset}")
    save_steps = s8.number_input("Checkpoint every (steps)", value=int(defaults.save_steps), min_value=1, step=5,
                                 key=f"tr_save_{preset}")
    s9, s10, s11, s12 = st.columns(4)
    rank = s9.number_input("LoRA rank", value=int(defaults.lora_r), step=4, key=f"tr_rank_{preset}")
    alpha = s10.number_input("LoRA alpha", value=int(defaults.lora_alpha), step=4, key=f"tr_alpha_{preset}")
    packing = s11.toggle("Packing", value=defaults.packing, key=f"tr_pack_{preset}",
                         help="Pack short rows into full-length sequences (faster on many short rows).")
    merge = s12.toggle("Also save a merged model", value=defaults.merge, key=f"tr_merge_{preset}")

config = {**PRESETS[preset], "base_model": base.strip(), "method": method, "learning_rate": lr, "epochs": epochs,
          "max_steps": int(max_steps), "batch_size": int(batch), "grad_accum": int(accum),
          "max_length": int(max_length), "save_steps": int(save_steps), "lora_r": int(rank),
          "lora_alpha": int(alpha), "packing": packing, "merge": merge}
plan = None
with ui.show_errors():
    plan = train_runs.plan_training(project.name, version, config)
if plan:
    est = plan.estimate
    m = st.columns(4)
    m[0].metric("Train / eval rows", f"{plan.train_rows:,} / {plan.eval_rows:,}")
    m[1].metric("Steps", f"{est['steps']:,}")
    m[2].metric("Time (estimate)", ui.duration(est["seconds"]))
    m[3].metric("Memory (estimate)", f"{est['memory_gb']:.1f} GB")
    for w in plan.warnings:
        st.warning(w, icon=":material/warning:")
    if st.button("Start training", type="primary", key="tr_start"):
        with ui.show_errors():
            run, job = train_runs.start_training(project.name, version, config)
            ui.flash(f"Run {run.id} started (job {job.id}).")
            st.session_state["tr_run"] = run.id
            st.rerun()

runs = train_runs.list_runs(project.name)
if not runs:
    st.stop()

st.subheader("Runs")


def _f(v, fmt="{:.4f}"):
    return fmt.format(v) if isinstance(v, (int, float)) else None


st.dataframe([{
    "run": r.id, "status": r.status, "version": r.config.get("_version"), "method": r.method,
    "base": r.base_model, "lr": r.config.get("learning_rate"), "rank": r.config.get("lora_r"),
    "steps": r.metrics.get("steps") or r.metrics.get("step"),
    "first loss": r.metrics.get("train_loss_first"), "last loss": r.metrics.get("train_loss_last") or r.metrics.get("loss"),
    "eval loss": r.metrics.get("final_eval_loss") or r.metrics.get("eval_loss"),
    "tokens/s": r.metrics.get("tokens_per_s"),
} for r in runs], hide_index=True, width="stretch",
    column_config={k: st.column_config.NumberColumn(format="%.4f") for k in ("first loss", "last loss", "eval loss")})

ids = [r.id for r in runs]
if st.session_state.get("tr_run") not in ids:
    st.session_state["tr_run"] = ids[0]
chosen_id = st.selectbox("Run", ids, key="tr_run", format_func=lambda i: f"run {i}")


def _charts(hist) -> None:
    steps = [h for h in hist if "loss" in h or "eval_loss" in h]
    if not steps:
        st.caption("No step logged yet: the model is loading.")
        return
    fig = make_subplots(rows=1, cols=3, subplot_titles=("loss", "learning rate", "tokens / s"))
    tr = [h for h in steps if "loss" in h]
    ev = [h for h in steps if "eval_loss" in h]
    fig.add_trace(go.Scatter(x=[h["step"] for h in tr], y=[h["loss"] for h in tr], name="train loss",
                             mode="lines+markers"), 1, 1)
    if ev:
        fig.add_trace(go.Scatter(x=[h["step"] for h in ev], y=[h["eval_loss"] for h in ev], name="eval loss",
                                 mode="lines+markers"), 1, 1)
    lr = [h for h in tr if "learning_rate" in h]
    fig.add_trace(go.Scatter(x=[h["step"] for h in lr], y=[h["learning_rate"] for h in lr], name="lr"), 1, 2)
    sp = [h for h in tr if h.get("tokens_per_s")]
    fig.add_trace(go.Scatter(x=[h["step"] for h in sp], y=[h["tokens_per_s"] for h in sp], name="tokens/s"), 1, 3)
    fig.update_layout(height=280, margin=dict(l=10, r=10, t=30, b=10), showlegend=False)
    st.plotly_chart(fig, width="stretch", key=f"tr_chart_{chosen_id}_{len(hist)}")


def _take_away(run) -> None:
    """A finished run: on to the Evaluate page with this run chosen, and its weights as a zip."""
    left, right = st.columns(2)
    if left.button("Evaluate this run →", key=f"tr_evaluate_{run.id}", type="primary",
                   icon=":material/fact_check:"):
        st.session_state["ev_preselect"] = run.id  # read (once) by the Evaluate page
        st.switch_page("pages/evaluate.py")
    folder = train_runs.weights_folder(run)
    if folder is None:
        return
    size, limit = train_runs.folder_bytes(folder), train_runs.DOWNLOAD_LIMIT
    if size > limit:
        right.caption(f"{folder.name}/ is {size / 1024 ** 2:,.0f} MB, over the {limit / 1024 ** 2:,.0f} MB "
                      f"download limit: copy it from the server, {inline_code(str(folder))}.")
        return
    right.download_button(f"Download {folder.name} (.zip, {size / 1024 ** 2:,.1f} MB)",
                          data=lambda: train_runs.weights_zip(run),  # zipped on click, not on every rerun
                          file_name=f"{project.name}-run-{run.id}-{folder.name}.zip",
                          mime="application/zip", key=f"tr_download_{run.id}", on_click="ignore",
                          icon=":material/download:")


@ui.show_errors()
def run_panel() -> None:
    run = train_runs.get_run(project.name, chosen_id)
    job = jobs.get(run.job_id) if run.job_id else None
    hist = train_runs.history(run)
    last = next((h for h in reversed(hist) if "loss" in h), {})
    facts = [f"status **{escape_inline(run.status)}**", f"{escape_inline(run.method)} on {inline_code(run.base_model)}"]
    if last:
        facts.append(f"step {last.get('step')} · loss {last.get('loss', 0):.4f}")
        if last.get("eta_s") is not None and run.status == "running":
            facts.append(f"ETA {ui.duration(last['eta_s'])}")
    st.markdown(" · ".join(facts))
    if active and run.status not in ("queued", "running"):
        st.rerun(scope="app")  # finished: stop the refresh timer, update the runs table
    _charts(hist)
    if job:
        ui.job_panel(job)
    if run.status == "done":
        _take_away(run)
    arts = train_runs.artefacts(run)
    if arts:
        with st.expander("Artefacts"):
            for name, path in arts.items():
                st.text(f"{name}: {path}")
    with st.expander("Config"):
        st.json({k: v for k, v in run.config.items() if not k.startswith("_")})
    if job and job.finished and job.status in ("cancelled", "failed", "interrupted"):
        st.caption("Resume continues from the newest checkpoint.")


active = any(r.id == chosen_id and r.status in ("queued", "running") for r in runs)
st.fragment(run_panel, run_every=2 if active else None)()
