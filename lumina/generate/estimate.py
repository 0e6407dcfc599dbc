"""The budget guard: before a run starts, how many tokens it may cost and how long it may take.

Token figures come from this project's earlier runs of the same mode (tokens per finished
sample, failed attempts included) and, always, an upper bound from the token limits. The rate
is the one measured for the same teacher on this machine: its earlier generation jobs (tokens
over busy time), else its connection test (batch of one, so pessimistic). With neither, the
estimate says so instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass

from lumina.generate.params import GenerateParams
from lumina.records import Project
from lumina.store import connect
from lumina.store import jobs as store_jobs
from lumina.store import projects as store_projects


@dataclass
class Estimate:
    samples: int
    tokens_max: int  # every call using its whole token limit
    tokens_expected: int | None  # from this project's earlier runs of the mode
    tokens_per_s: float | None
    rate_source: str | None  # where the rate was measured
    teacher: str

    @property
    def seconds(self) -> float | None:
        tokens = self.tokens_expected or self.tokens_max
        return tokens / self.tokens_per_s if self.tokens_per_s else None

    @property
    def seconds_max(self) -> float | None:
        return self.tokens_max / self.tokens_per_s if self.tokens_per_s else None


def calls_per_sample(params: GenerateParams) -> list[int]:
    """The token limit of each teacher call one sample needs (retries not counted): the mode's say."""
    from lumina.generate import get_mode

    return get_mode(params.mode).calls_per_sample(params)


def estimate(project: Project, params: GenerateParams) -> Estimate:
    teacher = params.answer_teacher or project.teacher
    tokens_max = params.n * sum(calls_per_sample(params))
    with connect() as con:
        history = store_jobs.finished_with_throughput(con, ("generate", "probe"))
        teachers = {p.id: p.teacher for p in store_projects.list_all(con)}
    per_sample = [j.tokens / j.done for j in history
                  if j.kind == "generate" and j.project_id == project.id and j.done
                  and (j.params or {}).get("mode", "taxonomy") == params.mode]
    expected = int(params.n * sum(per_sample[:5]) / len(per_sample[:5])) if per_sample else None

    def spec_of(job) -> str:
        p = job.params or {}
        return p.get("spec") if job.kind == "probe" else (p.get("answer_teacher") or teachers.get(job.project_id, ""))

    same = [j for j in history if spec_of(j) == teacher]
    gens = [j for j in same if j.kind == "generate"][:5]
    rate = source = None
    if gens:
        rate = sum(j.tokens for j in gens) / sum(j.busy_s for j in gens)
        source = f"measured on {len(gens)} earlier run(s) of this teacher (job {gens[0].id} the latest)"
    else:
        probes = [j for j in same if j.kind == "probe"]
        if probes:
            rate = probes[0].tokens / probes[0].busy_s
            source = f"from the connection test (job {probes[0].id}; one request at a time, so pessimistic)"
    return Estimate(params.n, tokens_max, expected, rate, source, teacher)
