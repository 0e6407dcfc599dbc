"""Test a teacher: one short answer, its latency and speed.

Remote (openai) teachers are probed in the calling process; local ones (transformers, vLLM)
load a model, so callers in the web server run the probe as a ``probe`` job instead (vLLM must
never start inside a Streamlit script run).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from lumina.errors import TeacherError
from lumina.teachers.base import ChatRequest, GenParams
from lumina.teachers.spec import backend_of, build_teacher

PROMPT = "In one short sentence, what is a rainbow?"


@dataclass
class ProbeResult:
    spec: str
    text: str
    latency_s: float  # the call itself, model already loaded
    load_s: float  # loading the model (0 for a remote teacher)
    completion_tokens: int

    @property
    def tokens_per_s(self) -> float | None:
        return self.completion_tokens / self.latency_s if self.latency_s > 0 else None

    def to_dict(self) -> dict:
        return {**asdict(self), "tokens_per_s": self.tokens_per_s}


def runs_in_process(spec: str) -> bool:
    return backend_of(spec).remote


def probe(spec: str, max_tokens: int = 32) -> ProbeResult:
    teacher = build_teacher(spec)
    try:
        t0 = time.monotonic()
        if hasattr(teacher, "load"):
            teacher.load()
        load_s = time.monotonic() - t0
        t1 = time.monotonic()
        [c] = teacher.chat([ChatRequest([{"role": "user", "content": PROMPT}],
                                        GenParams(max_tokens=max_tokens, temperature=0.0))])
        latency = time.monotonic() - t1
    finally:
        teacher.close()
    if not c.ok:
        raise TeacherError(f"The teacher {spec} answered with an error: {c.error}")
    return ProbeResult(spec, c.text, latency, load_s, c.completion_tokens)


def run_probe_job(ctx) -> None:
    """Job handler: probe the spec in the job's params and store the result on the job."""
    from lumina.store import connect
    from lumina.store import jobs as store_jobs

    job_id, worker, spec = ctx.job_id, ctx.worker, ctx.params["spec"]
    worker.log.info("probing %s", spec)
    result = probe(spec)
    worker.log.info("answer in %.2f s (load %.1f s): %r", result.latency_s, result.load_s, result.text)
    with connect() as con:
        store_jobs.update(con, job_id, result=result.to_dict(), total=1, done=1,
                          tokens=result.completion_tokens, busy_s=result.latency_s)


def test_connection(spec: str, project_id: int | None = None):
    """Returns a ProbeResult for a remote teacher (probed here), or the probe Job for a local one."""
    from lumina import jobs
    from lumina.projects import check_teacher

    spec = check_teacher(spec)
    if runs_in_process(spec):
        return probe(spec)
    return jobs.submit("probe", project_id, {"spec": spec})
