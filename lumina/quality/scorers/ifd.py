"""ifd: instruction-following difficulty, the project's student's answer loss with and
without the instruction (``lumina.quality.ifd``); above 1 is flagged ``ifd_suspect``."""

from __future__ import annotations

from typing import Sequence

from lumina.quality import ifd  # light: only IfdScorer imports torch
from lumina.quality.scorers import SCORERS, Flags, ScoreContext, Scorer, Scores, Text


class Ifd(Scorer):
    name = "ifd"
    version = ifd.VERSION  # its scores' versions also name the student model
    batch_size = 16
    position = 30
    help = ("Instruction-following difficulty with the student ({student}): >1 means the "
            "instruction does not help predict the answer.")

    def run(self, ctx: ScoreContext, batch: Sequence[Text] | None = None) -> tuple[Scores, Flags]:
        from lumina import models

        student = ctx.project.student
        engine = ctx.keep("ifd", lambda: ifd.IfdScorer(models.resolve(student)))
        outcomes = engine.score([(t.id, t.instruction, t.response) for t in batch or ()])
        pairs = list(zip(outcomes, batch or ()))
        return ([(t.id, ifd.to_scores(o, student)) for o, t in pairs],
                [(t.id, "ifd_suspect", {"ifd": o.ifd}) for o, t in pairs if ifd.suspect(o.ifd)])


SCORERS.register(Ifd())
