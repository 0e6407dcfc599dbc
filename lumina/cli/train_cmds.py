"""lumina train | eval | playground, and lumina runs list | show"""

from __future__ import annotations

from typing import List, Optional

import typer

from lumina.cli.common import echo_json, err, job_line, option_from, progress
# the eval settings model gives the flags their defaults and help
from lumina.evaluation.request import EvalRequest

runs_app = typer.Typer(help="Training runs: list, show.", no_args_is_help=True)


def train(
    project: str = typer.Argument(...),
    version: str = typer.Argument(..., help="a frozen dataset version"),
    preset: Optional[str] = typer.Option(None, help="'quick check' or 'standard'"),
    base: Optional[str] = typer.Option(None, "--base", help="base student: bundled alias, local path or hub id "
                                       "(default: the project's student)"),
    method: Optional[str] = typer.Option(None, help="lora|qlora|full"),
    lora_r: Optional[int] = typer.Option(None, "--lora-r"),
    lora_alpha: Optional[int] = typer.Option(None, "--lora-alpha"),
    lr: Optional[float] = typer.Option(None, "--lr", help="learning rate"),
    epochs: Optional[float] = typer.Option(None),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="> 0 overrides epochs"),
    batch_size: Optional[int] = typer.Option(None, "--batch-size"),
    grad_accum: Optional[int] = typer.Option(None, "--grad-accum"),
    max_length: Optional[int] = typer.Option(None, "--max-length"),
    save_steps: Optional[int] = typer.Option(None, "--save-steps"),
    packing: Optional[bool] = typer.Option(None, "--packing/--no-packing"),
    merge: Optional[bool] = typer.Option(None, "--merge/--no-merge", help="also save base+adapter as one model"),
    seed: Optional[int] = typer.Option(None),
    dry_run: bool = typer.Option(False, "--dry-run", help="check and estimate only"),
    wait: bool = typer.Option(False, "--wait", help="wait for the run to finish"),
    json_out: bool = typer.Option(False, "--json", help="wait, then print one JSON object"),
) -> int:
    """Fine-tune the student on a dataset version (TRL SFTTrainer + PEFT) in the background."""
    from lumina import jobs
    from lumina.train import job as train_runs
    from lumina.projects import get as get_project
    from lumina.train.config import PRESETS, TrainConfig

    values = {k: v for k, v in dict(
        method=method, lora_r=lora_r, lora_alpha=lora_alpha, learning_rate=lr, epochs=epochs, max_steps=max_steps,
        batch_size=batch_size, grad_accum=grad_accum, max_length=max_length, save_steps=save_steps,
        packing=packing, merge=merge, seed=seed).items() if v is not None}
    values["base_model"] = base or get_project(project).student
    if preset:
        from lumina.errors import InvalidInputError

        if preset not in PRESETS:
            raise InvalidInputError(f"Unknown preset '{preset}' (known: {', '.join(PRESETS)}).")
        values = {**PRESETS[preset], **values}
    cfg = TrainConfig.from_dict(values)
    plan = train_runs.plan_training(project, version, cfg, progress=progress)
    for w in plan.warnings:
        err(f"warning: {w}")
    est = plan.estimate
    if dry_run:
        out = {"version": version, "train_rows": plan.train_rows, "eval_rows": plan.eval_rows,
               "estimate": est, "warnings": plan.warnings, "device": plan.device, "config": cfg.to_dict()}
        echo_json(out) if json_out else typer.echo(
            f"{plan.train_rows} train rows, {est['steps']} steps, ~{est['seconds'] / 60:.1f} min, "
            f"~{est['memory_gb']:.1f} GB on {plan.device['kind']} (estimate)")
        return 0
    run, job = train_runs.start_training(project, version, cfg)
    if not (wait or json_out):
        typer.echo(f"run {run.id} started as job {job.id}; follow it with `lumina jobs show {job.id}`")
        return 0
    final = jobs.wait(job.id, on_update=lambda j: err(job_line(j)))
    run = train_runs.get_run(project, run.id)
    if json_out:
        echo_json({"status": final.status, "run_id": run.id, "job_id": job.id, "error": final.error,
                   "metrics": run.metrics, "run_dir": run.run_dir, "artefacts": train_runs.artefacts(run)})
    else:
        typer.echo(f"run {run.id}: {final.status}; " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                                           for k, v in run.metrics.items() if k != "adapter_dir"))
        if final.error:
            err(f"error: {final.error}")
    return 0 if final.status == "done" else 1


