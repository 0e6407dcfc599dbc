"""The `generate` job."""

from lumina.jobs.kinds import KINDS, JobKind


KINDS.register(JobKind(
    "generate",
    handler="lumina.generate.runner:run_generation_job",
    params="lumina.generate.params:GenerateParams",
    help="Generate samples with a mode and the project's teacher.",
    describe=lambda j: f"generate · {(j.params or {}).get('mode', 'taxonomy')} · {(j.params or {}).get('n')} samples",
    unit=lambda j: "items",
    uses_teacher=lambda j: True,
))
