"""A project's settings for remote (OpenAI-compatible) teachers: one model, validated once,
rendered by the CLI (`lumina project update`) and the Generate page."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field



class RemoteOptions(BaseModel):
    concurrency: int = Field(8, ge=1, le=256, description="requests in flight at once (openai teachers)")
    timeout_s: float = Field(120.0, ge=1, le=3600, description="seconds to wait for one answer before retrying")
    max_retries: int = Field(3, ge=0, le=10, description="retries of a failed request (timeouts, 429, 5xx)")


def of(settings: dict[str, Any] | None) -> RemoteOptions:
    return RemoteOptions.model_validate((settings or {}).get("teacher_options") or {})


def for_spec(spec: str, settings: dict[str, Any] | None) -> dict[str, Any]:
    """Backend keyword options for ``spec`` from a project's settings (the backends that declare them)."""
    from lumina.teachers.spec import backend_of

    model = backend_of(spec).options
    if model is None:
        return {}
    return model.model_validate((settings or {}).get("teacher_options") or {}).model_dump()
