"""Text clean-up shared by every mode: reasoning blocks are split off, never leaked."""

from __future__ import annotations

import re

_THINK = re.compile(r"<think>(.*?)</think>", re.DOTALL | re.IGNORECASE)


def split_reasoning(text: str) -> tuple[str | None, str]:
    """Return (reasoning, answer). Handles closed blocks and an unterminated leading block
    (a model cut off while thinking has no answer at all)."""
    if not text:
        return None, ""
    thoughts = [m.strip() for m in _THINK.findall(text)]
    answer = _THINK.sub("", text)
    low = answer.lower()
    if "<think>" in low:  # unterminated: everything after it is reasoning
        idx = low.index("<think>")
        thoughts.append(answer[idx + len("<think>"):].strip())
        answer = answer[:idx]
    elif "</think>" in low:  # opening tag was in the prompt (some chat templates add it)
        idx = low.index("</think>")
        thoughts.insert(0, answer[:idx].strip())
        answer = answer[idx + len("</think>"):]
    reasoning = "\n\n".join(t for t in thoughts if t) or None
    return reasoning, answer.strip()
