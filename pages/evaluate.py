"""Evaluate: a trained student against its base on the version's eval split (loss, perplexity,
answers, a position-swapped judge) and on general eval sets (forgetting); a playground."""

import streamlit as st

from lumina.evaluation import jobs as eval_runs
from lumina.io import importers
from lumina import jobs
from lumina.train import job as train_runs
from lumina.web.safe_markdown import escape_inline, inline_code
from pages import _common as ui
from pages._imports import import_box

ui.ensure_frame()

project = ui.require_project()
st.title("Evaluate")
ui.show_flash()

runs = [r for r in train_runs.list_runs(project.name) if r.status == "done"]
if not runs:
    st.info(f"No finished training run yet. Train the student ({inline_code(project.student)}) on the "
            "**Train** page first.", icon=":material/info:")
    st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
    st.stop()

preselect = st.session_state.pop("ev_preselect", None)  # "Evaluate this run" on the Train page
if preselect in [r.id for r in runs]:
    st.session_state["ev_run"] = preselect
run_id = st.selectbox("Run", [r.id for r in runs], key="ev_run",
                      format_func=lambda i: next(f"run {r.id} · {r.config.get('_version')} · {r.method} on {r.base_model}"
                                                 for r in runs if r.id == i))
sets = importers.evalsets(project.name)
with st.expander("General eval sets (for the forgetting check)", expanded=not sets):
    st.caption("LuminaSFT's 1B student tuned on DROP alone fell from 70.4 to 14.2 on RACE: import a general "
               "benchmark to see whether tuning cost the student what it knew.")
    import_box(project.name, "evalset", key="ev_import")
c1, c2, c3 = st.columns([3, 1, 1])
chosen_sets = c1.multiselect("Check forgetting on", list(sets), key="ev_sets",
                             format_func=lambda n: f"{n} ({sets[n]} items)")
prompts = c2.number_input("Prompts to answer", 0, 500, 20, key="ev_prompts")
judge = c3.toggle("Pairwise judge", value=True, key="ev_judge",
                  help=f"The project's teacher ({inline_code(project.teacher)}) compares base and tuned answers, "
                       "in both orders.")
if st.button("Evaluate", type="primary", key="ev_go"):
    with ui.show_errors():
        job = eval_runs.start_eval(project.name, eval_runs.EvalRequest(run_id, chosen_sets, judge, int(prompts)))
        ui.flash(f"Evaluation started (job {job.id}).")
        st.rerun()


def _answer(label: str, text: str | None, cut: int | None = None) -> None:
    st.caption(f"{label} · :orange[truncated at {cut} tokens]" if cut else label)
    with st.container(border=True):
        ui.safe_text(text, markdown=True)


def _side_by_side(row: dict, max_new_tokens: int | None, reference: bool = False) -> None:
    """The reference answer (an eval row's final assistant turn), base and tuned, as Markdown
    rendered inert; a cut-off answer is marked (results stored without a finish reason are not)."""
    cols = st.columns(3 if reference else 2)
    if reference:
        with cols[0]:
            _answer("reference", row.get("reference"))
    for col, who in zip(cols[-2:], ("base", "tuned")):
        with col:
            _answer(who, row.get(who), eval_runs.truncated(row, who, max_new_tokens))


evals = eval_runs.evaluations(project.name, run_id)
active = [j for j in evals if j.status in ui.ACTIVE]
if active:
    ui.live_jobs(lambda: [jobs.get(j.id) for j in active])
done = next((j for j in evals if j.status == "done" and j.result), None)
if done:
    res = done.result
    st.subheader(f"Results (job {done.id})")
    d = res.get("domain") or {}
    if d:
        m = st.columns(3)
        m[0].metric("Eval loss (own domain)", f"{d['tuned']['loss']:.4f}",
                    delta=f"{d['tuned']['loss'] - d['base']['loss']:+.4f} vs base", delta_color="inverse")
        m[1].metric("Perplexity", f"{d['tuned']['perplexity']:.2f}",
                    delta=f"{d['tuned']['perplexity'] - d['base']['perplexity']:+.2f} vs base", delta_color="inverse")
        m[2].metric("Rows", d["tuned"].get("n", res.get("eval_rows")))
    j = res.get("judge")
    if j:
        if j.get("win_rate") is not None:
            st.markdown(f"**Judge** ({inline_code(j.get('teacher', ''))}): {j['wins']} wins · {j['ties']} ties · "
                        f"{j['losses']} losses · {j['failed']} failed — tuned win rate **{j['win_rate']:.2f}** "
                        f"(95% CI {j['ci_low']:.2f}–{j['ci_high']:.2f}); the two orders agreed on "
                        f"{(j.get('consistency') or 0):.0%} of items.")
        else:
            st.warning(f"The judge gave no verdict ({j['failed']} items failed).", icon=":material/warning:")
    for w in res.get("warnings") or []:
        st.warning(w, icon=":material/warning:")
    general = res.get("general") or {}
    if general:
        st.dataframe([{"eval set": n, "rows": g["rows"], "base loss": g["base"]["loss"], "tuned loss": g["tuned"]["loss"],
                       "change": g["forgetting"]["relative_change"], "forgetting": g["forgetting"]["forgetting"]}
                      for n, g in general.items()], hide_index=True, width="stretch",
                     column_config={"change": st.column_config.NumberColumn(format="percent")})
    answers = res.get("answers") or []
    if answers:
        with st.expander(f"Answers ({len(answers)})"):
            limit = f", at most {res['max_new_tokens']} new tokens each" if res.get("max_new_tokens") else ""
            st.caption(f"Reference (the eval row's own answer) beside base and tuned (greedy{limit}); "
                       "formatting is shown, HTML always as text.")
            for k, a in enumerate(answers):
                verdict = f"verdict: *{escape_inline(a['verdict'])}*" if a.get("verdict") else ""
                st.markdown(f"**{k + 1}.** {verdict}")
                with st.container(border=True):
                    ui.safe_text(a["prompt"], markdown=True)
                _side_by_side(a, res.get("max_new_tokens"), reference=True)
elif not active:
    st.caption("No evaluation of this run yet.")

st.subheader("Playground")
st.caption("One prompt, both students' answers side by side (answered in a background job, so the page stays free).")
prompt = st.text_area("Prompt", key="ev_prompt", placeholder="Ask both students the same thing.")
if st.button("Ask both", key="ev_ask", disabled=not prompt.strip()):
    with ui.show_errors():
        eval_runs.start_playground(project.name, run_id, prompt)
# The newest playground job of this run, whoever asked and when: the answer outlives a reload.
play = next(iter(eval_runs.playgrounds(project.name, run_id)), None)
if play:
    if play.status in ui.ACTIVE:
        ui.live_jobs(lambda: [jobs.get(play.id)])
    elif play.status == "done" and play.result:
        st.caption(f"Last asked (job {play.id}):")
        with st.container(border=True):
            ui.safe_text(play.result["prompt"], markdown=True)
        _side_by_side(play.result, play.result.get("max_new_tokens") or play.params.get("max_new_tokens"))
    elif play.error:
        st.error(escape_inline(play.error), icon=":material/error:")
