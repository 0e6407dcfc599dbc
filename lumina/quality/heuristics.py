"""Cheap, deterministic quality signals computed on every sample as it is written.

Each metric is a number (0/1 for yes/no signals) so the Quality page can histogram and
threshold all of them alike; flags name the ones a reviewer should look at.
"""

from __future__ import annotations

import re
from collections import Counter

from lumina.records import Score

SCORER = "heuristics"
VERSION = "2"  # 2: context_overlap for samples with a context

_WORD = re.compile(r"\w+", re.UNICODE)
_REFUSAL = re.compile(
    r"\b(I can(?:no|')t (?:help|assist|provide|do that)|I(?: am|'m) (?:not able|unable) to|"
    r"I won'?t be able to|as an AI(?: language model)?|I(?: am|'m) sorry,? but I|"
    r"I must decline|I cannot comply)\b",
    re.IGNORECASE,
)
_DISCLAIMER = re.compile(
    r"\b(consult (?:a|your) (?:doctor|professional|lawyer|physician)|not (?:medical|legal|financial) advice|"
    r"I(?: am|'m) not a (?:doctor|lawyer)|please note that I|my knowledge cutoff)\b",
    re.IGNORECASE,
)
_TERMINAL = re.compile(r"""[.!?)\]}"'`*:;>|…。！？]\s*$""")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def repetition(tokens: list[str], n: int = 3) -> float:
    """Share of word n-grams that repeat an earlier one (0 = none, near 1 = a loop)."""
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    if not grams:
        return 0.0
    counts = Counter(grams)
    return sum(c - 1 for c in counts.values()) / len(grams)


def distinct(tokens: list[str], n: int = 2) -> float:
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 1.0


def is_refusal(text: str) -> bool:
    return bool(_REFUSAL.search(text))


def looks_truncated(text: str, finish_reason: str | None = None) -> bool:
    if finish_reason == "length":
        return True
    stripped = text.rstrip()
    if not stripped:
        return True
    if stripped.count("```") % 2 == 1:  # an unclosed code block
        return True
    return not _TERMINAL.search(stripped) and len(stripped) > 200


def context_overlap(response_words: list[str], context: str) -> float:
    """Share of the response's content words (4+ letters) that occur in the context: low means
    the answer draws on something other than the passage it was grounded in."""
    content = [w for w in response_words if len(w) >= 4]
    if not content:
        return 1.0
    ctx = set(words(context))
    return sum(1 for w in content if w in ctx) / len(content)


def score(instruction: str, response: str, finish_reason: str | None = None,
          context: str | None = None) -> tuple[list[Score], dict[str, dict]]:
    """Return (scores, flags) for one sample."""
    inst_w = words(instruction)
    resp_w = words(response)
    rep = repetition(resp_w)
    refusal = is_refusal(response)
    disclaimer = bool(_DISCLAIMER.search(response))
    truncated = looks_truncated(response, finish_reason)
    values = {
        "response_words": float(len(resp_w)),
        "instruction_words": float(len(inst_w)),
        "length_ratio": len(resp_w) / max(len(inst_w), 1),
        "repetition": round(rep, 4),
        "distinct_2": round(distinct(resp_w), 4),
        "refusal": float(refusal),
        "disclaimer": float(disclaimer),
        "truncated": float(truncated),
    }
    if context and context.strip():
        values["context_overlap"] = round(context_overlap(resp_w, context), 4)
    scores = [Score(SCORER, VERSION, k, v) for k, v in values.items()]
    flags: dict[str, dict] = {}
    if len(resp_w) < 3:
        flags["too_short"] = {"response_words": len(resp_w)}
    if len(inst_w) < 3:
        flags["short_instruction"] = {"instruction_words": len(inst_w)}
    if rep > 0.3:
        flags["repetitive"] = {"repetition": round(rep, 3)}
    if refusal:
        flags["refusal"] = {}
    if truncated:
        flags["truncated"] = {"finish_reason": finish_reason}
    return scores, flags
