"""The command line that runs a training run: plain Python on a CPU or one GPU, accelerate (one
process per GPU, data parallel) when there are several.

The accelerate config is written into the run folder, so a multi-GPU run never depends on (or
is changed by) a user's global ``~/.cache/huggingface/accelerate/default_config.yaml``.
"""

from __future__ import annotations

import shutil
import socket
import sys
from pathlib import Path

from lumina.models.device import DeviceInfo

# GPUs with bf16 arithmetic (Ampere and newer, CDNA2 and newer): used only when torch cannot ask
# the GPU itself, e.g. when the command is prepared on another machine.
_BF16_NAMES = ("a100", "a10", "a30", "a40", "a6000", "l4", "l40", "h100", "h200", "h20", "gh200", "b100",
               "b200", "gb200", "rtx 30", "rtx 40", "rtx 50", "rtx a", "mi2", "mi3")


def mixed_precision(device: DeviceInfo) -> str:
    """"bf16" where the GPU has it, else "fp16"; "no" on CPU. Same rule as the runner's."""
    if device.kind == "cpu":
        return "no"
    try:
        import torch

        if torch.cuda.is_available():
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    except ImportError:
        pass
    name = device.name.lower()
    return "bf16" if device.kind == "rocm" or any(n in name for n in _BF16_NAMES) else "fp16"


def accelerate_config(device: DeviceInfo, port: int | None = None) -> dict:
    return {
        "compute_environment": "LOCAL_MACHINE",
        "debug": False,
        "distributed_type": "MULTI_GPU",
        "downcast_bf16": "no",
        "gpu_ids": "all",
        "machine_rank": 0,
        "main_training_function": "main",
        "mixed_precision": mixed_precision(device),
        "num_machines": 1,
        "num_processes": int(device.count),
        "rdzv_backend": "static",
        "same_network": True,
        "use_cpu": False,
        # Its own port, so two multi-GPU runs on one machine do not collide on the default 29500.
        "main_process_port": port or _free_port(),
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _accelerate_exe() -> str:
    # The accelerate next to this interpreter (the venv's), not whatever is first on PATH.
    beside = Path(sys.executable).with_name("accelerate")
    return str(beside) if beside.exists() else (shutil.which("accelerate") or "accelerate")


def command(run_dir: str | Path, device: DeviceInfo) -> list[str]:
    """argv for the training process of ``run_dir`` on ``device`` (writes accelerate.yaml if needed)."""
    run_dir = Path(run_dir)
    if device.kind == "cpu" or device.count <= 1:
        return [sys.executable, "-m", "lumina.train", str(run_dir)]
    import yaml

    run_dir.mkdir(parents=True, exist_ok=True)
    cfg_file = run_dir / "accelerate.yaml"
    cfg_file.write_text(yaml.safe_dump(accelerate_config(device), sort_keys=True), encoding="utf-8")
    return [_accelerate_exe(), "launch", "--config_file", str(cfg_file), "-m", "lumina.train", str(run_dir)]
