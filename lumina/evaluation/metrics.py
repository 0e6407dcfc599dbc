"""Model-side evaluation: held-out loss / perplexity, and greedy answers for judging.

The loss is masked exactly like training (``lumina.train.runner``): each chat row becomes prompt
(every turn before the last assistant turn) + completion (that turn), tokenised with the chat
template the way TRL does it, and only completion tokens count. It is the mean over all those
tokens of all rows (a long answer weighs more than a short one), and perplexity = exp(loss).

Each call loads its model and drops it on return: nothing is cached between calls, so comparing
a base model with a tuned one can never pick up the wrong weights.
"""

from __future__ import annotations

import gc
import math
from lumina.errors import InvalidInputError


def _load(model_path: str, adapter_dir: str | None):
    from lumina import models
    from lumina.teachers.backends.transformers_backend import prefer_passive_omp

    prefer_passive_omp()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = models.resolve(model_path)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if device == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
    tok = AutoTokenizer.from_pretrained(adapter_dir or path) if adapter_dir else AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    if adapter_dir:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter_dir)
    model.to(device).eval()
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    if tok.chat_template is None:
        raise InvalidInputError(f"{model_path} has no chat template; evaluation needs a chat model.")
    return tok, model, device


def _free_memory() -> None:
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass


def encode_row(tok, row: dict, max_length: int, index: int = 0) -> tuple[list[int], list[int]]:
    """(input_ids, labels) for one chat row, with the prompt masked (-100) as in training."""
    from trl.data_utils import common_prefix_length

    from lumina.train.runner import to_prompt_completion

    pc = to_prompt_completion(row, index, "eval")
    prompt = tok.apply_chat_template(pc["prompt"], tokenize=True, return_dict=True,
                                     add_generation_prompt=True)["input_ids"]
    full = tok.apply_chat_template(pc["prompt"] + pc["completion"], tokenize=True, return_dict=True)["input_ids"]
    cut = common_prefix_length(prompt, full)
    labels = [-100] * cut + list(full[cut:])
    return list(full[:max_length]), labels[:max_length]


def loss_and_perplexity(model_path: str, rows: list[dict], adapter_dir: str | None = None,
                        max_length: int = 512, batch_size: int = 4) -> dict[str, float | int]:
    """Mean token loss on the assistant completions of ``rows``: ``{loss, perplexity, tokens, n}``."""
    if not rows:
        raise InvalidInputError("No evaluation rows: the loss of an empty set is undefined.")
    tok, model, device = _load(model_path, adapter_dir)
    import torch

    try:
        encoded = [encode_row(tok, r, max_length, i) for i, r in enumerate(rows)]
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i][0]))  # less padding per batch
        total, count = 0.0, 0
        pad = tok.pad_token_id
        for start in range(0, len(order), batch_size):
            chunk = [encoded[i] for i in order[start:start + batch_size]]
            width = max(len(ids) for ids, _ in chunk)
            ids = torch.full((len(chunk), width), pad, dtype=torch.long)
            labels = torch.full((len(chunk), width), -100, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for k, (x, y) in enumerate(chunk):
                ids[k, :len(x)] = torch.tensor(x)
                labels[k, :len(y)] = torch.tensor(y)
                mask[k, :len(x)] = 1
            with torch.inference_mode():
                logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()
            shift_logits = logits[:, :-1].reshape(-1, logits.shape[-1])
            shift_labels = labels[:, 1:].reshape(-1).to(device)
            nll = torch.nn.functional.cross_entropy(shift_logits, shift_labels, ignore_index=-100, reduction="sum")
            total += float(nll)
            count += int((shift_labels != -100).sum())
    finally:
        del model
        _free_memory()
    if count == 0:
        raise InvalidInputError(f"No answer tokens within max_length={max_length}: every prompt fills it.")
    loss = total / count
    return {"loss": loss, "perplexity": math.exp(loss) if loss < 700 else math.inf, "tokens": count,
            "n": len(rows)}


def answers(model_path: str, prompts: list[list[dict]], adapter_dir: str | None = None,
            max_new_tokens: int = 128, batch_size: int = 8) -> list[str]:
    """Greedy answers, one per prompt (a conversation without its final assistant turn), in order."""
    return [a["text"] for a in generate_answers(model_path, prompts, adapter_dir, max_new_tokens, batch_size)]


def generate_answers(model_path: str, prompts: list[list[dict]], adapter_dir: str | None = None,
                     max_new_tokens: int = 128, batch_size: int = 8) -> list[dict]:
    """Like ``answers``, with how each ended: ``{text, tokens, finish_reason}``, the reason
    ``"stop"`` (the model ended its turn) or ``"length"`` (cut off at ``max_new_tokens``)."""
    if not prompts:
        return []
    for i, p in enumerate(prompts):
        if not isinstance(p, list) or not p or p[-1].get("role") == "assistant":
            raise InvalidInputError(f"prompt {i + 1}: expected messages ending with a user turn.")
    tok, model, device = _load(model_path, adapter_dir)
    import torch

    try:
        tok.padding_side = "left"  # generation continues from the right edge of every row
        gen_eos = getattr(model.generation_config, "eos_token_id", None)
        eos = [e for e in ([gen_eos] if isinstance(gen_eos, int) else list(gen_eos or [])) + [tok.eos_token_id]
               if e is not None]
        texts = [tok.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in prompts]
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out: list[dict] = [{}] * len(texts)
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            enc = tok([texts[i] for i in idx], return_tensors="pt", padding=True,
                      add_special_tokens=False).to(device)
            with torch.inference_mode():
                seq = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False, temperature=None,
                                     top_p=None, top_k=None, pad_token_id=tok.pad_token_id, eos_token_id=eos)
            for i, row in zip(idx, seq[:, enc["input_ids"].shape[1]:].tolist()):
                end = next((j for j, t in enumerate(row) if t in eos), None)
                out[i] = {"text": tok.decode(row[:end], skip_special_tokens=True).strip(),
                          "tokens": len(row) if end is None else end,
                          "finish_reason": "length" if end is None and len(row) >= max_new_tokens else "stop"}
    finally:
        del model
        _free_memory()
    return out
