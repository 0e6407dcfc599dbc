"""The `import` job."""

from lumina.jobs.kinds import KINDS, JobKind


KINDS.register(JobKind(
    "import",
    handler="lumina.io.uploads:run_import_job",
    help="Import files uploaded in the browser.",
    describe=lambda j: f"import {(j.params or {}).get('kind')} · {', '.join((j.params or {}).get('names') or [])[:120]}",
    unit=lambda j: "items",
))
