"""Generation settings: one pydantic model, validated once, rendered by the CLI and the page."""

from __future__ import annotations

from pydantic import BaseModel, Field

from lumina.teachers.base import GenParams


class GenerateParams(BaseModel):
    mode: str = "taxonomy"
    n: int = Field(8, ge=1, le=10_000_000, description="how many samples to generate")
    seed: int = Field(0, description="base seed: plans and per-item teacher seeds derive from it")
    batch_size: int = Field(16, ge=1, le=4096, description="items per teacher batch and per DB write")
    instruction_teacher: str | None = Field(None, description="teacher spec for instructions (default: the project's)")
    answer_teacher: str | None = Field(None, description="teacher spec for answers (default: the project's)")
    # A high temperature makes instructions diverse (LuminaSFT used 1.0); answers stay careful.
    instruction_params: GenParams = Field(default_factory=lambda: GenParams(max_tokens=128, temperature=1.0))
    answer_params: GenParams = Field(default_factory=lambda: GenParams(max_tokens=384, temperature=0.7))
    retries: int = Field(2, ge=0, le=10, description="extra attempts for malformed structured output")
    # seeded mode
    seed_examples: int = Field(3, ge=1, le=20, description="seeded: seed tasks shown to the teacher per new task")
    # regenerate mode (LuminaSFT regenerated up to 3 turns of multi-turn chats)
    max_turns: int = Field(3, ge=1, le=50, description="regenerate: user turns answered per conversation")
