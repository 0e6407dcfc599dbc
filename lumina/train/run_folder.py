"""The run folder: checkpoints, metrics.jsonl, environment.json, written from the main process only."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Any


log = logging.getLogger(__name__)


CHECKPOINT_PREFIX = "checkpoint-"
# -- checkpoints -----------------------------------------------------------------------------

def _step_of(path: Path) -> int:
    try:
        return int(path.name[len(CHECKPOINT_PREFIX):])
    except ValueError:
        return -1


def latest_checkpoint(folder: Path) -> Path | None:
    """The newest *complete* checkpoint. trainer_state.json is written last, so a folder without it
    was cut off mid-save (the process was killed) and is removed."""
    if not folder.is_dir():
        return None
    found = sorted((p for p in folder.iterdir() if p.is_dir() and p.name.startswith(CHECKPOINT_PREFIX)
                    and _step_of(p) >= 0), key=_step_of)
    for p in reversed(found):
        if (p / "trainer_state.json").exists():
            return p
        log.warning("removing incomplete checkpoint %s", p)
        shutil.rmtree(p, ignore_errors=True)
    return None


# -- small file helpers ----------------------------------------------------------------------

def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)  # a reader never sees half a file


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    f = Path(run_dir) / "metrics.jsonl"
    if not f.exists():
        return []
    out = []
    for line in f.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut off by a kill
    return out


def _is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def environment(device, data_hash: str, model_path: str) -> dict[str, Any]:
    import importlib.metadata as md
    import platform

    versions = {}
    for pkg in ("lumina", "torch", "transformers", "trl", "peft", "accelerate", "datasets", "bitsandbytes"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    return {"python": platform.python_version(), "platform": platform.platform(), "versions": versions,
            "device": device.to_dict(), "dataset_sha256": data_hash, "base_model_path": model_path,
            "command": sys.argv}
