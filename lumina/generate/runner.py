"""The shared generation loop: plan once, then batch → teacher → one transaction per batch.

Resumability comes from the items: each has a stable key and is marked done in the same
transaction that writes its sample, so a killed worker never loses a written sample and a
resumed one never writes an item twice. Teacher calls made before the kill come from the cache.
"""

from __future__ import annotations

import time

from lumina.projects import samples as sample_service
from lumina.generate import get_mode
from lumina.generate.base import ModeContext
from lumina.generate.params import GenerateParams
from lumina.store import connect, transaction
from lumina.store import jobs as store_jobs
from lumina.store import projects as store_projects
from lumina.teachers import build_teacher
from lumina.teachers import options
from lumina.teachers.cached import CachedTeacher


def run_generation_job(job) -> None:
    """The `generate` job's handler (``lumina.jobs.kinds.generate``); ``job`` is the JobContext."""
    job_id, worker, project, params = job.job_id, job.worker, job.project, job.params
    log = worker.log
    with connect() as con:
        nodes = store_projects.nodes(con, project.id)
        planned = store_jobs.item_count(con, job_id)
    mode = get_mode(params.mode)

    if not planned:
        items = mode.plan(project, params, nodes)
        with connect() as con, transaction(con):
            if not store_jobs.item_count(con, job_id):  # a concurrent resume may have planned
                store_jobs.add_items(con, job_id, items)
        log.info("planned %d items (mode %s)", len(items), params.mode)

    teachers = _build_teachers(project.teacher, params, log, project.settings)
    ctx = ModeContext(project=project, params=params, instruction_teacher=teachers["instruction"],
                      answer_teacher=teachers["answer"], job_id=job_id)
    try:
        while True:
            worker.checkpoint()
            with connect() as con:
                batch = store_jobs.pending_items(con, job_id, params.batch_size)
            if not batch:
                break
            before = _totals(teachers)
            t0 = time.monotonic()
            outcomes = mode.run_batch(ctx, batch)
            tokens, busy = (a - b for a, b in zip(_totals(teachers), before))
            good = [o for o in outcomes if o.sample is not None]
            bad = [o for o in outcomes if o.sample is None]
            ok = len(good)
            # Scored before the transaction: the database is held only while rows are written.
            prepared = sample_service.prepare_many([o.sample for o in good], [o.finish_reason for o in good],
                                                   [o.flags for o in good])
            with connect() as con, transaction(con):
                ids = sample_service.write_many(con, project.id, prepared)
                store_jobs.complete_items(con, job_id, [(o.key, sid) for o, sid in zip(good, ids)])
                store_jobs.fail_items(con, job_id, [(o.key, o.error or "unknown error", o.raw) for o in bad])
                store_jobs.refresh_counts(con, job_id, tokens=int(tokens), busy_s=float(busy))
                job = store_jobs.get(con, job_id)
            rate = tokens / busy if busy > 0 else 0.0
            log.info("batch of %d: %d ok, %d failed in %.1f s (%.0f tok/s) — %d/%d done, %d failed",
                     len(batch), ok, len(batch) - ok, time.monotonic() - t0, rate,
                     job.done, job.total, job.failed)
    finally:
        for t in {id(t): t for t in teachers.values()}.values():
            t.close()


def _build_teachers(project_teacher: str, params: GenerateParams, log,
                    settings: dict | None = None) -> dict[str, CachedTeacher]:
    specs = {"instruction": params.instruction_teacher or project_teacher,
             "answer": params.answer_teacher or project_teacher}
    built: dict[str, CachedTeacher] = {}
    out = {}
    for step, spec in specs.items():
        if spec not in built:  # one engine when both steps use the same teacher
            log.info("loading teacher %s", spec)
            built[spec] = CachedTeacher(build_teacher(spec, **options.for_spec(spec, settings)), identity=spec)
        out[step] = built[spec]
    return out


def _totals(teachers: dict[str, CachedTeacher]) -> tuple[int, float]:
    uniq = {id(t): t for t in teachers.values()}.values()
    return (sum(t.stats.completion_tokens for t in uniq), sum(t.stats.busy_s for t in uniq))
