"""Diversity figures: Vendi score, mean pairwise cosine distance, distinct-n, taxonomy coverage."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Sequence

import numpy as np

from lumina.diversity.projection import _as_matrix
from lumina.errors import InvalidInputError
from lumina.quality.heuristics import words


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
        from lumina.taxonomy.tree import SEP as sep
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
