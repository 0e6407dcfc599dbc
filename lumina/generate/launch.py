"""Starting a generation job (the CLI and the Generate page both come through here)."""

from __future__ import annotations

from lumina import access, jobs
from lumina.generate import get_mode
from lumina.generate.params import GenerateParams
from lumina.projects import check_teacher, get
from lumina.records import Job
from lumina.store import connect
from lumina.store import projects as store_projects


def validate_generation(project_name: str, params: GenerateParams) -> None:
    """Everything a run needs, checked now: the mode, its inputs, the teachers."""
    project = get(project_name)
    mode = get_mode(params.mode)  # unknown / unavailable modes fail here, before a worker starts
    with connect() as con:
        nodes = store_projects.nodes(con, project.id)
    mode.check_inputs(project, params, nodes)  # missing inputs: a one-line error now, not a failed job
    for spec in (params.instruction_teacher, params.answer_teacher):
        if spec:
            check_teacher(spec)


@access.requires("owner", project_arg="project_name")
def start_generation(project_name: str, params: GenerateParams) -> Job:
    validate_generation(project_name, params)
    return jobs.submit("generate", get(project_name).id, params.model_dump(mode="json"))


def estimate_generation(project_name: str, params: GenerateParams):
    """The budget guard's figures for a run not yet started (see ``estimate``)."""
    from lumina.generate.estimate import estimate

    return estimate(get(project_name), params)


def available_inputs(project_name: str) -> dict[str, int]:
    """How much each mode has to work from (taxonomy leaves, seed tasks, ...), by mode name."""
    from lumina.generate import MODES
    from lumina.generate.inputs import input_kind

    project = get(project_name)
    counts: dict[str, int] = {}
    with connect() as con:
        nodes = store_projects.nodes(con, project.id)
        for mode in MODES:
            kind = input_kind(mode)
            if kind.name not in counts:
                counts[kind.name] = kind.count(con, project, nodes)
    return {mode.name: counts[input_kind(mode).name] for mode in MODES}
