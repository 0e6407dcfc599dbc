"""Starting a generation job (the CLI and the Generate page both come through here)."""

from __future__ import annotations

from lumina import jobs
from lumina.generate import get_mode
from lumina.generate.params import GenerateParams
from lumina.projects import check_teacher, get
from lumina.records import Job


def start_generation(project_name: str, params: GenerateParams) -> Job:
    project = get(project_name)
    get_mode(params.mode)  # unknown / unavailable modes fail here, before a worker starts
    for spec in (params.instruction_teacher, params.answer_teacher):
        if spec:
            check_teacher(spec)
    return jobs.submit("generate", project.id, params.model_dump(mode="json"))
