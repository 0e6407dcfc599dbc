"""The `train` job."""

from lumina.jobs.kinds import KINDS, JobKind


KINDS.register(JobKind(
    "train",
    handler="lumina.train.job:run_train_job",
    help="Fine-tune the student on a dataset version (TRL + PEFT).",
    cancel_grace_s=150.0,
    describe=lambda j: f"train · run {(j.params or {}).get('run_id')} · version {(j.params or {}).get('version')}",
    unit=lambda j: "steps",
))
