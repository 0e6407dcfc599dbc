"""heuristics: cheap, deterministic text checks (``lumina.quality.textstats``, v3), on every
sample as it is written, imported or edited, and by ``lumina score NAME heuristics``."""

from __future__ import annotations

from typing import Sequence

from lumina.quality import textstats
from lumina.quality.scorers import SCORERS, Flags, ScoreContext, Scorer, Scores, Text
from lumina.records import Score


def measure(instruction: str, response: str, context: str | None = None,
            finish_reason: str | None = None) -> tuple[list[Score], dict[str, dict]]:
    """One sample's heuristic scores and flags: the one place they are computed (the scorer, new
    samples before their write transaction, an edit's re-score all come here)."""
    return textstats.score(instruction, response, finish_reason, context)


class Heuristics(Scorer):
    name = textstats.SCORER
    version = textstats.VERSION
    batch_size = 2000
    position = 10
    help = "Cheap text checks (length, repetition, refusals, truncation, language, template leftovers)."

    def run(self, ctx: ScoreContext | None, batch: Sequence[Text] | None = None) -> tuple[Scores, Flags]:
        scores: Scores = []
        flags: Flags = []
        for t in batch or ():
            found_scores, found = measure(t.instruction, t.response, t.context)
            scores.append((t.id, found_scores))
            flags += [(t.id, f, d) for f, d in found.items()]
        return scores, flags


SCORERS.register(Heuristics())
