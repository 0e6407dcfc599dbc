"""Training runs of a project: check and launch (one click or one command), the background job
that drives the training process, and the run list with live metrics.

    start_training() -> checks every setting first (no process starts on a bad one), writes the
                        run folder (request.json, the version's train/eval rows), submits a
                        ``train`` job
    run_train_job()  -> the job: runs ``python -m lumina.train RUN_DIR`` (``accelerate launch``
                        on several GPUs) as a child process, copies its progress into the job and
                        the run row, forwards a cancel as SIGTERM (the trainer checkpoints first)
    resume           -> ``jobs.resume``: the same command on the same folder continues from the
                        newest checkpoint

The run folder holds the exact config, metrics.jsonl, checkpoints/, adapter/ (or model/),
optional merged/, environment.json (library versions, device, dataset hash) and result.json.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from lumina import access
from lumina.config import settings
from lumina.errors import InvalidInputError, NotFoundError
from lumina.store import connect, transaction
from lumina.store import datasets as store_datasets
from lumina.store import jobs as store_jobs
from lumina.store import projects as store_projects
from lumina.store import training as store_training
from lumina.store.training import TrainingRun


@dataclass
class TrainPlan:
    """What a launch would do, shown before it starts."""

    version: str
    train_rows: int
    eval_rows: int
    mean_tokens: float
    estimate: dict[str, Any]
    warnings: list[str]
    device: dict[str, Any]


def _config(config):
    from lumina.train.config import TrainConfig

    return config if isinstance(config, TrainConfig) else TrainConfig.from_dict(dict(config or {}))


def plan_training(project: str, version: str, config,
                  progress: Callable[[str], None] | None = None) -> TrainPlan:
    """Validate a run without starting it: settings, base model, data, memory, time. With
    ``progress``, an unprepared bundled student is prepared first (it takes a minute)."""
    from lumina import datasets
    from lumina.models.device import detect
    from lumina.train.config import validate
    from lumina.train.estimate import estimate
    from lumina.train.runner import approx_tokens_per_row

    cfg = _config(config)
    train_rows, eval_rows = datasets.training_rows(project, version)
    device = detect()
    mean = approx_tokens_per_row(train_rows) if train_rows else 0.0
    warnings = validate(cfg, len(train_rows), device, mean_tokens_per_row=mean or None, progress=progress)
    est = estimate(cfg, len(train_rows), mean or cfg.max_length, device)
    return TrainPlan(version, len(train_rows), len(eval_rows), mean, est.to_dict(), warnings, device.to_dict())


@access.requires("owner")
def start_training(project: str, version: str, config, launch_worker: bool = True) -> tuple[TrainingRun, Any]:
    """Check everything, write the run folder, submit the ``train`` job; returns (run, job)."""
    from lumina import datasets, jobs

    cfg = _config(config)
    plan = plan_training(project, version, cfg)  # raises on any bad setting, before a process starts
    v = datasets.get_version(project, version)
    train_rows, eval_rows = datasets.training_rows(project, version)
    with connect() as con:
        p = store_projects.get(con, project)
        with transaction(con):
            run_id = store_training.create(con, p.id, v.id, cfg.base_model, cfg.method, cfg.to_dict(), plan.device)
            run_dir = settings().runs_dir / f"run-{run_id}"
            store_training.update(con, run_id, run_dir=str(run_dir))
    data = run_dir / "data"
    data.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train", train_rows), ("eval", eval_rows)):
        with (data / f"{name}.jsonl").open("w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    (run_dir / "request.json").write_text(json.dumps({
        "config": cfg.to_dict(), "project": project, "version": version, "version_hash": v.content_hash,
        "plan": {"estimate": plan.estimate, "warnings": plan.warnings}}, indent=2), encoding="utf-8")
    job = jobs.submit("train", p.id, {"run_id": run_id, "version": version}, launch_worker=launch_worker)
    with connect() as con:
        store_training.update(con, run_id, job_id=job.id)
        return store_training.get(con, run_id), job


def _finish_error(run_dir: Path) -> str | None:
    f = run_dir / "error.json"
    if f.exists():
        try:
            return json.loads(f.read_text(encoding="utf-8")).get("error")
        except (json.JSONDecodeError, AttributeError):
            return f.read_text(encoding="utf-8")[:500]
    return None


def run_train_job(ctx) -> None:
    """Job handler: run the training process for the job's run, mirror its progress."""
    from lumina.models.device import detect
    from lumina.errors import TrainingError
    from lumina.jobs.worker import Cancelled
    from lumina.train.launch_cmd import command

    job_id, worker = ctx.job_id, ctx.worker
    with connect() as con:
        run = store_training.get(con, ctx.params["run_id"])
        store_training.update(con, run.id, status="running")
    run_dir = Path(run.run_dir)
    total = int(json.loads((run_dir / "request.json").read_text())["plan"]["estimate"].get("steps") or 0)
    cmd = command(run_dir, detect())
    try:
        worker.checkpoint()  # a cancel that came while the worker started: stop before loading anything
    except Cancelled:
        with connect() as con:
            store_training.update(con, run.id, status="cancelled")
        raise
    worker.log.info("training: %s", " ".join(cmd))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=None, text=True, bufsize=1,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    latest: dict[str, Any] = {}
    result: dict[str, Any] = {}

    def read() -> None:
        for line in proc.stdout:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                worker.log.info(line.rstrip())
                continue
            if "result" in obj:
                result.update(obj["result"])
            else:
                latest.update(obj)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    started = time.monotonic()
    try:
        while proc.poll() is None:
            time.sleep(2.0)
            _mirror(job_id, run.id, latest, total)
            worker.checkpoint()  # raises Cancelled when asked to stop
    except Cancelled:
        worker.log.info("cancel: asking the trainer to save a checkpoint and stop")
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
        reader.join(5)
        _mirror(job_id, run.id, latest, total)
        with connect() as con:
            store_training.update(con, run.id, status="cancelled")
        raise
    reader.join(10)
    _mirror(job_id, run.id, latest, total)
    if proc.returncode != 0 or not result:
        why = _finish_error(run_dir) or f"the training process exited with status {proc.returncode}"
        with connect() as con:
            store_training.update(con, run.id, status="failed")
        raise TrainingError(f"Training failed: {why}")
    status = result.get("status", "done")
    with connect() as con:
        summary = {**_summary(latest), **{k: result.get(k) for k in (
            "steps", "train_loss_first", "train_loss_last", "final_eval_loss", "adapter_dir", "merged_dir",
            "seconds", "tokens_per_s", "resumed_from_step")}}
        store_training.update(con, run.id, status=status, metrics=summary)
        store_jobs.update(con, job_id, result={"run_id": run.id, **summary},
                          total=max(total, int(result.get("steps") or 0)), done=int(result.get("steps") or 0),
                          busy_s=time.monotonic() - started)
    if status == "cancelled":
        raise Cancelled("the trainer stopped early")


