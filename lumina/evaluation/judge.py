"""LLM-as-judge: pairwise comparison of the base model's answers (A) with the tuned model's (B).

Position bias: judges, small ones especially, tend to prefer whichever response comes first (or
second). Every item is therefore judged twice, once as (A, B) and once as (B, A), and the two
votes are combined from B's point of view:

    both orders prefer B            -> win
    both orders prefer A            -> loss
    anything else (tie + either, or
    the orders contradict)          -> tie

This is the conservative rule (a win must survive the swap); a contradiction means the verdict
depended on position, not content, so it is not counted for either side. ``score`` per item
keeps the finer half-votes (each vote: B 1, tie 0.5, A 0; averaged) for anyone who wants them.

Win rate = (wins + ties / 2) / judged items, with a 95% Wilson score interval over the judged
items. Wilson assumes 0/1 outcomes; half-points for ties have a variance no larger than a 0/1
outcome with the same mean, so the interval is, if anything, conservative.

Failures: the first attempt is greedy; each retry samples (temperature 0.7, new seed), since a
greedy judge would only repeat its malformed answer. An order that is still malformed (or that
the backend failed) after the retries makes the item ``failed``: it is recorded with its raw
text and error, never given a verdict, and excluded from the counts and the interval.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, field_validator

from lumina.errors import InvalidInputError
from lumina.teachers.base import ChatRequest, GenParams
from lumina.teachers.structured import chat_structured

TEMPLATE_MODE, TEMPLATE_STEP = "judge_pairwise", "verdict"


class Verdict(BaseModel):
    reason: str = ""
    winner: Literal["1", "2", "tie"]

    @field_validator("winner", mode="before")
    @classmethod
    def _normalise(cls, v: Any) -> Any:
        # "Tie", " 2", or the number 1 mean the same thing; anything else stays invalid (and is retried).
        return str(v).strip().lower() if isinstance(v, (str, int)) and not isinstance(v, bool) else v


# What the backend is asked to follow: reason before winner (the judge explains, then decides),
# and a bounded reason so constrained decoding always closes the object before max_tokens.
REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"reason": {"type": "string", "maxLength": 300},
                   "winner": {"type": "string", "enum": ["1", "2", "tie"]}},
    "required": ["reason", "winner"],
    "additionalProperties": False,
}


@dataclass
class PairwiseItem:
    index: int
    outcome: str  # "win" | "tie" | "loss" (for B) | "failed"
    votes: list[str | None]  # per order, from B's view: "b" | "a" | "tie" | None (failed)
    reasons: list[str | None]
    score: float | None  # mean of the two half-votes for B; None when failed
    error: str | None = None
    raw: list[list[str]] = field(default_factory=list)  # per order, every attempt's text


@dataclass
class PairwiseResult:
    n: int
    wins: int
    ties: int
    losses: int
    failed: int
    win_rate: float | None  # (wins + ties/2) / judged
    ci_low: float | None
    ci_high: float | None
    consistency: float | None  # share of judged items whose two orders agreed
    template: str
    items: list[PairwiseItem] = field(default_factory=list)

    @property
    def judged(self) -> int:
        return self.wins + self.ties + self.losses

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def wilson_interval(p: float, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95% Wilson score interval for a proportion ``p`` observed over ``n`` trials."""
    if n <= 0:
        return 0.0, 1.0
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _vote_for_b(winner: str, b_position: str) -> str:
    if winner == "tie":
        return "tie"
    return "b" if winner == b_position else "a"


def combine(first: str, second: str) -> str:
    """The item outcome for B from its two votes (see the module docstring)."""
    if first == second == "b":
        return "win"
    if first == second == "a":
        return "loss"
    return "tie"


def _requests(template, prompts: list[str], answers_a: list[str], answers_b: list[str],
              max_tokens: int) -> list[ChatRequest]:
    reqs = []
    for i, (q, a, b) in enumerate(zip(prompts, answers_a, answers_b)):
        for first, second in ((a, b), (b, a)):  # order 0: A is response 1; order 1: B is response 1
            text = template.render(question=q, response_1=first, response_2=second)
            reqs.append(ChatRequest([{"role": "user", "content": text}],
                                    GenParams(max_tokens=max_tokens, temperature=0.0, seed=i)))
    return reqs


