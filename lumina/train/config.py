"""Training settings: one dataclass, named presets, and the checks that run before any weight loads.

``validate`` is meant to be called from the UI before a run is submitted *and* again by the
runner, so a bad setting fails in a second with a sentence the user can act on, never after the
model has loaded (or, worse, after an hour of training).
"""

from __future__ import annotations

import importlib.util
from dataclasses import asdict, fields
from typing import Any, Callable

from pydantic import ConfigDict, Field, ValidationError, model_validator
from pydantic.dataclasses import dataclass

from lumina.models.device import DeviceInfo
from lumina.errors import InvalidInputError, NotFoundError

METHODS = ("lora", "qlora", "full")


_EXPECTED = {"float_parsing": "a number", "float_type": "a number", "int_parsing": "a whole number",
             "int_type": "a whole number", "int_from_float": "a whole number", "bool_parsing": "true or false",
             "bool_type": "true or false", "string_type": "text", "list_type": "a list"}


# A pydantic dataclass: typed and described like every settings object, and still positional.
# Ranges are checked by ``validate`` (with sentences that say what to change), not here; types
# are strict, so "8" or 8.0 for the rank is refused as before rather than quietly converted.
@dataclass(config=ConfigDict(strict=True))
class TrainConfig:
    base_model: str = Field("smollm2-135m-instruct", description="base student: bundled alias, local path or hub id")
    method: str = Field("lora", description="lora | qlora (4-bit, CUDA) | full")
    lora_r: int = Field(8, description="LoRA rank")
    lora_alpha: int = Field(16, description="LoRA scaling (alpha / r multiplies the update)")
    lora_dropout: float = Field(0.05, description="dropout on the LoRA layers")
    target_modules: str | list[str] = Field("all-linear", description="modules LoRA adapts")
    learning_rate: float = Field(2e-4, description="peak learning rate")
    epochs: float = Field(1.0, description="passes over the train split")
    max_steps: int = Field(-1, description="> 0 overrides epochs")
    batch_size: int = Field(4, description="rows per device step")
    grad_accum: int = Field(1, description="steps accumulated per optimizer update")
    max_length: int = Field(512, description="tokens per row (longer rows are truncated)")
    packing: bool = Field(False, description="pack short rows into one sequence")
    seed: int = Field(0, description="seed for data order and initialisation")
    logging_steps: int = Field(1, description="a metrics line every N steps")
    save_steps: int = Field(25, description="a checkpoint every N steps (resume continues from it)")
    eval_steps: int | None = Field(None, description="evaluate every N steps (None: once at the end)")
    merge: bool = Field(False, description="also write merged/ (base + adapter as one model); LoRA/QLoRA only")

    @model_validator(mode="wrap")
    @classmethod
    def _in_plain_words(cls, data: Any, handler: Any) -> Any:
        # A LuminaError is not a ValueError, so pydantic lets it through: callers see one sentence.
        try:
            return handler(data)
        except ValidationError as e:
            first = e.errors()[0]
            where = str((first.get("loc") or ("config",))[0])
            kind = _EXPECTED.get(first.get("type", ""), "valid")
            raise InvalidInputError(f"{where} must be {kind} (got {first.get('input')!r}).") from None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        if not isinstance(data, dict):
            raise InvalidInputError(f"A training config must be a JSON object, not {type(data).__name__}.")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInputError(f"Unknown training setting(s): {', '.join(unknown)} "
                                    f"(known: {', '.join(sorted(known))}).")
        return cls(**data)


# Starting points shown in the UI; each is a partial dict applied over the defaults.
PRESETS: dict[str, dict[str, Any]] = {
    # A few minutes on a CPU: proves the data, template and pipeline work end to end.
    "quick check": {"max_steps": 20, "learning_rate": 2e-4, "save_steps": 10, "logging_steps": 1},
    # A real run for a small model on a few hundred to a few thousand rows.
    "standard": {"epochs": 3.0, "max_steps": -1, "learning_rate": 2e-4, "lora_r": 16, "lora_alpha": 32,
                 "save_steps": 50, "logging_steps": 5},
}


def from_preset(name: str, **overrides: Any) -> TrainConfig:
    if name not in PRESETS:
        raise InvalidInputError(f"Unknown preset '{name}' (known: {', '.join(PRESETS)}).")
    return TrainConfig.from_dict({**PRESETS[name], **overrides})


def resolve_base_model(name: str) -> str:
    """The base model as a loadable path/hub id, checked without downloading or preparing.

    The bundled model counts as available when its GGUF is installed (the runner prepares it);
    a hub id must already be in the local cache when offline.
    """
    from lumina import models

    try:
        return models.resolve(name, prepare=False)
    except NotFoundError as exc:
        if name.strip().lower() in (models.SMOLLM2, "smollm2", "huggingfacetb/smollm2-135m-instruct"):
            try:
                models.smollm2_gguf()
            except NotFoundError as missing:
                raise InvalidInputError(f"Base model: {missing}") from None
            return str(models.smollm2_dir())  # prepared on first use
        raise InvalidInputError(f"Base model: {exc}") from None


def bundled_ready(name: str, progress: Callable[[str], None] | None = None) -> None:
    """The estimate reads the base model's config.json, which the bundled student has only once
    its GGUF is converted (about a minute): convert it when someone watches ``progress``, else
    say what to run."""
    from lumina import models

    if name.strip().lower() in (models.SMOLLM2, "smollm2", "huggingfacetb/smollm2-135m-instruct"):
        models.resolve(name, prepare=progress is not None, progress=progress or (lambda m: None))


