"""Generation settings: one pydantic model, validated once, rendered by the CLI and the page.

The settings every mode shares are fields here; a mode's own settings live in ``options``,
validated by that mode's ``Options`` model (``lumina/generate/modes/<mode>.py``). Job params
stored by earlier versions had those settings flat at the top level; they are folded into
``options`` on load, so old jobs still show and resume.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, ValidationError, ValidationInfo, field_validator, model_validator

from lumina.teachers.base import GenParams

# Kept here, not in the evolve mode: the CLI's --status checks import it without loading the modes.
SAMPLE_STATUSES = ("pending", "approved", "rejected")


def __getattr__(name: str):
    # Earlier homes of the built-in modes' choices; they now belong to their modes.
    if name == "EVOLVE_OPERATIONS":
        from lumina.generate.modes.evolve import EVOLVE_OPERATIONS

        return EVOLVE_OPERATIONS
    if name == "QUESTION_TYPES":
        from lumina.generate.modes.grounded import QUESTION_TYPES

        return QUESTION_TYPES
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    options: dict[str, Any] = Field(default_factory=dict, validate_default=True,
                                    description="the mode's own settings (its Options model)")

    @model_validator(mode="before")
    @classmethod
    def _fold_flat_options(cls, data: Any) -> Any:
        """Fold the mode's settings given at the top level (stored jobs, older callers) into
        ``options``. Earlier versions stored every mode's settings on every job, so a key the
        mode does not declare is dropped, as unknown keys always were."""
        if not isinstance(data, dict):
            return data
        flat = [k for k in data if k not in cls.model_fields]
        if not flat:
            return data
        from lumina.generate import find_mode

        mode = find_mode(data.get("mode", "taxonomy"))
        own = mode.Options.model_fields if mode is not None else {}
        folded = {k: data[k] for k in flat if k in own}
        given = data.get("options")
        out = {k: v for k, v in data.items() if k in cls.model_fields}
        out["options"] = {**folded, **given} if isinstance(given, dict) else (given if given is not None else folded)
        return out

    @field_validator("options")
    @classmethod
    def _mode_options(cls, v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        from lumina.generate import find_mode

        mode = find_mode(info.data.get("mode"))
        if mode is None:  # an unknown mode is reported by get_mode, with the list of modes
            return v
        try:
            # Stored with every default filled in: a job records exactly the settings it ran with.
            return mode.Options.model_validate(v).model_dump(mode="json")
        except ValidationError as exc:
            e = exc.errors()[0]
            where = ".".join(map(str, e["loc"]))
            msg = e["msg"].removeprefix("Value error, ")
            raise ValueError(f"{where}: {msg}" if where else msg) from None