def eval_(
    project: str = typer.Argument(...),
    run_id: int = typer.Argument(..., help="training run id (see `lumina runs list`)"),
    evalset: List[str] = typer.Option([], "--evalset", help="general eval set for the forgetting check (repeatable)"),
    judge: bool = option_from(EvalRequest, "judge", "--judge/--no-judge"),
    prompts: int = option_from(EvalRequest, "prompts", "--prompts"),
    max_new_tokens: int = option_from(EvalRequest, "max_new_tokens", "--max-new-tokens"),
    max_items: int = option_from(EvalRequest, "max_items", "--max-items"),
    threshold: float = option_from(EvalRequest, "forgetting_threshold", "--threshold"),
    wait: bool = typer.Option(False, "--wait"),
    json_out: bool = typer.Option(False, "--json", help="wait, then print one JSON object"),
) -> int:
    """Base vs tuned: loss and perplexity, answers, a pairwise judge, and forgetting on general sets."""
    from lumina.evaluation import jobs as eval_runs
    from lumina import jobs

    req = eval_runs.EvalRequest(run_id, list(evalset), judge, prompts, max_new_tokens, max_items, threshold)
    job = eval_runs.start_eval(project, req)
    if not (wait or json_out):
        typer.echo(f"evaluation started as job {job.id}; follow it with `lumina jobs show {job.id}`")
        return 0
    final = jobs.wait(job.id, on_update=lambda j: err(job_line(j)))
    res = final.result or {}
    if json_out:
        out = {"status": final.status, "job_id": job.id, "run_id": run_id, "error": final.error,
               **{k: v for k, v in res.items() if k != "answers"}}
        echo_json(out)
    else:
        d = res.get("domain") or {}
        if d:
            typer.echo(f"own domain: loss {d['base']['loss']:.4f} -> {d['tuned']['loss']:.4f}, "
                       f"perplexity {d['base']['perplexity']:.2f} -> {d['tuned']['perplexity']:.2f}")
        j = res.get("judge")
        if j and j.get("win_rate") is not None:
            typer.echo(f"judge: {j['wins']} wins, {j['ties']} ties, {j['losses']} losses, {j['failed']} failed; "
                       f"win rate {j['win_rate']:.2f} (95% CI {j['ci_low']:.2f}-{j['ci_high']:.2f})")
        for name, g in (res.get("general") or {}).items():
            typer.echo(f"{name}: loss {g['base']['loss']:.4f} -> {g['tuned']['loss']:.4f}")
        for w in res.get("warnings") or []:
            err(f"warning: {w}")
        if final.error:
            err(f"error: {final.error}")
    return 0 if final.status == "done" else 1


def playground(project: str = typer.Argument(...), run_id: int = typer.Argument(...),
               prompt: str = typer.Argument(...), max_new_tokens: int = typer.Option(200, "--max-new-tokens"),
               json_out: bool = typer.Option(False, "--json")) -> None:
    """One prompt: the base and the tuned student's answers side by side."""
    from lumina.evaluation.jobs import playground as play

    base, tuned = play(project, run_id, prompt, max_new_tokens)
    if json_out:
        echo_json({"prompt": prompt, "base": base, "tuned": tuned})
    else:
        typer.echo(f"--- base ---\n{base}\n--- tuned ---\n{tuned}")


@runs_app.command("list")
def list_(project: str = typer.Argument(...), json_out: bool = typer.Option(False, "--json")) -> None:
    """The project's training runs, newest first."""
    from lumina.train.job import list_runs

    for r in list_runs(project):
        if json_out:
            echo_json(r.to_json())
        else:
            m = r.metrics
            loss = f"loss {m['train_loss_first']:.3f}->{m['train_loss_last']:.3f}" if m.get("train_loss_last") else \
                (f"loss {m['loss']:.3f}" if m.get("loss") else "")
            typer.echo(f"run {r.id:4} {r.status:10} {r.config.get('_version') or '?':12} {r.method:5} "
                       f"{r.base_model[:30]:30} step {m.get('steps') or m.get('step') or 0} {loss}")


@runs_app.command("show")
def show(project: str = typer.Argument(...), run_id: int = typer.Argument(...),
         json_out: bool = typer.Option(False, "--json")) -> None:
    """One run: config, metrics, artefacts."""
    from lumina.train.job import artefacts, get_run, history

    r = get_run(project, run_id)
    d = r.to_json() | {"artefacts": artefacts(r), "history": history(r)}
    if json_out:
        echo_json(d)
        return
    typer.echo(f"run {r.id} [{r.status}] {r.method} on {r.base_model}; folder {r.run_dir}")
    typer.echo(f"config: {r.config}")
    typer.echo(f"metrics: {r.metrics}")
    for name, path in artefacts(r).items():
        typer.echo(f"  {name}: {path}")
