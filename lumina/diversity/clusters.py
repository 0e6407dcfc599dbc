"""Clusters of the map (k-means or HDBSCAN), their labels (distinctive words) and shares."""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal, Sequence

import numpy as np

from lumina.diversity.projection import _as_matrix
from lumina.errors import InvalidInputError


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
