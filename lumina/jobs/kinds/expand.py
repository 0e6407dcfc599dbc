"""The `expand` job."""

from lumina.jobs.kinds import KINDS, JobKind


KINDS.register(JobKind(
    "expand",
    handler="lumina.taxonomy.expand:run_expand_job",
    help="Propose sub-topics for taxonomy nodes, or grow the tree to a depth.",
    describe=lambda j: ((f"expand taxonomy to depth {(j.params or {}).get('depth')}" if (j.params or {}).get("apply")
                          else "propose sub-topics") + f" · {(j.params or {}).get('n')} per node"),
    unit=lambda j: "items",
    uses_teacher=lambda j: True,
))
