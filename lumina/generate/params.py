"""Generation settings: one pydantic model, validated once, rendered by the CLI and the page."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from lumina.teachers.base import GenParams


# Evol-Instruct's in-depth operations plus its in-breadth one (Xu et al., WizardLM).
EVOLVE_OPERATIONS = ("deepen", "constraints", "concretise", "reasoning", "broaden")
# DROP-style reading comprehension asks for more than look-ups: mix the kinds of question.
QUESTION_TYPES = ("factual recall", "multi-step reasoning", "numerical reasoning", "comparison",
                  "cause and effect")


SAMPLE_STATUSES = ("pending", "approved", "rejected")


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
    # grounded mode
    question_types: list[str] = Field(
        default_factory=lambda: list(QUESTION_TYPES), min_length=1,
        description="grounded: kinds of question asked about each passage, in turn")
    show_reasoning: bool = Field(True, description="grounded: the answer shows its reasoning and evidence "
                                                   "(chain of thought); off: the final answer only")
    # evolve mode (Evol-Instruct)
    operations: list[str] = Field(default_factory=lambda: list(EVOLVE_OPERATIONS), min_length=1,
                                  description="evolve: how instructions are made harder, in turn")
    source_ids: list[int] | None = Field(None, description="evolve: the samples to evolve (default: all)")
    source_status: str | None = Field(None, description="evolve: only samples of this status")

    @field_validator("operations")
    @classmethod
    def _known_operations(cls, v: list[str]) -> list[str]:
        bad = [o for o in v if o not in EVOLVE_OPERATIONS]
        if bad:
            raise ValueError(f"unknown operation(s) {', '.join(bad)}; use {', '.join(EVOLVE_OPERATIONS)}")
        return v

    @field_validator("source_status")
    @classmethod
    def _known_status(cls, v: str | None) -> str | None:
        if v is not None and v not in SAMPLE_STATUSES:
            raise ValueError(f"status must be one of {', '.join(SAMPLE_STATUSES)}")
        return v

    @field_validator("question_types")
    @classmethod
    def _clean_types(cls, v: list[str]) -> list[str]:
        v = [" ".join(t.split()) for t in v if t and t.strip()]
        if not v:
            raise ValueError("give at least one question type")
        return v
