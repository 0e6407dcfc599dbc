"""The 2-D projection of the map: UMAP (PCA below MIN_UMAP_POINTS), saved as plain arrays, with numba's on-disk cache turned on for umap-learn."""

from __future__ import annotations

import os
import sys
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from lumina.errors import InvalidInputError, NotFoundError


MIN_UMAP_POINTS = 10  # below this UMAP's neighbour graph is meaningless: PCA instead
_UMAP_LOCK = threading.Lock()
_UMAP_READY = False
_FORMAT = "lumina.projection"


def numba_cache_dir() -> Path:
    from lumina.config import settings

    return Path(os.environ.get("NUMBA_CACHE_DIR") or settings().home / "cache" / "numba")


def _import_umap():
    """umap, with numba's on-disk cache pointed at a persistent folder and enabled for umap."""
    global _UMAP_READY
    with _UMAP_LOCK:
        if not _UMAP_READY:
            cache = numba_cache_dir()
            cache.mkdir(parents=True, exist_ok=True)
            if "numba" not in sys.modules:
                os.environ.setdefault("NUMBA_CACHE_DIR", str(cache))
            else:
                from numba.core import config as numba_config

                if not numba_config.CACHE_DIR:  # read at numba's import; caches made later use it
                    numba_config.CACHE_DIR = str(cache)
            import umap  # noqa: F401

            _enable_umap_caching()
            _UMAP_READY = True
    import umap

    return umap


# pynndescent's NN-descent drivers take the distance function as a dynamic global, which numba
# cannot cache: enabling it would only warn. They are what a first fit on 4,096+ points still
# compiles in every new process (see ``warm_up``).
_UNCACHEABLE = {"nn_descent", "nn_descent_internal"}


def _enable_umap_caching() -> None:
    try:
        from numba.core.caching import NullCache
        from numba.core.registry import CPUDispatcher
    except ImportError:  # a numba without these internals: run uncached, just slower
        return
    for name, mod in list(sys.modules.items()):
        if mod is None or not any(name == p or name.startswith(p + ".") for p in ("umap", "pynndescent")):
            continue
        for attr, value in list(vars(mod).items()):
            if (attr not in _UNCACHEABLE and isinstance(value, CPUDispatcher)
                    and isinstance(getattr(value, "_cache", None), NullCache)):
                try:
                    value.enable_caching()
                except Exception:  # a function numba cannot cache: it stays in-memory only
                    pass


def warm_up(large: bool = True, random_state: int | None = 0) -> float:
    """Compile (or load from numba's cache) what fit and transform need, on throwaway data, so
    the first real map does not wait for it; seconds taken. ``large`` also covers the
    NN-descent path UMAP takes from 4,096 points, whose drivers cannot be cached on disk
    (~20 s per new process on 2 cores). Call it in a worker process, not where a user waits."""
    import time

    t0 = time.monotonic()
    rng = np.random.default_rng(0)
    # Compiled code depends on dtypes and array ranks, not sizes or epochs: 8-d data and a few
    # epochs compile the same functions as 384-d embeddings, at a fraction of the compute. The
    # seed matters: seeded and parallel layouts are different compiled functions.
    for n in ((64, 4200) if large else (64,)):
        x = rng.standard_normal((n, 8)).astype(np.float32)
        Projection.fit(x, random_state=random_state, n_epochs=5).transform(x[:4])
    return time.monotonic() - t0


def _as_matrix(vectors: Any, what: str = "vectors") -> np.ndarray:
    v = np.asarray(vectors, dtype=np.float32)
    if v.ndim != 2 or not len(v):
        raise InvalidInputError(f"Expected a non-empty 2-D array of {what}, got shape {v.shape}.")
    if not np.isfinite(v).all():
        raise InvalidInputError(f"The {what} contain NaN or infinite values.")
    return v


# -- projection ---------------------------------------------------------------------------------

