"""LLM-as-judge: a teacher grades each sample on four 1-5 scales, as structured output.

The answer is requested with a JSON schema whose scores are integers from 1 to 5 (constrained
decoding where the backend has it) and validated again here, since no backend's guarantee is
trusted: a malformed or out-of-range answer is retried with a new seed, and one that stays bad
is recorded as failed, with its raw text. A failed judgement has no scores — never a made-up
number.

The rubric is a prompt template (``lumina/templates/judge/rubric.v<N>.jinja``, variables
``instruction`` and ``response``); its ref goes into the score version, so grades from
different rubrics are never mixed up.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Hashable, Sequence

from pydantic import BaseModel, Field, field_validator

from lumina.records import Score

SCORER = "judge"
VERSION = "1"
DIMENSIONS = ("correctness", "helpfulness", "instruction_following", "complexity")
OVERALL = "overall"

Id = Hashable


class Verdict(BaseModel):
    """What a judge must answer; validation is lenient only where it costs nothing (rationale)."""

    rationale: str = ""
    correctness: int = Field(ge=1, le=5)
    helpfulness: int = Field(ge=1, le=5)
    instruction_following: int = Field(ge=1, le=5)
    complexity: int = Field(ge=1, le=5)

    @field_validator(*DIMENSIONS, mode="before")
    @classmethod
    def _no_bools_or_words(cls, v: Any) -> Any:
        # pydantic would turn true into 1 and "4" into 4; a judge that answers like that did
        # not follow the schema, so its answer is retried rather than read generously. (4.0
        # passes as 4; 3.5 fails pydantic's own integer check.)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError("a score must be a JSON integer from 1 to 5")
        return v


def request_schema(rationale_chars: int = 400) -> dict[str, Any]:
    """The schema sent to the backend: rationale first (reasoning before grading), bounded so a
    small model cannot ramble into the length limit, then the four integer scores. (The
    transformers backend compiles its grammar from the schema with sorted keys, so there the
    scores come first; vLLM and OpenAI-compatible servers keep this order.)"""
    score = {"type": "integer", "minimum": 1, "maximum": 5}
    return {
        "type": "object",
        "properties": {"rationale": {"type": "string", "maxLength": rationale_chars},
                       **{d: dict(score) for d in DIMENSIONS}},
        "required": ["rationale", *DIMENSIONS],
        "additionalProperties": False,
    }


@dataclass
class JudgeOutcome:
    sample_id: Id
    scores: dict[str, int] | None  # None when the judgement failed
    rationale: str | None
    error: str | None
    raw: str  # the last attempt's raw text
    attempts: int = 1
    template: str = ""  # the rubric's ref, e.g. "judge/rubric@v1"
    teacher: str | None = None

    @property
    def ok(self) -> bool:
        return self.scores is not None

    @property
    def overall(self) -> float | None:
        return sum(self.scores.values()) / len(self.scores) if self.scores else None


def rubric(rubric_template: Any = None) -> tuple[Any, str]:
    """(template, ref) of the rubric: None = the built-in latest; a ``prompts.Template`` (e.g.
    a project override from ``prompts.for_project``); or Jinja source text, whose ref carries a
    content hash ("judge/rubric@custom-1a2b3c4d") since it has no version number."""
    from lumina import prompts
    from lumina.errors import InvalidInputError

    if rubric_template is None:
        t = prompts.latest("judge", "rubric")
        return t, t.ref
    if isinstance(rubric_template, prompts.Template):
        return rubric_template, rubric_template.ref
    if isinstance(rubric_template, str):
        if not rubric_template.strip():
            raise InvalidInputError("The judge rubric template is empty.")
        digest = hashlib.sha256(rubric_template.encode("utf-8")).hexdigest()[:8]
        return prompts.Template("judge", "rubric", 0, rubric_template), f"judge/rubric@custom-{digest}"
    raise InvalidInputError("rubric_template must be None, a prompts.Template or Jinja source text.")


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + "\n[... truncated for grading ...]"


def judge(teacher: Any, samples: Sequence[tuple[Id, str, str]], rubric_template: Any = None,
          retries: int = 2, params: Any = None, max_chars: int = 6000) -> list[JudgeOutcome]:
    """Grade (sample id, instruction, response) triples with ``teacher``; one outcome each, in
    order. ``params`` (GenParams) default: 256 new tokens, temperature 0.2 (a little, so a
    retry with a new seed can come out differently), seed 0."""
    from lumina.errors import InvalidInputError
    from lumina.teachers.base import ChatRequest, GenParams
    from lumina.teachers.structured import chat_structured

    if not samples:
        return []
    tmpl, ref = rubric(rubric_template)
    params = params or GenParams(max_tokens=256, temperature=0.2, seed=0)
    requests = []
    for _, instruction, response in samples:
        try:
            prompt = tmpl.render(instruction=_clip(instruction, max_chars), response=_clip(response, max_chars))
        except Exception as exc:  # a custom rubric naming variables the judge does not provide
            raise InvalidInputError(f"The judge rubric {ref} fails to render: {exc}") from None
        requests.append(ChatRequest([{"role": "user", "content": prompt}], params))
    results = chat_structured(teacher, requests, Verdict, retries=retries, request_schema=request_schema())
    name = getattr(teacher, "model", None)
    out = []
    for (sid, _, _), r in zip(samples, results):
        raw = r.raw[-1] if r.raw else ""
        if r.value is not None:
            v = r.value
            out.append(JudgeOutcome(sid, {d: int(getattr(v, d)) for d in DIMENSIONS}, v.rationale.strip(),
                                    None, raw, len(r.raw), ref, name))
        else:
            out.append(JudgeOutcome(sid, None, None, r.error or "no answer", raw, len(r.raw), ref, name))
    return out


def scorer_version(outcome: JudgeOutcome) -> str:
    return f"{VERSION}+{outcome.template}" if outcome.template else VERSION


def to_scores(outcome: JudgeOutcome) -> list[Score]:
    """Scores for the store: one per dimension plus "overall" (their mean). A failed judgement
    gives the same metrics with value None and the error (and raw text) in details."""
    version = scorer_version(outcome)
    metrics = [*DIMENSIONS, OVERALL]
    if outcome.scores is None:
        details = {"error": outcome.error, "attempts": outcome.attempts, "teacher": outcome.teacher}
        return [Score(SCORER, version, m, None, {**details, "raw": outcome.raw[:2000]} if m == OVERALL else details)
                for m in metrics]
    out = [Score(SCORER, version, d, float(outcome.scores[d]), None) for d in DIMENSIONS]
    out.append(Score(SCORER, version, OVERALL, round(float(outcome.overall), 4),
                     {"rationale": outcome.rationale, "teacher": outcome.teacher, "attempts": outcome.attempts}))
    return out
