"""The `map` job."""

from lumina.jobs.kinds import KINDS, JobKind


KINDS.register(JobKind(
    "map",
    handler="lumina.diversity.map_job:run_map_job",
    params="lumina.diversity.params:MapParams",
    help="Embed samples, place them on the 2-D map, cluster, and measure diversity.",
    control_role="curator",
    describe=lambda j: "diversity map" + (" · refit" if (j.params or {}).get("refit") else ""),
    unit=lambda j: "steps",
))
