"""The worker process body: ``python -m lumina.jobs run ID``."""

from __future__ import annotations

import logging
import os
import signal
import sys
import traceback

from lumina.errors import LuminaError
from lumina.store import connect
from lumina.store import jobs as store_jobs

log = logging.getLogger("lumina.worker")


class Cancelled(Exception):
    """Raised inside the job when cancellation was requested (flag or SIGTERM)."""


class Worker:
    """Handed to job handlers: heartbeat, cancellation check, logging."""

    def __init__(self, job_id: int):
        self.job_id = job_id
        self.log = log

    def checkpoint(self) -> None:
        """Call between batches: beats the heartbeat and raises Cancelled when asked to stop."""
        with connect() as con:
            if store_jobs.heartbeat(con, self.job_id):
                raise Cancelled("cancel requested")


def _on_sigterm(signum, frame):  # noqa: ARG001
    raise Cancelled("terminated by signal")


def run(job_id: int) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    import psutil

    _quiet_progress_bars()
    me = psutil.Process()
    with connect() as con:
        job = store_jobs.get(con, job_id)
        if job.status not in ("queued",):
            log.error("job %s is %s, not queued; refusing to run it", job_id, job.status)
            return 2
        store_jobs.mark_started(con, job_id, os.getpid(), me.create_time())
    signal.signal(signal.SIGTERM, _on_sigterm)
    from lumina.jobs.kinds import KINDS, context_for

    log.info("job %s (%s) started in pid %s", job_id, job.kind, os.getpid())
    try:
        handler = KINDS.get(job.kind).load_handler()
        handler(context_for(job, Worker(job_id)))
    except Cancelled as exc:
        log.warning("job %s cancelled: %s", job_id, exc)
        _finish(job_id, "cancelled", str(exc))
        return 1
    except LuminaError as exc:
        log.error("job %s failed: %s", job_id, exc)
        _finish(job_id, "failed", str(exc))
        return 1
    except BaseException as exc:  # a bug: keep the traceback in the log, a summary in the row
        log.error("job %s crashed:\n%s", job_id, traceback.format_exc())
        _finish(job_id, "failed", f"{type(exc).__name__}: {exc}"[:500])
        return 1
    _finish(job_id, "done", None)
    job = _get(job_id)
    log.info("job %s finished: %s done, %s failed of %s", job_id, job.done, job.failed, job.total)
    return 0


def _quiet_progress_bars() -> None:
    """tqdm bars are noise in a log file read through a tail; progress lives in the jobs row."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:
        pass


def _get(job_id: int):
    with connect() as con:
        return store_jobs.get(con, job_id)


def _finish(job_id: int, status: str, error: str | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with connect() as con:
        if store_jobs.item_count(con, job_id):  # jobs without items keep the counts they set
            store_jobs.refresh_counts(con, job_id)
        store_jobs.finish(con, job_id, status, error)
