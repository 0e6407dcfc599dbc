"""How long a training run will take and how much memory it needs: an estimate, not a promise.

Everything comes from the model's ``config.json`` (no weights are loaded) and a few constants:

- Speed on CPU scales one measurement: SmolLM2-135M, LoRA r 8 on all linear layers, fp32, batch 4,
  2 cores (see ``CPU_TOKENS_PER_S``). Time is taken as proportional to parameters x tokens, and a
  full fine-tune costs 1.5x LoRA per token (it also computes the weight gradients: ~6N instead of
  ~4N FLOPs per token).
- Speed on a GPU is a FLOP count divided by an assumed effective rate (``GPU_EFFECTIVE_FLOPS``),
  which is a rough guess for small models that leave most of a GPU idle; it was not measured here.
- Memory = weights + (gradients + AdamW moments) of the trainable parameters + activations of one
  micro-batch + the logits + a fixed runtime overhead.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lumina.models.device import DeviceInfo
from lumina.errors import InvalidInputError

# Measured on 2 Xeon cores shared with other work (LoRA r 8, all-linear, fp32, batch 4, max length
# 128-256): 40-100 non-padding tokens/s (tests/test_train.py rows of ~55 tokens; the demo samples
# of ~130 tokens in benchmarks/training.py: 35-54). The low end is used so an estimate errs long.
CPU_TOKENS_PER_S = 50.0
CPU_REFERENCE_PARAMS = 134.5e6
CPU_REFERENCE_CORES = 2
GPU_EFFECTIVE_FLOPS = 25e12  # per GPU, bf16; a guess (see the module docstring)
# python + torch + transformers/TRL/datasets and load-time copies: a 135M LoRA run at max length
# 128 peaked at 2.3 GB RSS, where the terms below give 0.9 GB.
OVERHEAD_GB = 1.4

# SmolLM2-135M-Instruct, so the bundled model can be estimated before it is prepared.
_BUNDLED_CONFIG = {"model_type": "llama", "hidden_size": 576, "intermediate_size": 1536,
                   "num_hidden_layers": 30, "num_attention_heads": 9, "num_key_value_heads": 3,
                   "head_dim": 64, "vocab_size": 49152, "tie_word_embeddings": True}

_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass
class ModelShape:
    params: int
    hidden: int
    layers: int
    vocab: int
    linear: dict[str, tuple[int, int]]  # per-layer linear modules: name -> (in, out)

    def lora_params(self, rank: int, targets: str | list[str]) -> int:
        names = _LINEAR if targets == "all-linear" else [n for n in _LINEAR if any(
            t == n or n.endswith(t) for t in ([targets] if isinstance(targets, str) else targets))]
        per_layer = sum(rank * (self.linear[n][0] + self.linear[n][1]) for n in names)
        return per_layer * self.layers


@dataclass
class Estimate:
    steps: int
    tokens: int
    seconds: float
    memory_gb: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"steps": self.steps, "tokens": self.tokens, "seconds": self.seconds,
                "memory_gb": self.memory_gb, "notes": list(self.notes)}


def model_config(path: str) -> dict[str, Any]:
    """The model's config.json as a dict, from a local folder or the Hugging Face cache only."""
    p = Path(path)
    if p.is_dir():
        f = p / "config.json"
        if f.exists():
            return json.loads(f.read_text(encoding="utf-8"))
        from lumina import models

        if p == models.smollm2_dir():  # bundled, not prepared yet
            return dict(_BUNDLED_CONFIG)
        raise InvalidInputError(f"{p} has no config.json: training needs a transformers model folder "
                                "(a GGUF file cannot be fine-tuned directly).")
    import os

    from huggingface_hub import hf_hub_download, try_to_load_from_cache

    found = try_to_load_from_cache(path, "config.json")
    if not isinstance(found, str) and os.environ.get("HF_HUB_OFFLINE", "0") not in ("1", "true", "True"):
        try:  # only the small config file; huggingface_hub's own timeouts (10 s) bound the wait
            found = hf_hub_download(path, "config.json", etag_timeout=10)
        except Exception as exc:
            raise InvalidInputError(f"Cannot fetch the config of '{path}' from the Hugging Face hub "
                                    f"({type(exc).__name__}); check the name and the network, or pass a "
                                    "local model folder.") from None
    if not isinstance(found, str):
        raise InvalidInputError(f"The config of '{path}' is not in the local Hugging Face cache (offline); "
                                "download the model first and pass its folder.")
    return json.loads(Path(found).read_text(encoding="utf-8"))


