"""The demo project: the example taxonomy plus samples written by the bundled teacher."""

from __future__ import annotations

from typing import Callable

from lumina.io import importers
from lumina import jobs, projects
from lumina.config import examples_dir
from lumina.errors import InvalidInputError
from lumina.generate.launch import start_generation
from lumina.generate.params import GenerateParams
from lumina.records import Job
from lumina.teachers import GenParams

DEMO = "demo"
TAXONOMY = "everyday-science.yaml"
SHIPPED_SAMPLES = "demo-samples.jsonl"  # made with `lumina demo --samples 24` and `lumina samples demo --json`


def _recreate(teacher: str | None) -> None:
    if projects.exists(DEMO):
        p = projects.get(DEMO)
        if any(j.status in ("queued", "running") for j in jobs.list_jobs(p.id)):
            raise InvalidInputError("The demo project has a job running; cancel it first (lumina jobs list).")
        projects.delete(DEMO)
    projects.create_project(DEMO, examples_dir() / TAXONOMY, teacher=teacher)


def ensure_demo(teacher: str | None = None) -> int:
    """Create the demo project from the shipped samples if it does not exist; return its size."""
    if projects.exists(DEMO):
        from lumina.projects.samples import count_for

        return count_for(DEMO)
    _recreate(teacher)
    shipped = examples_dir() / SHIPPED_SAMPLES
    return importers.import_file(DEMO, shipped, "samples") if shipped.exists() else 0


def generate_demo(n: int, teacher: str | None = None, seed: int = 0,
                  on_update: Callable[[Job], None] | None = None) -> Job:
    """(Re)create the demo project and generate ``n`` samples with the bundled teacher; wait."""
    _recreate(teacher)
    # 0.7 rather than LuminaSFT's 1.0 for instructions: a 135M teacher degenerates at 1.0
    # (measured on the bundled model), where large teachers stay coherent.
    params = GenerateParams(n=n, seed=seed, batch_size=min(max(n, 1), 32),
                            instruction_params=GenParams(max_tokens=128, temperature=0.7))
    job = start_generation(DEMO, params)
    return jobs.wait(job.id, on_update=on_update)
