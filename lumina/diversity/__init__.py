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

The package root is its API: projection.py, clusters.py, metrics.py; embeddings.py (the
embedder, shared with dedup and decontam); map_job.py (the `map` job).
"""

import importlib

# Loaded on first use: numpy and friends stay out of processes that only need a submodule
# (the CLI reads the map settings from ``diversity.params``).
_API = {
    "MIN_UMAP_POINTS": "projection",
    "numba_cache_dir": "projection",
    "warm_up": "projection",
    "Projection": "projection",
    "cluster": "clusters",
    "label_clusters": "clusters",
    "cluster_shares": "clusters",
    "vendi_score": "metrics",
    "mean_pairwise_cosine_distance": "metrics",
    "distinct_n": "metrics",
    "coverage": "metrics",
}

__all__ = list(_API)


def __getattr__(name: str):
    if name in _API:
        value = getattr(importlib.import_module(f"lumina.diversity.{_API[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lumina.diversity' has no attribute {name!r}")
