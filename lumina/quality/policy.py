"""Automatic review policies: "reject if judge < 3 or duplicate or contaminated", previewed
(how many samples, which ones) and then applied as ordinary review events, one batch, so a
single undo reverses it and the dataset card names the policy.

A policy is a list of rules joined by "or"; a rule is ``scorer.metric < value`` (or <=, >, >=)
or a flag name. It acts on pending samples only: a person's decision is never overruled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lumina import access
from lumina.errors import InvalidInputError
from lumina.records import SampleFilter

_RULE = re.compile(r"^\s*([A-Za-z_][\w]*(?:\.[\w]+)?)\s*(<=|>=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$")
_FLAG = re.compile(r"^\s*([A-Za-z_][\w-]*)\s*$")
_ALIASES = {"judge": "judge.overall", "ifd": "ifd.ifd"}


@dataclass(frozen=True)
class Rule:
    metric: str | None = None   # "judge.overall"
    op: str | None = None
    value: float | None = None
    flag: str | None = None

    def text(self) -> str:
        return self.flag if self.flag else f"{self.metric} {self.op} {self.value:g}"

    def filter(self) -> SampleFilter:
        if self.flag:
            return SampleFilter(status="pending", flags=[self.flag])
        eps = 1e-9  # strict comparisons on a closed range filter
        lo = hi = None
        if self.op == "<":
            hi = self.value - eps
        elif self.op == "<=":
            hi = self.value
        elif self.op == ">":
            lo = self.value + eps
        else:
            lo = self.value
        return SampleFilter(status="pending", score_ranges=[(self.metric, lo, hi)])


def parse(text: str) -> list[Rule]:
    """'judge < 3 or duplicate or contaminated' -> rules (``judge`` means judge.overall)."""
    parts = [t for t in re.split(r"\bor\b|,", (text or "").strip(), flags=re.IGNORECASE) if t.strip()]
    if not parts:
        raise InvalidInputError("Write a policy, e.g.: judge.overall < 3 or duplicate or contaminated")
    rules = []
    for part in parts:
        m = _RULE.match(part)
        if m:
            metric = _ALIASES.get(m.group(1), m.group(1))
            if "." not in metric:
                raise InvalidInputError(f"'{m.group(1)}' names no score: write scorer.metric, e.g. judge.overall.")
            rules.append(Rule(metric=metric, op=m.group(2), value=float(m.group(3))))
            continue
        m = _FLAG.match(part)
        if m:
            rules.append(Rule(flag=m.group(1)))
            continue
        shown = part.strip()[:60] + ("..." if len(part.strip()) > 60 else "")  # a pasted essay stays readable
        raise InvalidInputError(f"Cannot read '{shown}': a rule is 'scorer.metric < number' or a flag name.")
    return rules


@dataclass
class Preview:
    text: str
    ids: list[int]
    per_rule: dict[str, int]


def preview(project: str, text: str) -> Preview:
    from lumina.review import filtered_ids

    rules = parse(text)
    ids: set[int] = set()
    per_rule = {}
    for r in rules:
        got = filtered_ids(project, r.filter())
        per_rule[r.text()] = len(got)
        ids.update(got)
    canonical = " or ".join(r.text() for r in rules)
    return Preview(canonical, sorted(ids), per_rule)


@access.requires("curator")
def apply(project: str, text: str, reviewer: str):
    """Reject what the policy matches, as one batch of review events (reversible with undo)."""
    from lumina.review import decide

    pv = preview(project, text)
    if not pv.ids:
        raise InvalidInputError("The policy matches no pending sample; nothing to apply.")
    return decide(project, pv.ids, "reject", reviewer, reason=f"policy: {pv.text}", policy=pv.text,
                  only_status="pending")
