"""The `generate` job."""

from lumina.jobs.kinds import KINDS, JobKind


def _run(ctx) -> None:
    from lumina.generate.runner import run_generation_job

    run_generation_job(ctx.job_id, ctx.worker)


KINDS.register(JobKind(
    "generate",
    handler="lumina.jobs.kinds.generate:_run",
    help="Generate samples with a mode and the project's teacher.",
    describe=lambda j: f"generate · {(j.params or {}).get('mode', 'taxonomy')} · {(j.params or {}).get('n')} samples",
    unit=lambda j: "items",
    uses_teacher=lambda j: True,
))
