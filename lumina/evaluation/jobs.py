"""Evaluating a training run: base vs tuned student on the version's eval split (loss,
perplexity, answers, a position-swapped pairwise judge) and on imported general eval sets (the
forgetting check). Runs as an ``eval`` background job; the figures land on the job's result.

LuminaSFT's own runs show why the forgetting check exists: a 1B student tuned on DROP alone went
from 70.4 to 14.2 on RACE. A tuned loss on a general set worse than the base's by more than the
threshold is reported as a warning beside the gain.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any


from lumina import access
from lumina.evaluation.request import EvalRequest
from lumina.errors import InvalidInputError
from lumina.store import connect
from lumina.store import jobs as store_jobs
from lumina.store import training as store_training


def check_request(project: str, req: EvalRequest) -> None:
    """Bad settings fail here, before a job starts."""
    from lumina.io import importers
    from lumina.train import job as train_runs

    run = train_runs.get_run(project, req.run_id)
    train_runs.model_of(run, prepare=False)  # weights exist
    if req.prompts < 0 or req.max_new_tokens < 1 or req.max_items < 1:
        raise InvalidInputError("prompts must be >= 0, max_new_tokens and max_items >= 1.")
    if not 0 < req.forgetting_threshold < 1:
        raise InvalidInputError("The forgetting threshold is a relative change, e.g. 0.05 for 5%.")
    known = importers.evalsets(project)
    for name in req.evalsets:
        if name not in known:
            hint = f" Eval sets: {', '.join(known)}." if known else \
                f" Import one with `lumina import {project} FILE --as evalset`."
            raise InvalidInputError(f"No eval set '{name}' in '{project}'.{hint}")
        if not any(i.get("answer") for i in importers.evalset_items(project, name)):
            raise InvalidInputError(f"Eval set '{name}' has no reference answers, so no loss can be measured on it.")


@access.requires("owner")
def start_eval(project: str, req: EvalRequest, launch_worker: bool = True):
    from lumina import jobs

    check_request(project, req)
    with connect() as con:
        run = store_training.get(con, req.run_id)
    return jobs.submit("eval", run.project_id, req.to_dict(), launch_worker=launch_worker)


def _spread(rows: list, n: int) -> list:
    """``n`` rows spread evenly over the list (deterministic, covers every node of a sorted split)."""
    if len(rows) <= n:
        return rows
    step = len(rows) / n
    return [rows[int(k * step)] for k in range(n)]


def _project_of(run) -> Any:
    from lumina.store import projects as store_projects

    with connect() as con:
        return next(p for p in store_projects.list_all(con) if p.id == run.project_id)


def run_eval_job(ctx) -> None:
    from lumina import datasets
    from lumina.io import importers
    from lumina.train import job as train_runs
    from lumina.evaluation import forgetting, generate_answers, loss_and_perplexity, pairwise
    from lumina.store import datasets as store_datasets
    from lumina.train.config import resolve_base_model

    job_id, worker, req = ctx.job_id, ctx.worker, ctx.params
    with connect() as con:
        run = store_training.get(con, req.run_id)
        version = next(v for v in store_datasets.list_all(con, run.project_id) if v.id == run.version_id)
    project = _project_of(run)
    tuned_path, adapter = train_runs.model_of(run)
    base_path = tuned_path if adapter else resolve_base_model(run.base_model)
    _, eval_rows = datasets.training_rows(project.name, version.name)
    if not eval_rows:
        raise InvalidInputError(f"Version {version.name} has no eval split (it was frozen with eval share 0); "
                                "freeze one with an eval share to evaluate on its own domain.")
    rows = _spread(eval_rows, req.max_items)
    steps = 2 + (2 if req.prompts else 0) + (1 if req.judge and req.prompts else 0) + 2 * len(req.evalsets)
    done = 0
    result: dict[str, Any] = {"run_id": run.id, "version": version.name, "base_model": run.base_model,
                              "eval_rows": len(rows), "max_new_tokens": req.max_new_tokens}

    def step(what: str) -> None:
        nonlocal done
        done += 1
        worker.log.info("eval %s/%s: %s", done, steps, what)
        with connect() as con:
            store_jobs.update(con, job_id, total=steps, done=done, result=result)
        worker.checkpoint()

    worker.checkpoint()
    domain = {"base": loss_and_perplexity(base_path, rows)}
    step("base loss on the eval split")
    domain["tuned"] = loss_and_perplexity(tuned_path, rows, adapter_dir=adapter)
    domain["improvement"] = _relative(domain["base"]["loss"], domain["tuned"]["loss"])
    result["domain"] = domain
    step("tuned loss on the eval split")

    if req.prompts:
        chosen = _spread(eval_rows, req.prompts)
        prompts = [[m for m in r["messages"][:_last_assistant(r["messages"])]] for r in chosen]
        base_gen = generate_answers(base_path, prompts, max_new_tokens=req.max_new_tokens)
        step("base answers")
        tuned_gen = generate_answers(tuned_path, prompts, adapter_dir=adapter, max_new_tokens=req.max_new_tokens)
        base_answers, tuned_answers = [a["text"] for a in base_gen], [b["text"] for b in tuned_gen]
        result["answers"] = [{"prompt": p[-1]["content"], "reference": r["messages"][_last_assistant(r["messages"])]["content"],
                              **_answer_fields("base", a), **_answer_fields("tuned", b)}
                             for p, r, a, b in zip(prompts, chosen, base_gen, tuned_gen)]
        step("tuned answers")
        if req.judge:
            from lumina.teachers.spec import build_teacher

            teacher = build_teacher(project.teacher)
            try:
                pr = pairwise(teacher, [p[-1]["content"] for p in prompts], base_answers, tuned_answers)
            finally:
                teacher.close()
            judged = asdict(pr)
            result["judge"] = {k: v for k, v in judged.items() if k != "items"} | {"teacher": project.teacher}
            for item, row in zip(judged["items"], result["answers"]):
                row["verdict"] = item["outcome"]
                row["judge_reasons"] = item["reasons"]
            step("pairwise judge")

    general = {}
    for name in req.evalsets:
        items = [i for i in importers.evalset_items(project.name, name) if i.get("answer")]
        grows = [{"messages": [*i["prompt"], {"role": "assistant", "content": i["answer"]}]} for i in _spread(items, req.max_items)]
        b = loss_and_perplexity(base_path, grows)
        step(f"base loss on {name}")
        t = loss_and_perplexity(tuned_path, grows, adapter_dir=adapter)
        general[name] = {"base": b, "tuned": t, "rows": len(grows),
                         "forgetting": forgetting(b, t, req.forgetting_threshold)}
        result["general"] = general
        step(f"tuned loss on {name}")
    result["warnings"] = [g["forgetting"]["warning"] for g in general.values() if g["forgetting"]["warning"]]
    with connect() as con:
        store_jobs.update(con, job_id, total=steps, done=steps, result=result)


def _answer_fields(who: str, gen: dict) -> dict[str, Any]:
    """``{who: text, who_tokens: n, who_finish: "stop" | "length"}`` for one stored answer row
    (results stored before the token count was recorded have the text alone)."""
    return {who: gen["text"], f"{who}_tokens": gen["tokens"], f"{who}_finish": gen["finish_reason"]}


def truncated(row: dict[str, Any], who: str, max_new_tokens: int | None = None) -> int | None:
    """The token limit an answer (``who`` = "base" or "tuned") was cut off at, or None when it
    ended by itself or the result predates the finish reason."""
    if row.get(f"{who}_finish") != "length":
        return None
    return row.get(f"{who}_tokens") or max_new_tokens


def _last_assistant(messages: list[dict[str, str]]) -> int:
    return max((k for k, m in enumerate(messages) if m["role"] == "assistant"), default=len(messages))


def _relative(base: float, tuned: float) -> float | None:
    """Relative loss reduction (positive = tuned is better)."""
    if not (math.isfinite(base) and math.isfinite(tuned)) or base == 0:
        return None
    return (base - tuned) / base


def _jobs_of(project: str, kind: str, run_id: int | None) -> list:
    from lumina import jobs
    from lumina.store import projects as store_projects

    with connect() as con:
        p = store_projects.get(con, project)
    out = [j for j in jobs.list_jobs(p.id, limit=500) if j.kind == kind]
    return [j for j in out if run_id is None or j.params.get("run_id") == run_id]


def evaluations(project: str, run_id: int | None = None) -> list:
    """Eval jobs of the project (newest first), optionally of one run."""
    return _jobs_of(project, "eval", run_id)


def playgrounds(project: str, run_id: int | None = None) -> list:
    """Playground jobs of the project (newest first), optionally of one run: the page shows the
    newest one's answers, so they outlive a reload."""
    return _jobs_of(project, "playground", run_id)


