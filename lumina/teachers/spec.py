"""Teacher specs ('backend:model') and the one registry every backend goes through."""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any, Callable

from pydantic import BaseModel

from lumina.errors import TeacherError
from lumina.plugins import Registry
from lumina.teachers.base import Teacher

BUNDLED_LLM = "smollm2-135m-instruct"


@dataclass(frozen=True)
class Backend:
    """What a teacher backend declares (one file in ``lumina/teachers/backends/``).

    ``factory`` is "module:function" taking ``(TeacherSpec, **options) -> Teacher``, imported only
    when a teacher is built, so listing backends never loads an engine. A ``remote`` backend
    answers over the network: its URL must pass the allow-list, it is probed in the web process,
    and it takes ``options`` (a pydantic model) from the project's settings.
    """

    name: str
    factory: str
    help: str = ""
    remote: bool = False
    options: type[BaseModel] | None = None
    parse: Callable[[str, str, str], "TeacherSpec"] | None = None  # (backend, spec, rest); default: rest is the model
    unavailable: Callable[[], str | None] | None = None  # why it cannot run here, or None
    position: int = 1000  # where lists and messages name it (the built-ins first)

    def load_factory(self) -> Callable[..., Teacher]:
        module_name, _, fn = self.factory.partition(":")
        return getattr(importlib.import_module(module_name), fn)

BACKENDS: Registry[Backend] = Registry("teacher backend", "lumina.teachers.backends")


@dataclass(frozen=True)
class TeacherSpec:
    backend: str
    model: str
    base_url: str | None = None  # backends that answer over HTTP

    def __str__(self) -> str:
        return f"{self.backend}:{self.base_url}#{self.model}" if self.base_url else f"{self.backend}:{self.model}"


def parse_url_spec(backend: str, spec: str, rest: str, what: str = "Teacher spec") -> TeacherSpec:
    """'URL#MODEL' for backends that reach a server: an http(s) URL with a host, then the model."""
    url, hash_, model = rest.partition("#")
    if not url.startswith(("http://", "https://")) or not hash_ or not model:
        raise TeacherError(f"{what} '{spec}' must look like {backend}:http://HOST:PORT/v1#MODEL.")
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        parts = None
    if parts is None or not parts.hostname:
        raise TeacherError(f"{what} '{spec}' has no valid host in its URL.")
    return TeacherSpec(backend, model, url.rstrip("/"))


def backend_of(spec: str | TeacherSpec) -> Backend:
    return BACKENDS.get((parse_spec(spec) if isinstance(spec, str) else spec).backend)


def parse_spec(spec: str) -> TeacherSpec:
    """Parse 'BACKEND:REST': 'transformers:MODEL', 'vllm:MODEL', 'openai:URL#MODEL', or a plugin's."""
    spec = (spec or "").strip()
    backend, sep, rest = spec.partition(":")
    names = BACKENDS.names()
    if not sep or not rest:
        raise TeacherError(
            f"Teacher spec '{spec}' is not of the form BACKEND:MODEL "
            f"(backends: {', '.join(names)}; e.g. transformers:{BUNDLED_LLM})."
        )
    if backend not in names:
        raise TeacherError(f"Unknown teacher backend '{backend}' (known: {', '.join(names)}).")
    b = BACKENDS.get(backend)
    return b.parse(backend, spec, rest) if b.parse else TeacherSpec(backend, rest)


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
    b = BACKENDS.get(ts.backend)
    missing = b.unavailable() if b.unavailable else None
    if missing:
        raise TeacherError(missing)
    return b.load_factory()(ts, **options)
