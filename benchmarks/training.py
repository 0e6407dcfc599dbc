"""Training throughput: a plain TRL script vs Lumina's ``train()``, same model, data and settings.

In one process, for each repeat (alternating, so neither side always runs on a warmer machine):
- plain:  SFTTrainer + PEFT LoRA written the way the TRL docs do it, on the same prompt/completion
          rows, with the same SFTConfig values Lumina uses (fp32 on CPU, no gradient checkpointing,
          checkpoints every --save-steps, logging every step),
- lumina: ``lumina.train.train`` on the chat rows (validation, run folder, metrics.jsonl, callbacks,
          checkpoints, adapter save, environment.json).
Tokens/s = non-padding tokens in the trained batches / the Trainer's train_runtime, for both.
Prints each side's tokens/s and the ratio lumina/plain (goal >= 0.95); with --repeats > 1 the
median of each side.

    python benchmarks/training.py [--steps 20] [--batch 4] [--max-length 256] [--repeats 1]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # what `python -m lumina.train` uses; both sides share it


def chat_rows() -> list[dict]:
    from lumina.config import examples_dir

    rows = [json.loads(line) for line in (examples_dir() / "demo-samples.jsonl").read_text().splitlines() if line]
    return [{"messages": r["messages"]} for r in rows]


def plain_trl(model_path: str, rows: list[dict], args, out_dir: str) -> tuple[float, int, float]:
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    data = Dataset.from_list([{"prompt": r["messages"][:-1], "completion": r["messages"][-1:]} for r in rows])
    tok = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
    cfg = SFTConfig(output_dir=out_dir, max_steps=args.steps, per_device_train_batch_size=args.batch,
                    learning_rate=2e-4, logging_steps=1, save_steps=args.save_steps, save_total_limit=2,
                    max_length=args.max_length, bf16=False, use_cpu=True, gradient_checkpointing=False,
                    report_to="none", disable_tqdm=True, seed=0, data_seed=0)
    lora = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.05, target_modules="all-linear", task_type="CAUSAL_LM")
    trainer = SFTTrainer(model=model, args=cfg, train_dataset=data, processing_class=tok, peft_config=lora)
    out = trainer.train()
    tokens = int(max(h.get("num_tokens", 0) for h in trainer.state.log_history))
    runtime = float(out.metrics["train_runtime"])
    trainer.save_model(os.path.join(out_dir, "adapter"))
    del trainer, model
    gc.collect()  # the next side starts without this model in memory
    return tokens / runtime, tokens, runtime


def lumina_train(model_path: str, rows: list[dict], args, run_dir: Path) -> tuple[float, int, float]:
    from lumina.train import TrainConfig, train

    cfg = TrainConfig(base_model=model_path, max_steps=args.steps, batch_size=args.batch, learning_rate=2e-4,
                      max_length=args.max_length, save_steps=args.save_steps, logging_steps=1)
    t0 = time.monotonic()
    result = train(run_dir, rows, [], cfg)
    wall = time.monotonic() - t0
    state = json.loads(sorted((run_dir / "checkpoints").glob("checkpoint-*"),
                              key=lambda p: int(p.name.split("-")[1]))[-1].joinpath("trainer_state.json").read_text())
    tokens = int(state["num_input_tokens_seen"])
    return result.tokens_per_s, tokens, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--save-steps", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    os.environ["LUMINA_HOME"] = tempfile.mkdtemp(prefix="lumina-bench-")
    if not os.environ.get("LUMINA_MODELS_DIR"):
        os.environ["LUMINA_MODELS_DIR"] = str(Path(__file__).resolve().parent.parent / "data" / "models")
    import datasets
    import transformers

    datasets.disable_progress_bars()
    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    from lumina import models
    from lumina.models.device import detect

    model_path = models.resolve(models.SMOLLM2)
    rows = chat_rows()
    print(f"{detect().label()}; SmolLM2-135M LoRA r 8 all-linear, fp32, {len(rows)} rows, {args.steps} steps, "
          f"batch {args.batch}, max length {args.max_length}, checkpoint every {args.save_steps}", flush=True)
    plain, lum = [], []
    for k in range(args.repeats):
        work = Path(tempfile.mkdtemp(prefix="bench-train-"))
        sides = [("plain", plain), ("lumina", lum)]
        for name, acc in (sides if k % 2 == 0 else sides[::-1]):
            if name == "plain":
                rate, tokens, secs = plain_trl(model_path, rows, args, str(work / "plain"))
            else:
                rate, tokens, secs = lumina_train(model_path, rows, args, work / "lumina")
            acc.append(rate)
            what = "train_runtime" if name == "plain" else "wall incl. load"
            print(f"  repeat {k + 1} {name:7} {rate:8.1f} tok/s  ({tokens} tokens, {secs:.1f} s {what})", flush=True)
        shutil.rmtree(work, ignore_errors=True)  # checkpoints + adapters: ~150 MB a repeat
    p, q = statistics.median(plain), statistics.median(lum)
    print(f"{'':2}{'side':10}{'tokens/s':>10}")
    print(f"{'':2}{'plain TRL':10}{p:10.1f}")
    print(f"{'':2}{'lumina':10}{q:10.1f}")
    print(f"  ratio lumina/plain {q / p:.3f} (goal >= 0.95)")


if __name__ == "__main__":
    main()