@access.requires("curator")
def playground(project: str, run_id: int, prompt: str, max_new_tokens: int = 200) -> tuple[str, str]:
    """One prompt, the base and the tuned student's answers (loads both; for the web page run it
    behind a spinner, it takes seconds on a CPU)."""
    base, tuned = playground_answers(project, run_id, prompt, max_new_tokens)
    return base["text"], tuned["text"]


@access.requires("curator")
def playground_answers(project: str, run_id: int, prompt: str, max_new_tokens: int = 200) -> tuple[dict, dict]:
    """``playground`` with how each answer ended (``metrics.generate_answers``)."""
    from lumina.train import job as train_runs
    from lumina.evaluation import generate_answers
    from lumina.train.config import resolve_base_model

    if not prompt.strip():
        raise InvalidInputError("Type a prompt first.")
    run = train_runs.get_run(project, run_id)
    tuned_path, adapter = train_runs.model_of(run)
    base_path = tuned_path if adapter else resolve_base_model(run.base_model)
    msgs = [[{"role": "user", "content": prompt}]]
    [base] = generate_answers(base_path, msgs, max_new_tokens=max_new_tokens)
    [tuned] = generate_answers(tuned_path, msgs, adapter_dir=adapter, max_new_tokens=max_new_tokens)
    return base, tuned


def run_playground_job(ctx) -> None:
    """Job handler: the playground's two answers, loaded in a worker (never in the web server,
    which must stay responsive and should not hold a model's memory)."""
    job_id, p, project = ctx.job_id, ctx.params, ctx.project
    limit = p.get("max_new_tokens", 200)
    base, tuned = playground_answers(project.name, p["run_id"], p["prompt"], limit)
    with connect() as con:
        store_jobs.update(con, job_id, total=1, done=1, result={
            "prompt": p["prompt"], "run_id": p["run_id"], "max_new_tokens": limit,
            **_answer_fields("base", base), **_answer_fields("tuned", tuned)})


@access.requires("curator")
def start_playground(project: str, run_id: int, prompt: str, max_new_tokens: int = 200):
    from lumina import jobs
    from lumina.train import job as train_runs

    if not prompt.strip():
        raise InvalidInputError("Type a prompt first.")
    run = train_runs.get_run(project, run_id)
    train_runs.model_of(run, prepare=False)
    return jobs.submit("playground", run.project_id, {"run_id": run_id, "prompt": prompt,
                                                      "max_new_tokens": max_new_tokens})
