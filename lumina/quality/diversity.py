"""The diversity map and its numbers: a 2-D projection, clusters, cluster labels, metrics.

UMAP is numba-compiled on first use, and umap-learn (and most of pynndescent) does not ask
numba to cache its functions: every new process paid ~15 s to compile ``fit`` and ~5 s for
``transform`` again, even with a warm ``NUMBA_CACHE_DIR``. ``_import_umap`` turns numba's
on-disk cache on for their compiled functions (``Dispatcher.enable_caching``), so after the
first run a process fits 300 points in ~0.5 s instead of ~12 s, and 5,000 points (UMAP's
NN-descent path) in ~25 s instead of ~65 s: the NN-descent drivers themselves cannot be
cached, ``warm_up`` compiles them ahead of time. The cache lives in ``NUMBA_CACHE_DIR`` when
set, else in ``$LUMINA_HOME/cache/numba`` (set before numba is imported, or into numba's
config when it already was).

Metrics:
- ``vendi_score``: exp of the entropy of the eigenvalues of K/n, K the cosine kernel (Friedman
  & Dieng 2023) — "the effective number of distinct samples". The non-zero eigenvalues of
  X Xᵀ/n equal those of Xᵀ X/n, a d x d matrix, so 100k x 384 costs one 384 x 384 eigensolve.
- ``mean_pairwise_cosine_distance``: exact via ||Σx||², O(n·d), no n² matrix.
- ``distinct_n``: unique word n-grams / all word n-grams over the corpus (Li et al. 2016).
"""

from __future__ import annotations

import math
import os
import sys
import threading
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Sequence

import numpy as np

from lumina.errors import InvalidInputError, NotFoundError
from lumina.quality.heuristics import words

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

def cluster(vectors_or_coords: Any, method: Literal["kmeans", "hdbscan"] = "kmeans", k: int | None = None,
            random_state: int = 0, max_k: int = 12, min_cluster_size: int | None = None) -> np.ndarray:
    """Cluster labels (int, one per row). kmeans: ``k`` clusters, or with ``k=None`` the k in
    2..``max_k`` with the best silhouette (on a 2,000-row sample when larger). hdbscan: the
    number of clusters is found; noise is -1; ``min_cluster_size`` defaults to max(10, n/20),
    coarse on purpose: a map overview wants at most ~20 regions, and smaller sizes split each
    family of near-identical prompts into its own cluster."""
    x = _as_matrix(vectors_or_coords, "vectors or coordinates")
    n = len(x)
    if n < 3:
        return np.zeros(n, dtype=int)
    if method == "kmeans":
        from sklearn.cluster import KMeans

        if k is not None:
            if k < 1:
                raise InvalidInputError(f"k must be at least 1, not {k}.")
            return KMeans(n_clusters=min(k, n), n_init=10, random_state=random_state).fit_predict(x)
        from sklearn.metrics import silhouette_score

        best, best_labels = -2.0, np.zeros(n, dtype=int)
        for kk in range(2, min(max_k, n - 1) + 1):
            labels = KMeans(n_clusters=kk, n_init=10, random_state=random_state).fit_predict(x)
            if len(set(labels.tolist())) < 2:
                continue
            s = silhouette_score(x, labels, sample_size=min(n, 2000), random_state=random_state)
            if s > best:
                best, best_labels = s, labels
        return best_labels
    if method == "hdbscan":
        from sklearn.cluster import HDBSCAN

        size = min_cluster_size or max(10, n // 20)
        return HDBSCAN(min_cluster_size=max(2, min(size, n)), copy=True).fit_predict(x)
    raise InvalidInputError(f"Unknown clustering method {method!r} (use kmeans or hdbscan).")


def label_clusters(texts: Sequence[str], labels: Sequence[int], top_n: int = 3,
                   noise_label: str = "unclustered") -> dict[int, str]:
    """A short label per cluster: its ``top_n`` c-TF-IDF terms (BERTopic's class-based TF-IDF:
    term frequency in the cluster's joined text times log(1 + mean words per cluster / term
    frequency over all clusters)). Label -1 (HDBSCAN noise) is named ``noise_label``."""
    from sklearn.feature_extraction.text import CountVectorizer

    if len(texts) != len(labels):
        raise InvalidInputError(f"{len(texts)} texts but {len(labels)} labels.")
    groups: dict[int, list[str]] = {}
    for t, lab in zip(texts, labels):
        groups.setdefault(int(lab), []).append(t)
    keys = sorted(g for g in groups if g != -1)
    out: dict[int, str] = {-1: noise_label} if -1 in groups else {}
    if not keys:
        return out
    docs = [" ".join(groups[g]) for g in keys]
    try:
        vec = CountVectorizer(stop_words="english", token_pattern=r"(?u)\b[^\W\d_][\w'-]+\b")
        counts = vec.fit_transform(docs).toarray().astype(np.float64)
    except ValueError:  # nothing but stop words and numbers
        return {**out, **{g: f"cluster {g}" for g in keys}}
    terms = vec.get_feature_names_out()
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    avg_words = counts.sum() / len(keys)
    idf = np.log1p(avg_words / np.maximum(counts.sum(axis=0), 1))
    weights = tf * idf
    for row, g in enumerate(keys):
        top = [terms[j] for j in np.argsort(-weights[row], kind="stable")[:top_n] if weights[row, j] > 0]
        out[g] = ", ".join(top) if top else f"cluster {g}"
    return out


def cluster_shares(labels: Sequence[int]) -> dict[int, float]:
    """Share of rows per label, largest first."""
    counts = Counter(int(x) for x in labels)
    total = sum(counts.values())
    return {lab: c / total for lab, c in counts.most_common()} if total else {}


# -- metrics ------------------------------------------------------------------------------------

_BLOCK = 16384  # rows per float64 block: metrics on 100k x 384 stay within ~50 MB of scratch


def _unit_blocks(vectors: Any, block: int = _BLOCK):
    """Row blocks of the vectors, L2-normalised, as float64 (zero rows stay zero)."""
    v = _as_matrix(vectors)
    for start in range(0, len(v), block):
        b = v[start:start + block].astype(np.float64)
        yield b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)


