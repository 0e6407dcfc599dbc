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

from lumina.diversity.projection import (
    MIN_UMAP_POINTS,
    numba_cache_dir,
    warm_up,
    Projection,
)
from lumina.diversity.clusters import (
    cluster,
    label_clusters,
    cluster_shares,
)
from lumina.diversity.metrics import (
    vendi_score,
    mean_pairwise_cosine_distance,
    distinct_n,
    coverage,
)

__all__ = [
    "MIN_UMAP_POINTS",
    "numba_cache_dir",
    "warm_up",
    "Projection",
    "cluster",
    "label_clusters",
    "cluster_shares",
    "vendi_score",
    "mean_pairwise_cosine_distance",
    "distinct_n",
    "coverage",
]
