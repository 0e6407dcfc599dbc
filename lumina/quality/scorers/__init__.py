"""The scorer seam: one file per scorer, found by ``SCORERS`` (built-ins here, plugins through
``LUMINA_PLUGINS`` or the ``lumina.plugins`` entry points, see ``lumina.plugins``).

A scorer declares its stored name, version, scope, batch size and an ``Options`` pydantic
model, and implements ``run``:

- scope "sample": ``run(ctx, batch) -> (scores, flags)`` over a batch of ``Text``; the driver
  (``lumina.quality.score_job``) hands it only samples with no current score (none at this
  version and text hash, or a failed one) and writes each batch in its own transaction;
- scope "project": ``run(ctx) -> (scores, flags)`` over the whole project, whose flags replace
  all of that scorer's earlier ones.

``scores`` is ``[(sample id, [Score, ...])]``; ``flags`` is ``[(sample id, flag, details)]``.
A failed score is a Score with value None (its error in details): the driver counts it as
failed and a later run retries it. Scorer files keep heavy imports inside ``run``, so listing
the scorers (the Quality page, ``lumina score --help``) stays cheap.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Literal, Mapping, NamedTuple, Sequence

from pydantic import BaseModel, ConfigDict

from lumina.plugins import Registry
from lumina.records import Score

if TYPE_CHECKING:
    from lumina.records import Project

log = logging.getLogger("lumina.quality")

Scores = list[tuple[int, list[Score]]]
Flags = list[tuple[int, str, Any]]


class Text(NamedTuple):
    """One sample as a per-sample scorer sees it (``text_hash`` is what its scores record)."""

    id: int
    instruction: str
    response: str
    context: str | None
    text_hash: str


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass
class ScoreContext:
    """What a scorer's ``run`` gets: the project, its checked options and current version, the
    job's checkpoint (cancel) and progress, and engines it keeps for the whole run."""

    project: "Project"
    options: Any
    version: str
    worker: Any = None  # None when scoring inline (after an import or an edit): no cancel, no job
    on_progress: Callable[[int, int], None] | None = None
    summary: dict[str, Any] = field(default_factory=dict)  # project scope: the job's result
    steps: int = 1
    _kept: dict[str, Any] = field(default_factory=dict)

    @property
    def log(self) -> logging.Logger:
        return self.worker.log if self.worker is not None else log

    def checkpoint(self) -> None:
        if self.worker is not None:
            self.worker.checkpoint()

    def progress(self, done: int, total: int) -> None:
        """Project scope: step ``done`` of ``total`` (the driver reports the last one itself)."""
        self.steps = total
        if self.on_progress is not None:
            self.on_progress(done, total)

    def keep(self, key: str, make: Callable[[], Any]) -> Any:
        """An engine built on first use and reused by every batch; closed when the run ends."""
        if key not in self._kept:
            self._kept[key] = make()
        return self._kept[key]

    def teacher(self) -> Any:
        """The project's teacher (cached, with the project's remote-teacher options)."""
        def make():
            from lumina.teachers import build_teacher, options
            from lumina.teachers.cached import CachedTeacher

            p = self.project
            return CachedTeacher(build_teacher(p.teacher, **options.for_spec(p.teacher, p.settings)),
                                 identity=p.teacher)

        return self.keep("teacher", make)

    def close(self) -> None:
        for engine in self._kept.values():
            if hasattr(engine, "close"):
                engine.close()
        self._kept.clear()


class Scorer:
    """The declarations every scorer makes; subclass it, set them, implement ``run``."""

    name: ClassVar[str]              # stored as scores.scorer / flags.scorer: never rename
    version: ClassVar[str] = "1"     # bump to re-score every sample (see ``version_for``)
    scope: ClassVar[Literal["sample", "project"]] = "sample"
    batch_size: ClassVar[int] = 256  # sample scope: texts per ``run`` call and write transaction
    Options: ClassVar[type[BaseModel]] = NoOptions
    help: ClassVar[str] = ""         # one line; "{teacher}" / "{student}" name the project's models
    position: ClassVar[int] = 100    # listing order (built-ins first), read by the Registry
    legacy: ClassVar[Mapping[str, str]] = {}  # flat keys of old stored job params -> option names

    def version_for(self, project_id: int) -> str:
        """The version a score must carry to count as current (the judge's names its rubric)."""
        return self.version

    def check(self, project: "Project", options: Any) -> None:
        """Refuse settings that cannot work before a job starts (raise InvalidInputError)."""

    def run(self, ctx: ScoreContext, batch: Sequence[Text] | None = None) -> tuple[Scores, Flags]:
        raise NotImplementedError


SCORERS: Registry[Scorer] = Registry("scorer", "lumina.quality.scorers")


def listed() -> list[Scorer]:
    """The scorers in the order the Quality page and messages show them (their ``position``)."""
    return list(SCORERS)
