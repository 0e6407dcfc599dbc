"""The `eval` job's settings: light to import (the CLI reads its defaults and help from here)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from pydantic import Field
from pydantic.dataclasses import dataclass


@dataclass
class EvalRequest:
    run_id: int = Field(description="the training run to evaluate")
    evalsets: list[str] = Field(default_factory=list, description="general eval sets for the forgetting check")
    judge: bool = Field(True, description="pairwise judge with the project's teacher")
    prompts: int = Field(20, description="eval prompts both students answer (and the judge compares)")
    max_new_tokens: int = Field(128, description="longest answer per prompt, in tokens")
    max_items: int = Field(200, description="rows per loss figure (a sample of bigger sets)")
    forgetting_threshold: float = Field(0.05, description="warn above this relative loss increase on a general set")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
