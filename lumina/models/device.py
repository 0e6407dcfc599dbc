"""Which accelerator would run a model here: CPU, CUDA or ROCm (told apart by torch.version.hip)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any


@dataclass(frozen=True)
class DeviceInfo:
    kind: str  # "cpu" | "cuda" | "rocm"
    name: str
    count: int
    memory_gb: float | None  # per device; system RAM for cpu
    torch_version: str

    @property
    def torch_device(self) -> str:
        return "cpu" if self.kind == "cpu" else "cuda"

    def label(self) -> str:
        mem = f", {self.memory_gb:.0f} GB" if self.memory_gb else ""
        many = f" x{self.count}" if self.count > 1 else ""
        return f"{self.kind.upper()}: {self.name}{many}{mem}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@lru_cache(maxsize=1)
def detect() -> DeviceInfo:
    import psutil
    import torch

    if torch.cuda.is_available():
        kind = "rocm" if getattr(torch.version, "hip", None) else "cuda"
        props = torch.cuda.get_device_properties(0)
        return DeviceInfo(kind, props.name, torch.cuda.device_count(),
                          props.total_memory / 2**30, torch.__version__)
    import os
    import platform

    name = platform.processor() or platform.machine() or "cpu"
    return DeviceInfo("cpu", f"{name} ({os.cpu_count()} cores)", 1,
                      psutil.virtual_memory().total / 2**30, torch.__version__)