def vendi_score(vectors: Any) -> float:
    """Vendi score with the cosine kernel: 1 for identical vectors, k for k orthogonal groups
    of equal size, n at most."""
    n = len(_as_matrix(vectors))
    gram = sum(b.T @ b for b in _unit_blocks(vectors)) / n  # d x d, same non-zero spectrum as K/n
    lam = np.clip(np.linalg.eigvalsh(gram), 0.0, None)
    total = lam.sum()
    if total <= 0:
        return 1.0
    p = lam[lam > 1e-12] / total
    return float(math.exp(-(p * np.log(p)).sum()))


def mean_pairwise_cosine_distance(vectors: Any, sample: int | None = None, random_state: int = 0) -> float:
    """Mean of 1 - cos over all pairs i != j, exact in O(n·d) (from ||Σx||²); ``sample`` rows
    at random when given (only worth it when the vectors are not in memory at once)."""
    v = _as_matrix(vectors)
    if sample is not None and sample < len(v):
        v = v[np.random.default_rng(random_state).choice(len(v), size=sample, replace=False)]
    n = len(v)
    if n < 2:
        return 0.0
    total, sq = np.zeros(v.shape[1]), 0.0
    for b in _unit_blocks(v):
        total += b.sum(axis=0)
        sq += float((b * b).sum())
    mean_cos = (float(total @ total) - sq) / (n * (n - 1))
    return 1.0 - mean_cos


def distinct_n(texts: Sequence[str], n: int = 2) -> float:
    """Unique word n-grams / all word n-grams over all texts (1.0 when there are none)."""
    if n < 1:
        raise InvalidInputError(f"n must be at least 1, not {n}.")
    total, seen = 0, set()
    for t in texts:
        ws = words(t)
        grams = [tuple(ws[i:i + n]) for i in range(len(ws) - n + 1)]
        total += len(grams)
        seen.update(grams)
    return len(seen) / total if total else 1.0


def coverage(node_paths: Sequence[str | None], leaves: Sequence[str], sep: str | None = None) -> dict[str, Any]:
    """How samples spread over a taxonomy.

    ``node_paths``: each sample's node path ("Physics > Optics"), None when it has none;
    ``leaves``: the taxonomy's leaf paths. Returns counts and shares per node (a sample counts
    for its node and every ancestor), the leaves without samples, the share of leaves covered
    and how many samples have no node or one outside the taxonomy."""
    if sep is None:
        from lumina.taxonomy import SEP as sep
    leaf_set = list(dict.fromkeys(leaves))
    known = set()
    for leaf in leaf_set:
        parts = leaf.split(sep)
        known.update(sep.join(parts[:i]) for i in range(1, len(parts) + 1))
    counts: Counter[str] = Counter()
    unassigned = outside = 0
    for path in node_paths:
        if not path:
            unassigned += 1
            continue
        if path not in known:
            outside += 1
        parts = path.split(sep)
        for i in range(1, len(parts) + 1):
            counts[sep.join(parts[:i])] += 1
    total = len(node_paths)
    empty = [leaf for leaf in leaf_set if counts[leaf] == 0]
    return {
        "total": total,
        "counts": dict(counts),
        "share": {node: c / total for node, c in counts.items()} if total else {},
        "empty_leaves": empty,
        "leaf_coverage": (len(leaf_set) - len(empty)) / len(leaf_set) if leaf_set else 1.0,
        "unassigned": unassigned,
        "outside_taxonomy": outside,
    }
