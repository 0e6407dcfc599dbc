"""The job kinds: each one file here declaring a ``JobKind``; plugins register theirs the same way.

A kind names its handler (imported only inside the worker, so the web server never loads an
engine), the pydantic model its params are checked against when the job is submitted, who may
stop or restart it, and how long a cancel waits before signals. The worker hands the handler a
``JobContext``: the job, its project and its checked params, read once.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from pydantic import TypeAdapter, ValidationError

from lumina.errors import InvalidInputError
from lumina.plugins import Registry

if TYPE_CHECKING:
    from lumina.jobs.worker import Worker
    from lumina.records import Job, Project


@dataclass(frozen=True)
class JobKind:
    name: str
    handler: str                     # "module:function(ctx: JobContext) -> None"
    help: str = ""
    params: str | None = None        # "module:Model" (a pydantic model or dataclass); None: a dict
    control_role: str = "owner"      # the role that may cancel or resume it (beyond its own CLI)
    cancel_grace_s: float | None = None  # the least a cancel waits for the worker before SIGTERM
    describe: Callable[["Job"], str] | None = None  # what the job does, in a phrase (job panel, CLI)
    unit: Callable[["Job"], str] | None = None      # what its done/total count ("samples", "steps")
    uses_teacher: Callable[["Job"], bool] | None = None  # the job panel then names the teacher

    def params_adapter(self) -> TypeAdapter | None:
        return TypeAdapter(_load(self.params)) if self.params else None

    def load_handler(self) -> Callable[["JobContext"], None]:
        return _load(self.handler)

    def check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """The params as they will be stored: validated (with defaults filled) when the kind has a model."""
        adapter = self.params_adapter()
        if adapter is None:
            return params
        try:
            return adapter.dump_python(adapter.validate_python(params), mode="json")
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(x) for x in first.get("loc", ())) or "params"
            raise InvalidInputError(f"Invalid {self.name} job settings: {where}: {first.get('msg')}.") from None


@dataclass
class JobContext:
    """What every handler gets: the job row, its project (None for project-less jobs), the params
    (the kind's model instance, else the stored dict) and the worker (checkpoint, log)."""

    job: "Job"
    project: "Project | None"
    params: Any
    worker: "Worker"

    @property
    def job_id(self) -> int:
        return self.job.id

    def checkpoint(self) -> None:
        self.worker.checkpoint()


def _load(ref: str) -> Any:
    module_name, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module_name), attr)


KINDS: Registry[JobKind] = Registry("job kind", "lumina.jobs.kinds", listing="known")


def kind_of(job: "Job") -> JobKind:
    """The job's kind, or the defaults (owner control, no extra grace) for a kind this process
    does not know (a plugin not loaded here, or one that fails to import): such a job can still
    be listed and cancelled."""
    try:
        return KINDS.get(job.kind)
    except InvalidInputError:
        return JobKind(job.kind, handler="")


def context_for(job: "Job", worker: "Worker") -> JobContext:
    from lumina.store import connect
    from lumina.store import projects as store_projects

    kind = KINDS.get(job.kind)
    project = None
    if job.project_id is not None:
        with connect() as con:
            project = store_projects.get_by_id(con, job.project_id)
    adapter = kind.params_adapter()
    params = adapter.validate_python(job.params or {}) if adapter else (job.params or {})
    return JobContext(job, project, params, worker)
