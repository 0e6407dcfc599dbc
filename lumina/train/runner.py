"""Fine-tune a student: TRL ``SFTTrainer`` with a PEFT LoRA adapter (or a full fine-tune), resumable.

A run lives in one folder::

    config.json        the exact TrainConfig
    environment.json   library versions, device, dataset hash (sha256 of the canonical rows)
    metrics.jsonl      one JSON object per logged step (and per evaluation)
    checkpoints/       HF Trainer checkpoints every save_steps, the last two kept
    adapter/ | model/  the trained LoRA adapter (lora, qlora) or whole model (full)
    merged/            base + adapter merged into one model (merge=True)
    result.json        the TrainResult, written last

Rows are chat conversations (``{"messages": [...]}``). SmolLM2's chat template has no
``{% generation %}`` markers, so TRL's ``assistant_only_loss`` cannot mask the prompt; each row
becomes prompt/completion instead (prompt = every turn before the last assistant turn, completion
= that turn), which TRL masks by default. Earlier assistant turns are context, not targets.

Resume: when ``checkpoints/`` holds a complete checkpoint, training continues from the newest
one; the Trainer restores optimizer, scheduler and RNG state and skips the batches already seen,
so the result matches an uninterrupted run. The config and the data must be the same as before.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from lumina.errors import InvalidInputError
from lumina.train.config import TrainConfig, validate

log = logging.getLogger(__name__)
from lumina.train.data import approx_tokens_per_row, dataset_hash, to_prompt_completion  # noqa: F401 - re-exported
from lumina.train.run_folder import CHECKPOINT_PREFIX, _is_main_process, _step_of, _write_json, environment, latest_checkpoint, read_metrics  # noqa: F401 - re-exported
from lumina.train.callbacks import _callbacks


@dataclass
class TrainResult:
    status: str  # "done" | "cancelled"
    steps: int
    train_loss_first: float | None
    train_loss_last: float | None
    final_eval_loss: float | None
    adapter_dir: str | None  # adapter/ (LoRA, QLoRA) or model/ (full); None when cancelled
    merged_dir: str | None
    seconds: float  # training time over every attempt of this run
    tokens_per_s: float  # non-padding tokens trained / training time, this attempt
    resumed_from_step: int | None = None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- precision -------------------------------------------------------------------------------

def precision(device) -> str:
    """"fp32" on CPU (bf16 autocast raises there in this stack), else "bf16" where the GPU has it."""
    if device.kind == "cpu":
        return "fp32"
    import torch

    return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "fp16"


# -- the run ---------------------------------------------------------------------------------

def _load_model(path: str, config: TrainConfig, prec: str, device):
    import torch
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {}
    if config.method == "qlora":
        from transformers import BitsAndBytesConfig

        compute = torch.bfloat16 if prec == "bf16" else torch.float16
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=compute)
        kwargs["dtype"] = compute
    elif config.method == "lora" and prec == "bf16":
        kwargs["dtype"] = torch.bfloat16  # the frozen base in bf16 halves its memory
    else:
        kwargs["dtype"] = torch.float32  # CPU, or full fine-tune with fp32 master weights (amp)
    if config.method == "qlora":  # 4-bit weights are placed at load time, one copy per process's GPU
        kwargs["device_map"] = {"": int(os.environ.get("LOCAL_RANK", "0"))}
    return AutoModelForCausalLM.from_pretrained(path, **kwargs)


def _sft_args(run_dir: Path, config: TrainConfig, prec: str, device, has_eval: bool, gradient_checkpointing: bool):
    from trl import SFTConfig

    in_training_eval = has_eval and config.eval_steps is not None
    return SFTConfig(
        output_dir=str(run_dir / "checkpoints"),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps if config.max_steps > 0 else -1,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.learning_rate,
        logging_steps=config.logging_steps,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=2,
        eval_strategy="steps" if in_training_eval else "no",
        eval_steps=config.eval_steps if in_training_eval else None,
        seed=config.seed,
        data_seed=config.seed,
        max_length=config.max_length,
        packing=config.packing,
        # TRL defaults bf16=True, which raises on CPU; precision is chosen per device instead.
        bf16=prec == "bf16",
        fp16=prec == "fp16",
        use_cpu=device.kind == "cpu",
        # TRL turns checkpointing on by default; it recomputes activations in the backward pass
        # (time) to save memory a small model does not need, so it is on only when the estimate
        # says memory is tight.
        gradient_checkpointing=gradient_checkpointing,
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        save_only_model=False,  # optimizer + scheduler + RNG: needed to resume exactly
        include_num_input_tokens_seen="non_padding",  # tokens/s counts real tokens, not padding
    )


def train(run_dir: Path, train_rows: list[dict], eval_rows: list[dict], config: TrainConfig,
          on_log: Callable[[dict], None] = lambda metrics: None,
          should_stop: Callable[[], bool] = lambda: False) -> TrainResult:
    """Train (or resume) the run in ``run_dir``. See the module docstring for what it writes."""
    from lumina.teachers.backends.transformers_backend import prefer_passive_omp

    prefer_passive_omp()  # only takes effect before torch loads; see that module on CPU contention
    from lumina.models.device import detect
    from lumina.train.estimate import estimate

    run_dir = Path(run_dir)
    eval_rows = list(eval_rows or [])
    device = detect()
    warnings = validate(config, len(train_rows), device, mean_tokens_per_row=approx_tokens_per_row(train_rows))
    train_pc = [to_prompt_completion(r, i, "train") for i, r in enumerate(train_rows)]
    eval_pc = [to_prompt_completion(r, i, "eval") for i, r in enumerate(eval_rows)]
    data_hash = dataset_hash(train_rows, eval_rows)
    main = _is_main_process()

    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_dir = run_dir / "checkpoints"
    resume = latest_checkpoint(ckpt_dir)
    resumed_step, resumed_elapsed = 0, 0.0
    if resume is not None:
        _check_same_run(run_dir, config, data_hash)
        resumed_step = _step_of(resume)
    if main:
        metrics = [m for m in read_metrics(run_dir) if resume is not None and m.get("step", 0) <= resumed_step]
        # Steps logged after the checkpoint are trained again: drop them so each step appears once.
        (run_dir / "metrics.jsonl").write_text("".join(json.dumps(m) + "\n" for m in metrics), encoding="utf-8")
        resumed_elapsed = max((m.get("elapsed_s") or 0.0 for m in metrics), default=0.0)
        (run_dir / "result.json").unlink(missing_ok=True)
        _write_json(run_dir / "config.json", config.to_dict())

    from lumina import models

    model_path = models.resolve(config.base_model)  # prepares the bundled model on first use
    if main:
        _write_json(run_dir / "environment.json", environment(device, data_hash, model_path))

    import torch
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import SFTTrainer

    prec = precision(device)
    est = estimate(config, len(train_rows), approx_tokens_per_row(train_rows), device)
    checkpointing = bool(device.memory_gb) and est.memory_gb > 0.6 * device.memory_gb
    tok = AutoTokenizer.from_pretrained(model_path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    if tok.chat_template is None:
        raise InvalidInputError(f"The base model {config.base_model} has no chat template; fine-tune an "
                                "instruct/chat model.")
    model = _load_model(model_path, config, prec, device)
    peft_config = None
    if config.method in ("lora", "qlora"):
        from peft import LoraConfig

        peft_config = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                                 target_modules=config.target_modules, task_type="CAUSAL_LM")
    metrics_cb, stop_cb = _callbacks(run_dir, on_log, should_stop, resumed_step, resumed_elapsed)
    trainer = SFTTrainer(
        model=model, args=_sft_args(run_dir, config, prec, device, bool(eval_pc), checkpointing),
        train_dataset=Dataset.from_list(train_pc), eval_dataset=Dataset.from_list(eval_pc) if eval_pc else None,
        processing_class=tok, peft_config=peft_config, callbacks=[metrics_cb, stop_cb],
    )
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # stdout is for metrics lines (see __main__)
    kept = len(trainer.train_dataset)
    if kept == 0:
        raise InvalidInputError(f"Every training row's prompt is longer than max_length={config.max_length}, "
                                "so no answer tokens are left to train on: raise max_length.")
    if kept < len(train_pc):
        warnings.append(f"{len(train_pc) - kept} training row(s) were skipped: the prompt fills max_length "
                        f"({config.max_length}), leaving no answer tokens.")
    for w in warnings:
        log.warning("%s", w)

    t_start = time.monotonic()
    out = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    t_train = time.monotonic() - t_start
    runtime = float(out.metrics.get("train_runtime") or metrics_cb.seconds or t_train)
    tokens_per_s = metrics_cb.tokens / runtime if runtime > 0 else 0.0
    status = "cancelled" if stop_cb.stopped else "done"
    steps = int(trainer.state.global_step)

    final_eval = None
    adapter_dir = merged_dir = None
    if status == "done":
        if eval_pc and len(trainer.eval_dataset or []) > 0:
            # The Trainer already evaluates the last step when eval_steps is set; don't repeat it.
            last = [m for m in trainer.state.log_history if "eval_loss" in m and m.get("step") == steps]
            final_eval = float(last[-1]["eval_loss"] if last else trainer.evaluate()["eval_loss"])
        target = run_dir / ("model" if config.method == "full" else "adapter")
        _save_atomic(trainer, tok, target)
        adapter_dir = str(target)
    del trainer, model
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    if status == "done" and config.merge and config.method != "full" and main:
        merged_dir = str(merge_adapter(model_path, adapter_dir, run_dir / "merged", prec))

    losses = [m["loss"] for m in read_metrics(run_dir) if m.get("loss") is not None]
    result = TrainResult(
        status=status, steps=steps,
        train_loss_first=losses[0] if losses else None, train_loss_last=losses[-1] if losses else None,
        final_eval_loss=final_eval, adapter_dir=adapter_dir, merged_dir=merged_dir,
        seconds=round(resumed_elapsed + t_train, 2), tokens_per_s=round(tokens_per_s, 2),
        resumed_from_step=resumed_step if resume is not None else None, warnings=warnings,
    )
    if main:
        _write_json(run_dir / "result.json", result.to_dict())
    return result


def _check_same_run(run_dir: Path, config: TrainConfig, data_hash: str) -> None:
    """A resume must continue the same run: same settings, same rows."""
    saved_cfg = run_dir / "config.json"
    if saved_cfg.exists():
        before = json.loads(saved_cfg.read_text(encoding="utf-8"))
        if before != config.to_dict():
            changed = sorted(k for k in set(before) | set(config.to_dict())
                             if before.get(k) != config.to_dict().get(k))
            raise InvalidInputError(f"{run_dir} holds checkpoints of a run with other settings "
                                    f"({', '.join(changed)} differ): use a new run folder, or the same settings.")
    env = run_dir / "environment.json"
    if env.exists():
        before_hash = json.loads(env.read_text(encoding="utf-8")).get("dataset_sha256")
        if before_hash and before_hash != data_hash:
            raise InvalidInputError(f"{run_dir} holds checkpoints trained on other rows (dataset hash differs): "
                                    "use a new run folder to train on the new data.")


def _save_atomic(trainer, tok, target: Path) -> None:
    """Write into a temp folder, then rename: a kill mid-save never leaves a half adapter behind."""
    if not trainer.is_world_process_zero():
        trainer.save_model(str(target.with_name(f".{target.name}.rank")))  # collective under FSDP/DeepSpeed
        return
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    trainer.save_model(str(tmp))
    tok.save_pretrained(str(tmp))
    if target.exists():
        shutil.rmtree(target)
    os.replace(tmp, target)


def merge_adapter(model_path: str, adapter_dir: str, target: Path, prec: str = "fp32") -> Path:
    """Base + adapter as one plain model folder (reloads the base unquantised, so QLoRA works too)."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(prec, torch.float32)
    base = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype)
    merged = PeftModel.from_pretrained(base, adapter_dir).merge_and_unload()
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    merged.save_pretrained(str(tmp), safe_serialization=True)
    AutoTokenizer.from_pretrained(adapter_dir).save_pretrained(str(tmp))
    if target.exists():
        shutil.rmtree(target)
    os.replace(tmp, target)
    del merged, base
    gc.collect()
    return target

