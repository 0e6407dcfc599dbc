"""The `playground` job."""

from lumina.jobs.kinds import KINDS, JobKind


KINDS.register(JobKind(
    "playground",
    handler="lumina.evaluation.jobs:run_playground_job",
    help="Answer one prompt with the base and the tuned student.",
    control_role="curator",
    describe=lambda j: f"playground · run {(j.params or {}).get('run_id')}",
    unit=lambda j: "items",
))
