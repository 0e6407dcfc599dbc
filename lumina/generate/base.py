"""The seam every generation mode implements, and the record a mode returns per item.

A mode is one module under ``lumina/generate/modes/`` (or a plugin module, see
``lumina.plugins``) that subclasses ``GenerationMode`` and registers an instance in
``lumina.generate.MODES``. Everything the CLI, the Generate page, the launcher and the budget
guard need to know about it is declared on the class; none of them names a mode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

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


class NoOptions(BaseModel):
    """The settings of a mode that has none of its own."""

    # A misspelt option must fail loudly, not be dropped: a run with the wrong settings costs hours.
    model_config = ConfigDict(extra="forbid")


class Mode(Protocol):
    name: str

    def plan(self, project: Project, params: GenerateParams, project_nodes: list[dict]) -> list[tuple[str, dict]]:
        """Work items as (stable key, payload). Planned once per job, stored, never re-planned."""
        ...

    def run_batch(self, ctx: ModeContext, items: list[JobItem]) -> list[ItemOutcome]:
        """Generate one batch. Never raises for a bad teacher answer: returns a failed outcome."""
        ...


class GenerationMode:
    """What a mode declares; subclasses set the class attributes and implement plan/run_batch."""

    name: ClassVar[str]
    help: ClassVar[str] = ""
    position: ClassVar[int] = 1000  # where lists show it: the built-ins come first
    # The prompt templates it renders, as (template group, step): shown and editable on the page.
    templates: ClassVar[list[tuple[str, str]]] = []
    # What it works from: a name in ``lumina.generate.inputs.INPUTS`` (taxonomy, seeds, ...).
    inputs: ClassVar[str] = "taxonomy"
    # Its own settings; stored in ``GenerateParams.options`` and rendered by the CLI and the page.
    # Fields use ``json_schema_extra`` for how a page shows them (label, key, choices...): see
    # ``lumina.generate.options``.
    Options: ClassVar[type[BaseModel]] = NoOptions
    # Example variables per template key ("group/step"): overrides are checked against them.
    examples: ClassVar[dict[str, dict[str, Any] | list[dict[str, Any]]]] = {}
    # A plugin's own templates: a folder laid out like ``lumina/templates`` (<group>/<step>.vN.jinja).
    templates_dir: ClassVar[Path | None] = None
    # The teacher steps it calls: the page greys out the settings of a step not used.
    teacher_steps: ClassVar[tuple[str, ...]] = ("instruction", "answer")

    def options_of(self, params: GenerateParams) -> Any:
        """The run's settings of this mode, typed (``params.options`` holds them validated)."""
        return self.Options.model_validate(params.options)

    def plan(self, project: Project, params: GenerateParams, project_nodes: list[dict]) -> list[tuple[str, dict]]:
        raise NotImplementedError

    def run_batch(self, ctx: ModeContext, items: list[JobItem]) -> list[ItemOutcome]:
        raise NotImplementedError

    def check_inputs(self, project: Project, params: GenerateParams, project_nodes: list[dict]) -> None:
        """Raise ``InvalidInputError`` now if a run could not start (nothing to work from).

        The default is a one-item dry plan, which surfaces missing inputs as a one-line error
        instead of as a failed job a minute later."""
        self.plan(project, params.model_copy(update={"n": 1}), project_nodes)

    def calls_per_sample(self, params: GenerateParams) -> list[int]:
        """The token limit of each teacher call one sample needs (retries not counted)."""
        return [params.instruction_params.max_tokens, params.answer_params.max_tokens]


def item_seed(base: int, position: int) -> int:
    """Each item's teacher seed: stable across resumes, distinct across items."""
    return (base * 1_000_003 + position) % (2**31 - 1)
