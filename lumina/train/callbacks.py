"""Trainer callbacks: metrics lines (with elapsed time across resumes) to metrics.jsonl and the caller, and a cooperative stop on every rank."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, Callable


log = logging.getLogger(__name__)


# -- callbacks -------------------------------------------------------------------------------

def _callbacks(run_dir: Path, on_log: Callable[[dict], None], should_stop: Callable[[], bool],
               resumed_step: int, resumed_elapsed: float):
    from transformers import TrainerCallback

    metrics_file = run_dir / "metrics.jsonl"

    class Metrics(TrainerCallback):
        """Turns Trainer logs into Lumina's metrics lines (file + on_log).

        Tokens are the Trainer's non-padding count (``include_num_input_tokens_seen``), taken
        from this attempt only: a resumed run's rate is not inflated by the steps before it."""

        def __init__(self) -> None:
            self.t0: float | None = None
            self.tokens0 = 0
            self.tokens = 0
            self.seconds = 0.0
            self._consumer_failed = False

        def on_train_begin(self, args, state, control, **kw):
            self.t0 = time.monotonic()
            self.tokens0 = int(state.num_input_tokens_seen or 0)  # restored from a checkpoint

        def on_train_end(self, args, state, control, **kw):
            self.seconds = time.monotonic() - (self.t0 or time.monotonic())
            self.tokens = int(state.num_input_tokens_seen or 0) - self.tokens0

        def on_log(self, args, state, control, logs=None, **kw):
            logs = dict(logs or {})
            if not state.is_world_process_zero or ("loss" not in logs and "eval_loss" not in logs):
                return  # e.g. the Trainer's end-of-run summary: not a step
            now = time.monotonic()
            spent = now - (self.t0 or now)
            tokens = int(state.num_input_tokens_seen or 0) - self.tokens0
            line: dict[str, Any] = {"step": state.global_step, "epoch": round(float(state.epoch or 0.0), 4)}
            if "eval_loss" in logs:
                line.update(eval_loss=logs["eval_loss"], elapsed_s=round(resumed_elapsed + spent, 2))
            else:
                done = state.global_step - resumed_step
                eta = (state.max_steps - state.global_step) * spent / done if done > 0 else None
                line.update(loss=logs.get("loss"), learning_rate=logs.get("learning_rate"),
                            grad_norm=logs.get("grad_norm"),
                            tokens_per_s=round(tokens / spent, 2) if spent > 0 else None,
                            elapsed_s=round(resumed_elapsed + spent, 2),
                            eta_s=round(eta, 1) if eta is not None else None)
            with metrics_file.open("a", encoding="utf-8") as f:
                f.write(json.dumps(line) + "\n")
            _safe_on_log(on_log, line, self)

    class Stop(TrainerCallback):
        """Checks ``should_stop`` after every optimizer step; stopping saves a checkpoint first."""

        def __init__(self) -> None:
            self.stopped = False

        def on_step_end(self, args, state, control, **kw):
            flag = bool(should_stop())
            flag = _any_rank(flag)  # every rank must stop at the same step, or the others hang
            if flag and state.global_step < state.max_steps:  # a stop at the last step is just "done"
                self.stopped = True
                control.should_save = True
                control.should_log = True
                control.should_training_stop = True
            return control

    return Metrics(), Stop()


def _any_rank(flag: bool) -> bool:
    try:
        import torch
        import torch.distributed as dist
    except ImportError:
        return flag
    if not (dist.is_available() and dist.is_initialized()):
        return flag
    dev = torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() else torch.device("cpu")
    t = torch.tensor([1 if flag else 0], device=dev)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def _safe_on_log(on_log: Callable[[dict], None], line: dict, state: Any = None) -> None:
    """A failing consumer (a busy database) must not kill an hour of training: the line is in
    metrics.jsonl anyway. The error is logged once per run, not once per step."""
    try:
        on_log(line)
    except Exception:
        if not getattr(state, "_consumer_failed", False):
            log.exception("on_log consumer failed; the metrics stay in metrics.jsonl")
        if state is not None:
            state._consumer_failed = True
