"""The `score` job."""

from lumina.jobs.kinds import KINDS, JobKind


def _run(ctx) -> None:
    from lumina.quality.score_job import run_score_job

    run_score_job(ctx.job_id, ctx.worker)


def _score_unit(j) -> str:
    # per-sample scorers count samples; whole-project ones (dedup, decontam) count their steps
    return "samples" if (j.params or {}).get("scorer") in ("heuristics", "judge", "ifd") else "steps"


KINDS.register(JobKind(
    "score",
    handler="lumina.jobs.kinds.score:_run",
    help="Run one scorer over the project's samples.",
    control_role="curator",
    describe=lambda j: f"score · {(j.params or {}).get('scorer')}",
    unit=_score_unit,
    uses_teacher=lambda j: (j.params or {}).get("scorer") == "judge",
))