def validate(config: TrainConfig, n_train_rows: int, device: DeviceInfo | None = None,
             mean_tokens_per_row: float | None = None,
             progress: Callable[[str], None] | None = None) -> list[str]:
    """Raise ``InvalidInputError`` for settings that cannot work; return warnings for risky ones.

    ``mean_tokens_per_row`` sharpens the memory check; without it every row is assumed to fill
    ``max_length`` (the worst case, since batches are padded to their longest row). With
    ``progress``, an unprepared bundled base model is prepared (``bundled_ready``).
    """
    from lumina.train.estimate import estimate

    if device is None:
        from lumina.models.device import detect

        device = detect()
    warnings: list[str] = []
    c = config
    for name in ("lora_r", "lora_alpha", "lora_dropout", "learning_rate", "epochs", "max_steps", "batch_size",
                 "grad_accum", "max_length", "seed", "logging_steps", "save_steps"):
        value = getattr(c, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidInputError(f"{name} must be a number (got {value!r}).")
    if c.eval_steps is not None and (isinstance(c.eval_steps, bool) or not isinstance(c.eval_steps, int)):
        raise InvalidInputError(f"eval_steps must be a whole number or empty (got {c.eval_steps!r}).")
    if c.method not in METHODS:
        raise InvalidInputError(f"Unknown training method '{c.method}' (use {', '.join(METHODS)}).")
    if c.method in ("lora", "qlora"):
        if not isinstance(c.lora_r, int) or c.lora_r <= 0:
            raise InvalidInputError(f"LoRA rank must be a positive integer (got {c.lora_r}); 8 or 16 is typical.")
        if c.lora_alpha <= 0:
            raise InvalidInputError(f"LoRA alpha must be positive (got {c.lora_alpha}); twice the rank is typical.")
        if not 0 <= c.lora_dropout < 1:
            raise InvalidInputError(f"LoRA dropout must be in [0, 1) (got {c.lora_dropout}).")
        if not c.target_modules:
            raise InvalidInputError("LoRA target modules are empty; use 'all-linear' or a list of module names.")
    if not c.learning_rate > 0:
        raise InvalidInputError(f"Learning rate must be positive (got {c.learning_rate}).")
    if not isinstance(c.batch_size, int) or c.batch_size <= 0:
        raise InvalidInputError(f"Batch size must be a positive integer (got {c.batch_size}).")
    if not isinstance(c.grad_accum, int) or c.grad_accum <= 0:
        raise InvalidInputError(f"Gradient accumulation must be a positive integer (got {c.grad_accum}).")
    if not isinstance(c.max_length, int) or c.max_length < 16:
        raise InvalidInputError(f"Max length must be at least 16 tokens (got {c.max_length}).")
    if c.max_steps <= 0 and not c.epochs > 0:
        raise InvalidInputError(f"Set epochs > 0 or max_steps > 0 (got epochs={c.epochs}, max_steps={c.max_steps}).")
    for name in ("logging_steps", "save_steps"):
        if getattr(c, name) < 1:
            raise InvalidInputError(f"{name} must be at least 1 (got {getattr(c, name)}).")
    if c.eval_steps is not None and c.eval_steps < 1:
        raise InvalidInputError(f"eval_steps must be at least 1, or empty for no in-training evaluation "
                                f"(got {c.eval_steps}).")
    if n_train_rows <= 0:
        raise InvalidInputError("There are no training rows: add or accept samples before training.")
    if c.method == "qlora":
        if device.kind == "cpu":
            raise InvalidInputError("QLoRA needs a CUDA GPU (4-bit bitsandbytes kernels); this machine has "
                                    "only a CPU. Use LoRA instead.")
        if importlib.util.find_spec("bitsandbytes") is None:
            raise InvalidInputError("QLoRA needs the bitsandbytes package (pip install bitsandbytes); "
                                    "or use LoRA.")
        if device.kind == "rocm":
            warnings.append("bitsandbytes support for ROCm is young; if 4-bit loading fails, use LoRA.")

    resolve_base_model(c.base_model)  # unknown / not available offline fails here, fast
    bundled_ready(c.base_model, progress)  # after every cheap check: preparing takes a minute
    est = estimate(c, n_train_rows, mean_tokens_per_row or c.max_length, device)
    if device.memory_gb:
        if est.memory_gb > device.memory_gb * 0.95:
            hint = "use LoRA" if c.method == "full" else "lower batch size or max length"
            raise InvalidInputError(
                f"This run needs about {est.memory_gb:.1f} GB but the {device.kind.upper()} has "
                f"{device.memory_gb:.1f} GB: {hint}, or pick a smaller base model.")
        if est.memory_gb > device.memory_gb * 0.8:
            warnings.append(f"Estimated memory {est.memory_gb:.1f} GB is close to the {device.memory_gb:.1f} GB "
                            "available; the run may fail for lack of memory.")

    if n_train_rows < 10:
        warnings.append(f"Only {n_train_rows} training rows: expect the model to memorise them, not generalise.")
    if c.method == "full" and c.learning_rate > 1e-4:
        warnings.append(f"Learning rate {c.learning_rate:g} is high for a full fine-tune (1e-5 to 5e-5 is "
                        "typical); the model may forget what it knew.")
    if c.method != "full" and c.learning_rate > 2e-3:
        warnings.append(f"Learning rate {c.learning_rate:g} is high for LoRA (1e-4 to 5e-4 is typical).")
    if c.merge and c.method == "full":
        warnings.append("Merge applies to LoRA adapters only; a full fine-tune already is a whole model.")
    if c.save_steps > est.steps:
        warnings.append(f"save_steps ({c.save_steps}) exceeds the run's {est.steps} steps: no checkpoint is "
                        "written before the end, so an interrupted run starts over.")
    if device.kind == "cpu" and est.seconds > 3600:
        warnings.append(f"On this CPU the run is estimated at {est.seconds / 3600:.1f} h.")
    return warnings
