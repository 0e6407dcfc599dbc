"""The seam every generation mode implements, and the record a mode returns per item."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from lumina import prompts
from lumina.generate.params import GenerateParams
from lumina.prompts import Template
from lumina.records import JobItem, NewSample, Project
from lumina.teachers.cached import CachedTeacher


@dataclass
class ItemOutcome:
    key: str
    sample: NewSample | None = None
    error: str | None = None
    raw: str | None = None  # raw teacher text of a failure, kept for the user to read
    finish_reason: str | None = None
    flags: dict[str, dict] = field(default_factory=dict)  # the mode's own findings (e.g. uncited)


@dataclass
class ModeContext:
    project: Project
    params: GenerateParams
    instruction_teacher: CachedTeacher
    answer_teacher: CachedTeacher
    job_id: int
    extra: dict[str, Any] = field(default_factory=dict)
    _templates: dict[str, Template] = field(default_factory=dict)

    def template(self, mode: str, step: str) -> Template:
        """The project's template for a step, resolved once per worker so a job keeps one wording."""
        key = f"{mode}/{step}"
        if key not in self._templates:
            self._templates[key] = prompts.for_project(self.project.id, mode, step)
        return self._templates[key]


class Mode(Protocol):
    name: str

    def plan(self, project: Project, params: GenerateParams, project_nodes: list[dict]) -> list[tuple[str, dict]]:
        """Work items as (stable key, payload). Planned once per job, stored, never re-planned."""
        ...

    def run_batch(self, ctx: ModeContext, items: list[JobItem]) -> list[ItemOutcome]:
        """Generate one batch. Never raises for a bad teacher answer: returns a failed outcome."""
        ...


def item_seed(base: int, position: int) -> int:
    """Each item's teacher seed: stable across resumes, distinct across items."""
    return (base * 1_000_003 + position) % (2**31 - 1)
