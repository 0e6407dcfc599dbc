"""The `score` job."""

from lumina.jobs.kinds import KINDS, JobKind


def _score_unit(j) -> str:
    from lumina.quality.score_job import is_per_sample

    # per-sample scorers count samples; whole-project ones (dedup, decontam) count their steps
    return "samples" if is_per_sample((j.params or {}).get("scorer", "")) else "steps"


KINDS.register(JobKind(
    "score",
    handler="lumina.quality.score_job:run_score_job",
    params="lumina.quality.score_job:ScoreParams",
    help="Run one scorer over the project's samples.",
    control_role="curator",
    describe=lambda j: f"score · {(j.params or {}).get('scorer')}",
    unit=_score_unit,
    uses_teacher=lambda j: (j.params or {}).get("scorer") == "judge",
))
