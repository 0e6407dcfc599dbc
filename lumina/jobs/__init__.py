"""Background jobs: every long step runs in its own worker process, never in the web server.

    submit()  -> a ``jobs`` row, then a worker ``python -m lumina.jobs run ID`` in its own session
    cancel()  -> a flag the worker checks between batches; SIGTERM to its process group as fallback
    resume()  -> relaunch an interrupted/cancelled/failed job: finished items are kept, teacher
                 calls already made come from the cache
    recover() -> jobs whose worker died (SIGKILL, reboot) are marked ``interrupted``

A worker is identified by pid *and* process start time, so a recycled pid is never mistaken for
a live worker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any, Callable

from lumina.config import settings
from lumina.errors import InvalidInputError, PermissionDeniedError
from lumina.jobs.kinds import KINDS, JobContext, JobKind, kind_of  # noqa: F401 - the package's API
from lumina.records import Job
from lumina.store import connect, transaction
from lumina.store import jobs as store_jobs

RESUMABLE = ("interrupted", "cancelled", "failed")

_children: list[subprocess.Popen] = []  # reaped on each call, so no zombies pile up in the server


def _reap() -> None:
    for p in list(_children):
        if p.poll() is not None:
            _children.remove(p)


def is_alive(job: Job) -> bool:
    if not job.pid:
        return False
    import psutil

    try:
        proc = psutil.Process(job.pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return job.pid_started is None or abs(proc.create_time() - job.pid_started) < 1.0
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def submit(kind: str, project_id: int | None, params: dict[str, Any], launch_worker: bool = True) -> Job:
    params = KINDS.get(kind).check_params(params)
    with connect() as con:
        job = store_jobs.create(con, kind, project_id, params)
    if launch_worker:
        launch(job.id)
    return job


def log_path(job_id: int):
    return settings().jobs_dir / f"job-{job_id}.log"


def launch(job_id: int) -> int:
    """Start the worker process for a queued job; return its pid."""
    _reap()
    cfg = settings()
    cfg.jobs_dir.mkdir(parents=True, exist_ok=True)
    path = log_path(job_id)
    env = dict(os.environ, LUMINA_HOME=str(cfg.home), PYTHONUNBUFFERED="1")
    with open(path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lumina.jobs", "run", str(job_id)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # survives the server/CLI that started it; own process group
            env=env,
        )
    _children.append(proc)
    import psutil

    try:
        started = psutil.Process(proc.pid).create_time()
    except psutil.NoSuchProcess:
        started = None
    with connect() as con:
        store_jobs.update(con, job_id, pid=proc.pid, pid_started=started, log_path=str(path))
    return proc.pid


def get(job_id: int) -> Job:
    with connect() as con:
        return store_jobs.get(con, job_id)


def recover() -> list[int]:
    """Mark jobs whose worker is gone as interrupted; return their ids."""
    _reap()
    with connect() as con:
        active = store_jobs.active(con)
    lost = []
    for job in active:
        if is_alive(job):
            continue
        age = time.time() - job.created_at.timestamp() if job.created_at else 1e9
        if job.status == "queued" and age < 30 and job.pid is None:
            continue  # being launched right now
        lost.append(job)
    if lost:
        with connect() as con, transaction(con):
            for job in lost:
                # Re-check inside the transaction: the worker may have finished meanwhile.
                fresh = store_jobs.get(con, job.id)
                if fresh.status in store_jobs.ACTIVE and not is_alive(fresh):
                    store_jobs.finish(con, job.id, "interrupted",
                                      f"worker process {job.pid} ended without finishing (killed or machine restarted)")
    return [j.id for j in lost]


def list_jobs(project_id: int | None = None, limit: int = 100) -> list[Job]:
    recover()
    with connect() as con:
        return store_jobs.list_jobs(con, project_id, limit)


def _require_control(job: Job, verb: str) -> None:
    from lumina import access

    if access.current().trusted or (job.kind == "probe" and job.project_id is None):
        return
    if job.project_id is None:
        raise PermissionDeniedError(f"Job {job.id} belongs to no project; only the command line can {verb} it.")
    # a kind's control role: curators stop and restart their own kinds, owners the ones that
    # spend teacher or GPU time
    access.require(job.project_id, kind_of(job).control_role, f"{verb} a {job.kind} job")


def cancel(job_id: int, grace_s: float | None = None, wait: bool = True) -> Job:
    """Ask the worker to stop after its current batch; SIGTERM its group if it doesn't."""
    _require_control(get(job_id), "cancel")
    with connect() as con:
        job = store_jobs.get(con, job_id)
        if job.finished or job.status == "interrupted":
            return job
        store_jobs.update(con, job_id, cancel_requested=True)
    if not is_alive(job):
        with connect() as con:
            store_jobs.finish(con, job_id, "cancelled", "cancelled before the worker ran")
        return get(job_id)
    if not wait:
        return get(job_id)
    # a kind's grace: the trainer saves a checkpoint before it stops, never kill it mid-save
    grace_s = max(15.0 if grace_s is None else grace_s, kind_of(job).cancel_grace_s or 0.0)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        job = get(job_id)
        if not is_alive(job):  # the process itself has exited, not merely flipped its status
            break
        time.sleep(0.5)
    else:
        _signal_group(job, signal.SIGTERM)
        for _ in range(20):
            if not is_alive(job):
                break
            time.sleep(0.5)
        else:
            _signal_group(job, signal.SIGKILL)
    job = get(job_id)
    if job.status in store_jobs.ACTIVE:
        with connect() as con:
            store_jobs.finish(con, job_id, "cancelled", "stopped by signal")
    return get(job_id)


