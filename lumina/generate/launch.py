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
    # A one-item dry plan surfaces missing inputs (no taxonomy, no seeds, no prompts) now,
    # as a one-line error, instead of as a failed job a minute later.
    mode.plan(project, params.model_copy(update={"n": 1}), nodes)
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
    """What each mode has to work from: taxonomy leaves, seed tasks, prompts, passages, samples."""
    from lumina.taxonomy import tree as tx
    from lumina.store import inputs as store_inputs

    from lumina.store import samples as store_samples

    project = get(project_name)
    with connect() as con:
        nodes = store_projects.nodes(con, project.id)
        have = {kind: store_inputs.count(con, project.id, kind) for kind in ("seed", "prompt", "chunk")}
        samples_n = store_samples.count(con, project.id)
    leaves = len(tx.from_store(project.taxonomy, nodes).leaves()) if nodes else 0
    return {"taxonomy": leaves, "seeded": have["seed"], "regenerate": have["prompt"],
            "grounded": have["chunk"], "evolve": samples_n}