def _summary(latest: dict[str, Any]) -> dict[str, Any]:
    return {k: latest.get(k) for k in ("step", "epoch", "loss", "learning_rate", "tokens_per_s", "eta_s",
                                       "eval_loss") if latest.get(k) is not None}


def _mirror(job_id: int, run_id: int, latest: dict[str, Any], total: int) -> None:
    if not latest:
        return
    with connect() as con:
        step = int(latest.get("step") or 0)
        store_jobs.update(con, job_id, done=step, total=max(total, step))
        store_training.update(con, run_id, metrics=_summary(latest))


# --- reading runs -----------------------------------------------------------------------------

def _settle(con, runs: list[TrainingRun]) -> list[TrainingRun]:
    """A run whose job ended without saying (a killed worker is marked interrupted by
    ``jobs.recover``) takes its job's status."""
    for r in runs:
        if r.status in ("queued", "running") and r.job_id:
            job = store_jobs.get(con, r.job_id)
            if job.status not in store_jobs.ACTIVE:
                r.status = job.status
    return runs


def list_runs(project: str) -> list[TrainingRun]:
    from lumina import jobs

    jobs.recover()
    with connect() as con:
        p = store_projects.get(con, project)
        runs = _settle(con, store_training.list_for(con, p.id))
        names = {v.id: v.name for v in store_datasets.list_all(con, p.id)}
    for r in runs:
        r.config["_version"] = names.get(r.version_id)
    return runs


def get_run(project: str, run_id: int) -> TrainingRun:
    with connect() as con:
        p = store_projects.get(con, project)
        run = store_training.get(con, run_id)
        if run is None or run.project_id != p.id:
            raise NotFoundError(f"No training run {run_id} in '{project}' (see `lumina runs list {project}`).")
        return _settle(con, [run])[0]


def history(run: TrainingRun) -> list[dict[str, Any]]:
    """The run's logged steps (from metrics.jsonl: readable while it trains, no database lock)."""
    from lumina.train.runner import read_metrics

    return read_metrics(Path(run.run_dir)) if run.run_dir else []


def artefacts(run: TrainingRun) -> dict[str, str]:
    """Which artefacts exist in the run folder."""
    if not run.run_dir:
        return {}
    d = Path(run.run_dir)
    names = ("adapter", "model", "merged", "checkpoints", "config.json", "metrics.jsonl", "environment.json",
             "result.json", "error.json")
    return {n: str(d / n) for n in names if (d / n).exists()}


def model_of(run: TrainingRun, prepare: bool = True) -> tuple[str, str | None]:
    """(base model path, adapter folder or None) to load the tuned student: an adapter run loads
    the base plus adapter/; a full fine-tune loads model/ alone. ``prepare=False`` only checks
    (the bundled base is converted on first use, which takes a while: workers do that)."""
    from lumina.train.config import resolve_base_model

    d = Path(run.run_dir or "")
    if (d / "adapter").is_dir():
        base = resolve_base_model(run.base_model)
        from lumina import models

        if prepare and run.base_model.strip().lower() == models.SMOLLM2:
            base = str(models.prepare_smollm2())
        return base, str(d / "adapter")
    if (d / "model").is_dir():
        return str(d / "model"), None
    raise InvalidInputError(f"Run {run.id} has no trained weights yet (status {run.status}); "
                            "finish or resume it first.")


# --- downloading the weights ------------------------------------------------------------------

DOWNLOAD_LIMIT = 500 * 1024 ** 2  # a browser download is built in the web server's memory


def weights_folder(run: TrainingRun) -> Path | None:
    """The folder a user takes away: adapter/ (LoRA, QLoRA) or model/ (a full fine-tune)."""
    d = Path(run.run_dir or "")
    return next((d / n for n in ("adapter", "model") if run.run_dir and (d / n).is_dir()), None)


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def weights_zip(run: TrainingRun, limit: int = DOWNLOAD_LIMIT) -> bytes:
    """The run's adapter (or model) folder as a zip, refused above ``limit`` bytes: copy a bigger
    one from the server's run folder instead."""
    from lumina.datasets.export import zip_folder

    folder = weights_folder(run)
    if folder is None:
        raise InvalidInputError(f"Run {run.id} has no trained weights yet (status {run.status}).")
    size = folder_bytes(folder)
    if size > limit:
        raise InvalidInputError(f"{folder.name}/ of run {run.id} is {size / 1024 ** 2:,.0f} MB, over the "
                                f"{limit / 1024 ** 2:,.0f} MB download limit; copy it from {folder} instead.")
    return zip_folder(folder)
