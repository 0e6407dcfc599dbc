"""Shared fixtures. Expensive things (the prepared bundled model) are built once per session.

Every test gets its own LUMINA_HOME (a real DuckDB file in a temp dir). Prepared model weights
are shared through LUMINA_MODELS_DIR, kept in .cache/test-models between local runs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("LUMINA_MODELS_DIR", str(REPO / ".cache" / "test-models"))
# numba's compiled UMAP code, shared by every test's worker processes (a cold JIT costs ~60 s).
os.environ.setdefault("NUMBA_CACHE_DIR", str(REPO / ".cache" / "numba"))
# vLLM on 2 CPU cores: keep both cores and give the KV cache an explicit size (STACK.md).
os.environ.setdefault("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")


@pytest.fixture(autouse=True)
def lumina_home(tmp_path, monkeypatch) -> Path:
    """A fresh data folder per test: a real, empty DuckDB file is created on first connect."""
    home = tmp_path / "home"
    monkeypatch.setenv("LUMINA_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def bundled_model_dir() -> Path:
    """SmolLM2-135M-Instruct as a safetensors folder (prepared once, ~25 s)."""
    from lumina import models

    return models.prepare_smollm2(progress=lambda m: print(m, file=sys.stderr))


@pytest.fixture(scope="session")
def python_exe() -> str:
    return sys.executable
