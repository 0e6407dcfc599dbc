"""The teacher seam: one small protocol, one module per backend.

A teacher turns chat conversations into completions. Backends batch however suits them; the
caller hands over many requests at once. Structured (JSON-schema) output is requested where the
backend supports it; callers always validate (see ``structured.py``), because no backend's
guarantee is trusted blindly.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from lumina.records import Message


class GenParams(BaseModel):
    """Sampling parameters shared by every backend."""

    max_tokens: int = Field(256, ge=1, le=32768)
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)  # top-p halves vLLM's CPU speed: off by default
    seed: int | None = None
    json_schema: dict[str, Any] | None = None  # request structured output when set
    stop: list[str] | None = None

    def cache_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def without_seed(self) -> str:
        """Grouping key: requests that differ only by seed can share a batch."""
        d = self.cache_dict()
        d.pop("seed")
        return json.dumps(d, sort_keys=True)


@dataclass
class ChatRequest:
    messages: list[Message]
    params: GenParams


@dataclass
class Completion:
    text: str
    finish_reason: str | None = None  # "stop" | "length" | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: str | None = None  # set when the backend failed for this request (text may be "")
    cached: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Completion":
        return cls(**d)


@runtime_checkable
class Teacher(Protocol):
    """What every backend provides."""

    backend: str  # "transformers" | "vllm" | "openai" | ...
    model: str  # model id / path / served name, as the user named it

    def chat(self, requests: list[ChatRequest]) -> list[Completion]:
        """One completion per request, in order. Per-request failures go in ``Completion.error``;
        an exception means the backend itself is unusable (not loaded, endpoint unreachable)."""
        ...

    def close(self) -> None: ...


def cache_key(model_identity: str, messages: list[Message], params: GenParams) -> str:
    """Content hash of a teacher call.

    Canonical form: JSON with sorted keys and no whitespace of
    ``{"model": ..., "messages": [...], "params": {...}}`` where params includes the seed and
    the JSON schema. Changing this function changes every key (the cache then misses, nothing
    breaks).
    """
    payload = {"model": model_identity, "messages": messages, "params": params.cache_dict()}
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
