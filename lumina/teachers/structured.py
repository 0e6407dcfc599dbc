"""Structured answers: request JSON, validate it, retry a malformed one, then record the failure.

Validation is never skipped, even where the backend constrains decoding: a small model can
still stop at the length limit mid-object, and hosted APIs sometimes ignore the schema.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from lumina.teachers.base import ChatRequest, Completion
from lumina.teachers.postprocess import split_reasoning

T = TypeVar("T", bound=BaseModel)

_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


@dataclass
class StructuredResult(Generic[T]):
    value: T | None
    raw: list[str] = field(default_factory=list)  # every attempt's raw text, in order
    error: str | None = None
    completions: list[Completion] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.value is not None


def parse_json(text: str, model: type[T]) -> T:
    """Parse a teacher's JSON answer; tolerate code fences and a leading <think> block."""
    _, body = split_reasoning(text)
    body = body.strip()
    m = _FENCE.match(body)
    if m:
        body = m.group(1)
    if not body.startswith("{"):
        start = body.find("{")
        end = body.rfind("}")
        if start >= 0 and end > start:
            body = body[start : end + 1]
    data: Any = json.loads(body)
    return model.model_validate(data)


def chat_structured(teacher, requests: list[ChatRequest], model: type[T], retries: int = 2,
                    request_schema: dict[str, Any] | None = None) -> list[StructuredResult[T]]:
    """Ask every request for JSON matching ``model``; retry failures with a new seed.

    ``request_schema`` (default: ``model``'s) is what the backend is asked to follow; it may be
    stricter than ``model`` (e.g. an exact item count for constrained decoding) while validation
    stays lenient for servers that ignore it."""
    schema = request_schema or model.model_json_schema()
    results = [StructuredResult[T](value=None) for _ in requests]
    pending = list(range(len(requests)))
    for attempt in range(retries + 1):
        if not pending:
            break
        batch = []
        for i in pending:
            p = requests[i].params.model_copy(update={"json_schema": schema})
            if attempt:
                # A new seed gives a new cache key and, usually, a different answer.
                p.seed = (p.seed or 0) + attempt * 1_000_003
            batch.append(ChatRequest(requests[i].messages, p))
        completions = teacher.chat(batch)
        still = []
        for i, c in zip(pending, completions):
            r = results[i]
            r.completions.append(c)
            r.raw.append(c.text)
            if not c.ok:
                r.error = c.error
                still.append(i)
                continue
            try:
                r.value = parse_json(c.text, model)
                r.error = None
            except (json.JSONDecodeError, ValidationError, ValueError) as exc:
                reason = "cut off at the length limit" if c.finish_reason == "length" else "malformed"
                r.error = f"{reason} JSON after {attempt + 1} attempt(s): {_short(exc)}"
                still.append(i)
        pending = still
    return results


def _short(exc: Exception) -> str:
    return str(exc).replace("\n", " ")[:200]