def pairwise(teacher, prompts: list[str], answers_a: list[str], answers_b: list[str], retries: int = 2,
             template=None, max_tokens: int = 256) -> PairwiseResult:
    """Judge B (tuned) against A (base) on each prompt, in both orders. See the module docstring."""
    if not (len(prompts) == len(answers_a) == len(answers_b)):
        raise InvalidInputError(f"pairwise needs one answer of each model per prompt (got {len(prompts)} prompts, "
                                f"{len(answers_a)} A answers, {len(answers_b)} B answers).")
    if template is None:
        from lumina import prompts as prompt_templates

        template = prompt_templates.latest(TEMPLATE_MODE, TEMPLATE_STEP)
    reqs = _requests(template, prompts, answers_a, answers_b, max_tokens)
    values: list[Verdict | None] = [None] * len(reqs)
    errors: list[str | None] = [None] * len(reqs)
    raw: list[list[str]] = [[] for _ in reqs]
    pending = list(range(len(reqs)))
    for attempt in range(retries + 1):
        if not pending:
            break
        batch = [reqs[k] if attempt == 0 else ChatRequest(reqs[k].messages, reqs[k].params.model_copy(
            update={"temperature": 0.7, "seed": (reqs[k].params.seed or 0) + attempt * 1_000_003}))
            for k in pending]
        results = chat_structured(teacher, batch, Verdict, retries=0, request_schema=REQUEST_SCHEMA)
        still = []
        for k, r in zip(pending, results):
            raw[k].extend(r.raw)
            if r.ok:
                values[k], errors[k] = r.value, None
            else:
                errors[k] = (r.error or "no answer").replace("after 1 attempt(s)", f"after {attempt + 1} attempt(s)")
                still.append(k)
        pending = still

    items = []
    for i in range(len(prompts)):
        v1, v2 = values[2 * i], values[2 * i + 1]
        votes = [_vote_for_b(v1.winner, "2") if v1 else None, _vote_for_b(v2.winner, "1") if v2 else None]
        reasons = [v1.reason if v1 else None, v2.reason if v2 else None]
        if v1 is None or v2 is None:
            which = " and ".join(f"order {k + 1} ({'A first' if k == 0 else 'B first'}): {errors[2 * i + k]}"
                                 for k, v in enumerate((v1, v2)) if v is None)
            items.append(PairwiseItem(i, "failed", votes, reasons, None, which, [raw[2 * i], raw[2 * i + 1]]))
            continue
        points = {"b": 1.0, "tie": 0.5, "a": 0.0}
        items.append(PairwiseItem(i, combine(votes[0], votes[1]), votes, reasons,
                                  (points[votes[0]] + points[votes[1]]) / 2, None, [raw[2 * i], raw[2 * i + 1]]))

    wins = sum(it.outcome == "win" for it in items)
    ties = sum(it.outcome == "tie" for it in items)
    losses = sum(it.outcome == "loss" for it in items)
    judged = wins + ties + losses
    win_rate = ci_low = ci_high = consistency = None
    if judged:
        win_rate = (wins + 0.5 * ties) / judged
        ci_low, ci_high = wilson_interval(win_rate, judged)
        consistency = sum(it.votes[0] == it.votes[1] for it in items if it.outcome != "failed") / judged
    return PairwiseResult(n=len(items), wins=wins, ties=ties, losses=losses, failed=len(items) - judged,
                          win_rate=win_rate, ci_low=ci_low, ci_high=ci_high, consistency=consistency,
                          template=template.ref, items=items)


def forgetting(base: dict[str, Any], tuned: dict[str, Any], threshold: float = 0.05,
               key: str = "loss") -> dict[str, Any]:
    """Compare a higher-is-worse metric (default: loss on a general, out-of-domain set).

    Returns the relative change and a ``warning`` string when the tuned model is worse than the
    base by more than ``threshold`` (relative; 0.05 = 5%), else ``warning`` None.
    """
    if key not in base or key not in tuned:
        raise InvalidInputError(f"forgetting: both results need '{key}' (got {sorted(base)} and {sorted(tuned)}).")
    b, t = float(base[key]), float(tuned[key])
    if not (math.isfinite(b) and math.isfinite(t)):
        raise InvalidInputError(f"forgetting: {key} must be finite (base {b}, tuned {t}).")
    rel = (t - b) / abs(b) if b != 0 else (math.inf if t > b else 0.0)
    worse = rel > threshold
    warning = None
    if worse:
        warning = (f"Possible forgetting: {key} on the general set is {rel:.1%} worse after tuning "
                   f"({b:.4g} -> {t:.4g}; threshold {threshold:.0%}). Mix general data into training, "
                   "lower the learning rate or train fewer steps.")
    return {"metric": key, "base": b, "tuned": t, "relative_change": rel, "threshold": threshold,
            "forgetting": worse, "warning": warning}