def _signal_group(job: Job, sig: int) -> None:
    if not job.pid or not is_alive(job):
        return
    try:
        os.killpg(os.getpgid(job.pid), sig)
    except (ProcessLookupError, PermissionError):
        pass


def resume(job_id: int, retry_failed: bool = False) -> Job:
    recover()
    _require_control(get(job_id), "resume")
    with connect() as con:
        job = store_jobs.get(con, job_id)
        if job.status in store_jobs.ACTIVE:
            raise InvalidInputError(f"Job {job_id} is {job.status}; nothing to resume.")
        if job.status == "done" and not (retry_failed and job.failed):
            raise InvalidInputError(f"Job {job_id} is done; use retry to rerun its {job.failed} failed items." if job.failed
                                    else f"Job {job_id} is already done.")
        with transaction(con):
            if retry_failed:
                store_jobs.retry_failed(con, job_id)
            store_jobs.update(con, job_id, status="queued", cancel_requested=False, error=None,
                              finished_at=None)
    launch(job_id)
    return get(job_id)


def wait(job_id: int, on_update: Callable[[Job], None] | None = None, poll_s: float = 1.0,
         timeout_s: float | None = None) -> Job:
    """Block until the job leaves queued/running (or its worker dies)."""
    deadline = time.monotonic() + timeout_s if timeout_s else None
    last: tuple | None = None
    while True:
        job = get(job_id)
        state = (job.status, job.done, job.failed, job.total)
        if on_update and state != last:
            on_update(job)
            last = state
        if job.status not in store_jobs.ACTIVE:
            return job
        if not is_alive(job) and job.pid is not None:
            recover()
            return get(job_id)
        if deadline and time.monotonic() > deadline:
            return job
        time.sleep(poll_s)


def failures(job_id: int, limit: int = 1000):
    with connect() as con:
        return store_jobs.failed_items(con, job_id, limit)


def log_tail(job: Job, lines: int = 40) -> str:
    if not job.log_path or not os.path.exists(job.log_path):
        return ""
    with open(job.log_path, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - 64_000))
        text = f.read().decode("utf-8", errors="replace")
    # tqdm writes carriage returns; keep the last state of each line.
    rows = [r.split("\r")[-1] for r in text.splitlines()]
    return "\n".join(rows[-lines:])


def outcome(job: Job) -> str:
    """A one-phrase verdict that never hides failures."""
    if job.status == "done" and job.failed:
        return f"finished with {job.failed} of {job.total} items failed"
    if job.status == "done":
        return "finished"
    return job.status


def describe(job: Job) -> str:
    """What the job does, in a phrase, from its kind's declaration."""
    kind = kind_of(job)
    return kind.describe(job) if kind.describe else job.kind


def progress_unit(job: Job) -> str:
    """What the job's done / total count: "samples", "steps" or "items"."""
    kind = kind_of(job)
    return kind.unit(job) if kind.unit else "items"


def uses_teacher(job: Job) -> bool:
    kind = kind_of(job)
    return bool(kind.uses_teacher and kind.uses_teacher(job))