@dataclass
class Projection:
    """A fitted 2-D projection of embedding vectors (UMAP, or PCA for tiny sets)."""

    method: Literal["umap", "pca"]
    model: dict[str, np.ndarray] | None  # the arrays transform() needs (see save)
    dim: int  # input dimension
    n_fit: int
    coords: np.ndarray  # (n_fit, 2) coordinates of the fitted vectors
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def fit(cls, vectors: Any, n_neighbors: int = 15, min_dist: float = 0.1, random_state: int | None = 0,
            metric: str = "cosine", n_epochs: int | None = None) -> "Projection":
        """Fit on (n, d) vectors. ``random_state=None`` lets UMAP use every core (not
        reproducible); ``n_epochs`` None is UMAP's default (500 up to 10,000 points, else 200)."""
        v = _as_matrix(vectors)
        n, d = v.shape
        params = {"n_neighbors": n_neighbors, "min_dist": min_dist, "random_state": random_state, "metric": metric,
                  "n_epochs": n_epochs}
        if n < MIN_UMAP_POINTS:
            return cls._fit_pca(v, params)
        umap = _import_umap()
        model = umap.UMAP(n_components=2, n_neighbors=min(n_neighbors, n - 1), min_dist=min_dist,
                          metric=metric, random_state=random_state, n_epochs=n_epochs,
                          n_jobs=1 if random_state is not None else -1)  # a seed forces one thread anyway
        with warnings.catch_warnings():
            # umap warns on every seeded fit that a seed means one thread; that is the choice made.
            warnings.filterwarnings("ignore", message=".*overridden to 1 by setting random_state.*")
            coords = model.fit_transform(v)
        unit = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        return cls("umap", {"unit_vectors": unit.astype(np.float32)}, d, n, np.asarray(coords, dtype=np.float32), params)

    @classmethod
    def _fit_pca(cls, v: np.ndarray, params: dict[str, Any]) -> "Projection":
        from sklearn.decomposition import PCA

        n, d = v.shape
        k = min(2, n, d)
        pca = PCA(n_components=k, random_state=0).fit(v) if n > 1 else None
        model = {"mean": pca.mean_.astype(np.float32), "components": pca.components_.astype(np.float32)} if pca else None
        proj = cls("pca", model, d, n, np.zeros((n, 2), dtype=np.float32), params)
        proj.coords = proj.transform(v)
        return proj

    def transform(self, new_vectors: Any) -> np.ndarray:
        """(m, 2) coordinates for new vectors in the fitted map.

        UMAP maps place a new point at the similarity-weighted mean of its nearest fitted points
        (what UMAP's own transform starts from), so a saved map needs only arrays to be reloaded
        (no pickle, which would run code from a file) and no numba compilation to extend."""
        v = _as_matrix(new_vectors, "new vectors")
        if v.shape[1] != self.dim:
            raise InvalidInputError(f"The projection was fitted on {self.dim}-d vectors, got {v.shape[1]}-d.")
        if self.method == "umap":
            return self._place_by_neighbours(v)
        out = np.zeros((len(v), 2), dtype=np.float32)
        if self.model is not None:
            t = (v - self.model["mean"]) @ self.model["components"].T
            out[:, :t.shape[1]] = t
        return out

    def _place_by_neighbours(self, v: np.ndarray, k: int = 15, block: int = 2048) -> np.ndarray:
        fitted = self.model["unit_vectors"]
        k = min(k, len(fitted))
        unit = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        out = np.empty((len(v), 2), dtype=np.float32)
        for start in range(0, len(v), block):  # bounded memory: block x n_fit similarities at a time
            sims = unit[start:start + block] @ fitted.T
            top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            w = np.take_along_axis(sims, top, axis=1)
            # Sharpened weights: the closest neighbours decide, so a point between two topics
            # still lands in the nearer one.
            w = np.exp((w - w.max(axis=1, keepdims=True)) * 20.0)
            w /= w.sum(axis=1, keepdims=True)
            out[start:start + block] = np.einsum("ij,ijk->ik", w, self.coords[top])
        return out

    def save(self, path: str | Path) -> Path:
        """Write the fitted map as plain arrays (``numpy.savez``, no pickle), atomically: a reader
        never sees half a file."""
        import json

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = {"format": _FORMAT, "version": 2, "method": self.method, "dim": self.dim, "n_fit": self.n_fit,
                  "params": self.params}
        arrays = {"coords": self.coords.astype(np.float32)}
        if self.model is not None:
            arrays.update({k: np.asarray(a, dtype=np.float32) for k, a in self.model.items()})
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        with open(tmp, "wb") as f:
            np.savez(f, header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8), **arrays)
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Projection":
        import json
        import zipfile

        path = Path(path)
        if not path.exists():
            raise NotFoundError(f"No saved projection at {path}.")
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(bytes(data["header"]).decode())
                arrays = {k: data[k] for k in data.files if k != "header"}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError, json.JSONDecodeError):
            raise InvalidInputError(f"{path} is not a saved Lumina projection.") from None
        if not isinstance(header, dict) or header.get("format") != _FORMAT or header.get("version") != 2:
            raise InvalidInputError(f"{path} is not a saved Lumina projection (or one from an older version).")
        coords = arrays.pop("coords")
        method = header["method"]
        need = {"umap": {"unit_vectors"}, "pca": {"mean", "components"}}.get(method)
        if need is None or (arrays and set(arrays) != need) or (method == "umap" and not arrays):
            raise InvalidInputError(f"{path} is not a saved Lumina projection.")
        return cls(method, arrays or None, int(header["dim"]), int(header["n_fit"]), coords, header.get("params") or {})


# -- clusters -----------------------------------------------------------------------------------
