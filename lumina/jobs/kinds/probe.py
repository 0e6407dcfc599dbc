"""The `probe` job."""

from lumina.jobs.kinds import KINDS, JobKind


KINDS.register(JobKind(
    "probe",
    handler="lumina.teachers.probe:run_probe_job",
    help="Test a local teacher: load it, answer one prompt, time both.",
    describe=lambda j: f"test teacher · {(j.params or {}).get('spec')}",
    unit=lambda j: "items",
    uses_teacher=lambda j: True,
))
