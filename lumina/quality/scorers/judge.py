"""judge: the project's teacher grades each sample 1-5 on the project's rubric
(``lumina.quality.judge``). The version is the rubric's ref, so a new rubric re-grades."""

from __future__ import annotations

from typing import Sequence

from lumina.quality.scorers import SCORERS, Flags, ScoreContext, Scorer, Scores, Text
from lumina.records import Score


def _rubric(project_id: int):
    from lumina import prompts

    return prompts.for_project(project_id, "judge", "rubric")


class Judge(Scorer):
    name = "judge"
    version = "rubric ref"  # never compared: version_for reads the project's current rubric
    batch_size = 8
    position = 20
    help = ("The teacher ({teacher}) grades correctness, helpfulness, instruction following and "
            "complexity 1-5 with a rationale.")

    def version_for(self, project_id: int) -> str:
        return _rubric(project_id).ref

    def run(self, ctx: ScoreContext, batch: Sequence[Text] | None = None) -> tuple[Scores, Flags]:
        from lumina.quality import judge

        teacher = ctx.teacher()
        rubric = ctx.keep("rubric", lambda: _rubric(ctx.project.id))
        outcomes = judge.judge(teacher, [(t.id, t.instruction, t.response) for t in batch or ()],
                               rubric_template=rubric)
        # stored under the job's version (the rubric ref it selected by), not the outcome's own tag
        return [(t.id, [Score(s.scorer, ctx.version, s.metric, s.value, s.details) for s in judge.to_scores(o)])
                for o, t in zip(outcomes, batch or ())], []


SCORERS.register(Judge())
