"""The `eval` job."""

from lumina.jobs.kinds import KINDS, JobKind


def _describe_eval(j) -> str:
    p = j.params or {}
    return f"evaluate · run {p.get('run_id')}" + (f" · {', '.join(p['evalsets'])}" if p.get("evalsets") else "")


KINDS.register(JobKind(
    "eval",
    handler="lumina.evaluation.jobs:run_eval_job",
    params="lumina.evaluation.request:EvalRequest",
    help="Compare the tuned student with its base: loss, answers, a pairwise judge, forgetting.",
    describe=_describe_eval,
    unit=lambda j: "steps",
    uses_teacher=lambda j: True,
))
