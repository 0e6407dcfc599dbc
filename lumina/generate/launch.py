"""Starting a generation job (the CLI and the Generate page both come through here)."""

from __future__ import annotations

from lumina import jobs
from lumina.generate import get_mode
from lumina.generate.params import GenerateParams
from lumina.projects import check_teacher, get
from lumina.records import Job
from lumina.store import connect
from lumina.store import projects as store_projects


def start_generation(project_name: str, params: GenerateParams) -> Job:
    project = get(project_name)
    mode = get_mode(params.mode)  # unknown / unavailable modes fail here, before a worker starts
    with connect() as con:
        nodes = store_projects.nodes(con, project.id)
    # A one-item dry plan surfaces missing inputs (no taxonomy, no seeds, no prompts) now,
    # as a one-line error, instead of as a failed job a minute later.
    mode.plan(project, params.model_copy(update={"n": 1}), nodes)
    for spec in (params.instruction_teacher, params.answer_teacher):
        if spec:
            check_teacher(spec)
    return jobs.submit("generate", project.id, params.model_dump(mode="json"))


def available_inputs(project_name: str) -> dict[str, int]:
    """What each mode has to work from: taxonomy leaves, seed tasks, prompts."""
    from lumina import taxonomy as tx
    from lumina.store import inputs as store_inputs

    project = get(project_name)
    with connect() as con:
        nodes = store_projects.nodes(con, project.id)
        seeds = store_inputs.count(con, project.id, "seed")
        prompts_n = store_inputs.count(con, project.id, "prompt")
    leaves = len(tx.from_store(project.taxonomy, nodes).leaves()) if nodes else 0
    return {"taxonomy": leaves, "seeded": seeds, "regenerate": prompts_n}