def shape(config: dict[str, Any]) -> ModelShape:
    """Parameter count of a decoder-only transformer from its config (Llama-style layout)."""
    cfg = config.get("text_config") or config  # multimodal wrappers keep the LM config inside
    try:
        h = int(cfg["hidden_size"])
        layers = int(cfg["num_hidden_layers"])
        vocab = int(cfg["vocab_size"])
    except (KeyError, TypeError, ValueError):
        raise InvalidInputError("The model's config.json lacks hidden_size / num_hidden_layers / vocab_size; "
                                "cannot estimate this architecture.") from None
    heads = int(cfg.get("num_attention_heads") or max(1, h // 64))
    kv = int(cfg.get("num_key_value_heads") or heads)
    head_dim = int(cfg.get("head_dim") or h // heads)
    inter = int(cfg.get("intermediate_size") or 4 * h)
    experts = int(cfg.get("num_local_experts") or cfg.get("num_experts") or 1)
    linear = {"q_proj": (h, heads * head_dim), "k_proj": (h, kv * head_dim), "v_proj": (h, kv * head_dim),
              "o_proj": (heads * head_dim, h), "gate_proj": (h, inter), "up_proj": (h, inter),
              "down_proj": (inter, h)}
    attn = sum(i * o for n, (i, o) in linear.items() if n.endswith(("q_proj", "k_proj", "v_proj", "o_proj")))
    mlp = 3 * h * inter * experts
    per_layer = attn + mlp + 2 * h  # two norms
    embed = vocab * h
    tied = bool(cfg.get("tie_word_embeddings", config.get("tie_word_embeddings", True)))
    params = embed + layers * per_layer + h + (0 if tied else embed)
    return ModelShape(params=params, hidden=h, layers=layers, vocab=vocab, linear=linear)


def steps_for(config, n_train_rows: int, n_devices: int = 1) -> int:
    """Optimizer steps the Trainer will run (max_steps wins over epochs, as in HF Trainer)."""
    if config.max_steps > 0:
        return int(config.max_steps)
    batches = math.ceil(n_train_rows / (config.batch_size * n_devices))
    per_epoch = max(1, batches // config.grad_accum + (1 if batches % config.grad_accum else 0))
    return max(1, math.ceil(per_epoch * config.epochs))


def estimate(config, n_train_rows: int, mean_tokens_per_row: float, device: DeviceInfo) -> Estimate:
    from lumina.train.config import resolve_base_model

    m = shape(model_config(resolve_base_model(config.base_model)))
    n_dev = max(1, device.count) if device.kind != "cpu" else 1
    tokens_row = max(1.0, min(float(mean_tokens_per_row), float(config.max_length)))
    steps = steps_for(config, n_train_rows, n_dev)
    rows_per_step = config.batch_size * config.grad_accum * n_dev
    if config.max_steps <= 0:  # the last batch of an epoch may be short
        rows_per_step = min(rows_per_step, max(1, n_train_rows))
    tokens = int(steps * rows_per_step * tokens_row)
    full = config.method == "full"
    notes = ["An estimate from the model's config and a simple cost model; real runs vary by ±50%."]

    if device.kind == "cpu":
        import os

        cores = os.cpu_count() or CPU_REFERENCE_CORES
        rate = CPU_TOKENS_PER_S * (CPU_REFERENCE_PARAMS / m.params) * (cores / CPU_REFERENCE_CORES)
        seconds = tokens / rate * (1.5 if full else 1.0)
        notes.append(f"CPU speed scaled from a measurement on {CPU_REFERENCE_CORES} cores "
                     f"({CPU_TOKENS_PER_S:.0f} tokens/s at 135M parameters, LoRA, fp32).")
    else:
        flops = (6 if full else 4) * m.params * tokens
        seconds = flops / (GPU_EFFECTIVE_FLOPS * n_dev * (0.9 if n_dev > 1 else 1.0))
        notes.append("GPU speed assumes an effective 25 TFLOP/s per GPU: a rough guess, not a measurement.")

    # Bytes per weight: fp32 on CPU; bf16 base on GPU for LoRA; ~4.5 bits for QLoRA (NF4 + scales),
    # embeddings kept in bf16; fp32 master weights for a full fine-tune (mixed precision).
    if device.kind == "cpu" or full:
        weights = m.params * 4.0
    elif config.method == "qlora":
        weights = (m.params - m.vocab * m.hidden) * 0.56 + m.vocab * m.hidden * 2.0
    else:
        weights = m.params * 2.0
    trainable = m.params if full else m.lora_params(config.lora_r, config.target_modules)
    # LoRA: fp32 adapter weights + grads + two AdamW moments; full: grads + moments (weights counted above).
    train_state = trainable * (12.0 if full else 16.0)
    act_bytes = 4.0 if device.kind == "cpu" else 2.0
    micro_tokens = config.batch_size * (config.max_length if config.packing else tokens_row)
    # ~34 * hidden values kept per token per layer for backward (Korthikanti et al., fused attention).
    activations = micro_tokens * m.layers * m.hidden * 34 * (act_bytes / 2)
    logits = micro_tokens * m.vocab * 4.0 * 3  # fp32 logits, log-probs and their gradient
    memory_gb = (weights + train_state + activations + logits) / 2**30 + OVERHEAD_GB
    notes.append(f"{m.params / 1e6:.0f}M parameters, {trainable / 1e6:.1f}M trainable.")
    return Estimate(steps=steps, tokens=tokens, seconds=float(seconds), memory_gb=float(memory_gb), notes=notes)
