"""Duplicate detection in three strengths: exact, near (MinHash) and semantic (embeddings).

Run them in that order, each on what the previous one kept (``find_duplicates`` does): an exact
copy is cheaper to find than a near one, and a group is easier to review when it holds one kind.

Near duplicates: character 5-gram shingles of the normalised text. Word shingles suit long web
pages, but SFT samples are short (tens of words): with word 5-grams, changing three words of a
60-word answer already removes a quarter of the shingles and the Jaccard similarity falls
under 0.6, while with character 5-grams it stays above 0.8. Candidates come from
``MinHashLSH`` and are kept only when their estimated Jaccard similarity reaches the threshold
(LSH alone lets false positives through by design); union-find turns the kept pairs into groups.
The LSH bands are chosen for 98% recall at the threshold (`lsh_params`), not datasketch's default.

Semantic duplicates: cosine similarity of unit vectors, computed block by block so 100k x 384
never needs a 100k x 100k matrix.

Ids are whatever the caller uses (sample ids, usually ints); they must be hashable and mutually
comparable, because "lowest id" breaks ties.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from dataclasses import dataclass
from typing import Callable, Hashable, Iterable, Literal, Sequence

import numpy as np

from lumina.errors import InvalidInputError

Id = Hashable
Kind = Literal["exact", "near", "semantic"]

_SPACE = re.compile(r"\s+")
_SCHEME = "affine32"  # datasketch 2's default; named so signatures built here always agree


# -- normalisation and exact duplicates ---------------------------------------------------------

def _is_edge_junk(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat[0] in ("P", "Z") or cat in ("Cc", "Cf")


def normalise(text: str) -> str:
    """Case-fold, NFKC, collapse whitespace, strip punctuation at both ends."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _SPACE.sub(" ", text).strip()
    start, end = 0, len(text)
    while start < end and _is_edge_junk(text[start]):
        start += 1
    while end > start and _is_edge_junk(text[end - 1]):
        end -= 1
    return text[start:end]


def _sorted_ids(ids: Iterable[Id]) -> list[Id]:
    try:
        return sorted(ids)
    except TypeError:  # ids of mixed types: keep them in input order
        return list(ids)


def _finish(groups: Iterable[list[Id]]) -> list[list[Id]]:
    out = [_sorted_ids(g) for g in groups if len(g) > 1]
    try:
        out.sort(key=lambda g: g[0])
    except TypeError:
        pass
    return out


def exact_groups(items: Sequence[tuple[Id, str]]) -> list[list[Id]]:
    """Groups (2+ ids) whose texts are equal after ``normalise``."""
    by_text: dict[str, list[Id]] = {}
    for id_, text in items:
        by_text.setdefault(normalise(text), []).append(id_)
    return _finish(by_text.values())


# -- union-find ---------------------------------------------------------------------------------

class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]  # path halving
            i = parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[list[int]]:
        out: dict[int, list[int]] = {}
        for i in range(len(self.parent)):
            out.setdefault(self.find(i), []).append(i)
        return [g for g in out.values() if len(g) > 1]


# -- near duplicates (MinHash LSH) -----------------------------------------------------------

def shingles(text: str, shingle: int = 5, unit: Literal["char", "word"] = "char") -> set[bytes]:
    """The shingle set of the normalised text, as bytes (what MinHash hashes)."""
    norm = normalise(text)
    if unit == "word":
        toks = norm.split(" ")
        grams = [" ".join(toks[i:i + shingle]) for i in range(max(len(toks) - shingle + 1, 1))]
    elif unit == "char":
        if norm.isascii():  # one byte per character: slice the bytes, skip an encode per shingle
            raw = norm.encode("ascii")
            return {raw[i:i + shingle] for i in range(max(len(raw) - shingle + 1, 1))} - {b""}
        grams = [norm[i:i + shingle] for i in range(max(len(norm) - shingle + 1, 1))]
    else:
        raise InvalidInputError(f"Shingle unit must be 'char' or 'word', not {unit!r}.")
    return {g.encode("utf-8") for g in grams if g}


# CRC32 is one C call, several times cheaper than datasketch's default SHA1 per shingle; the
# affine32 scheme mixes every input hash with the MurmurHash3 finaliser before permuting it,
# which hides CRC's linearity. Deterministic across processes, unlike Python's hash().
_hash32 = zlib.crc32


def minhashes(texts: Sequence[str], shingle: int = 5, num_perm: int = 128,
              unit: Literal["char", "word"] = "char", seed: int = 1) -> list:
    """One LeanMinHash per text (``MinHash.generator`` reuses one set of permutations)."""
    from datasketch import LeanMinHash, MinHash

    sets = (shingles(t, shingle, unit) for t in texts)
    return [LeanMinHash(m) for m in MinHash.generator(
        sets, num_perm=num_perm, seed=seed, hashfunc=_hash32, scheme=_SCHEME)]


def lsh_params(threshold: float, num_perm: int, recall: float = 0.98) -> tuple[int, int]:
    """(bands, rows) so that a pair at exactly ``threshold`` becomes a candidate with
    probability >= ``recall``, with as few rows per band as that allows fewer false candidates.

    datasketch's own choice weighs false positives and negatives equally, which at 0.8 and 128
    permutations finds only 40% of the pairs at the threshold; for dedup a missed pair is the
    costly error, and a false candidate costs one signature comparison."""
    best = (num_perm // 2, 2)
    for r in range(2, num_perm // 2 + 1):
        b = num_perm // r
        if b < 2 or 1 - (1 - threshold ** r) ** b < recall:
            break
        best = (b, r)
    return best


def near_duplicate_groups(items: Sequence[tuple[Id, str]], threshold: float = 0.8, shingle: int = 5,
                          num_perm: int = 128, unit: Literal["char", "word"] = "char") -> list[list[Id]]:
    """Groups of texts whose estimated Jaccard similarity (of shingles) is >= ``threshold``.

    ``shingle`` is the n-gram length in ``unit`` (characters by default; see the module doc).
    A group is the connected component of verified pairs, so two members can be less similar
    to each other than the threshold when a third links them.
    """
    if not 0.0 < threshold <= 1.0:
        raise InvalidInputError(f"The near-duplicate threshold must be in (0, 1], not {threshold}.")
    if len(items) < 2:
        return []
    from datasketch import MinHashLSH

    ids = [i for i, _ in items]
    sigs = minhashes([t for _, t in items], shingle, num_perm, unit)
    lsh = MinHashLSH(num_perm=num_perm, params=lsh_params(threshold, num_perm))
    with lsh.insertion_session() as session:
        for k, m in enumerate(sigs):
            session.insert(k, m, check_duplication=False)
    uf = _UnionFind(len(items))
    for k, m in enumerate(sigs):
        for other in lsh.query(m):
            # Each pair once, and none that are already linked (the verification is the cost).
            if other <= k or uf.find(other) == uf.find(k):
                continue
            if m.jaccard(sigs[other]) >= threshold:
                uf.union(k, other)
    return _finish([ids[k] for k in g] for g in uf.groups())


def jaccard(a: str, b: str, shingle: int = 5, unit: Literal["char", "word"] = "char") -> float:
    """The exact Jaccard similarity of two texts' shingle sets (for reporting a flagged pair)."""
    sa, sb = shingles(a, shingle, unit), shingles(b, shingle, unit)
    return len(sa & sb) / len(sa | sb) if sa or sb else 1.0


# -- semantic duplicates -------------------------------------------------------------------------

def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    v = np.asarray(vectors, dtype=np.float32)
    if v.ndim != 2:
        raise InvalidInputError(f"Expected a 2-D array of vectors, got shape {v.shape}.")
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.maximum(norms, 1e-12)


def similar_pairs(vectors: np.ndarray, threshold: float, block: int = 1024) -> Iterable[tuple[int, int, float]]:
    """(i, j, cosine) for every i < j with cosine >= threshold, one row block at a time.

    Memory is ``block x n`` floats (400 MB at block 1024 and n = 100k); only the upper
    triangle is computed."""
    v = _unit_rows(vectors)
    n = len(v)
    for start in range(0, n, block):
        stop = min(start + block, n)
        sims = v[start:stop] @ v[start:].T  # columns start at `start`: upper triangle only
        rows, cols = np.nonzero(sims >= threshold)
        for r, c in zip(rows.tolist(), cols.tolist()):
            i, j = start + r, start + c
            if j > i:
                yield i, j, float(sims[r, c])


def semantic_groups(ids: Sequence[Id], vectors: np.ndarray, threshold: float = 0.92,
                    block: int = 1024) -> list[list[Id]]:
    """Groups of items whose embeddings have cosine similarity >= ``threshold`` (linked pairs)."""
    if len(ids) != len(vectors):
        raise InvalidInputError(f"{len(ids)} ids but {len(vectors)} vectors.")
    if len(ids) < 2:
        return []
    uf = _UnionFind(len(ids))
    for i, j, _ in similar_pairs(vectors, threshold, block):
        uf.union(i, j)
    return _finish([ids[k] for k in g] for g in uf.groups())


# -- canonicals and flags -----------------------------------------------------------------------

@dataclass(frozen=True)
class DuplicateFlag:
    """``sample_id`` duplicates ``canonical_id`` (which stays); similarity is to the canonical."""

    sample_id: Id
    canonical_id: Id
    kind: Kind
    similarity: float


def choose_canonical(group: Sequence[Id], score: dict[Id, float | None] | None = None) -> Id:
    """The member that stays: the best score wins (a missing or None score loses to any number);
    ties go to the lowest id."""
    if not group:
        raise InvalidInputError("Cannot choose a canonical sample from an empty group.")
    score = score or {}
    scored = [i for i in group if score.get(i) is not None]
    pool = group
    if scored:
        best = max(float(score[i]) for i in scored)  # type: ignore[arg-type]
        pool = [i for i in scored if float(score[i]) == best]  # type: ignore[arg-type]
    return _sorted_ids(pool)[0]


def flags_for(groups: Iterable[Sequence[Id]], scores: dict[Id, float | None] | None, kind: Kind,
              similarity: Callable[[Id, Id], float] | None = None) -> list[DuplicateFlag]:
    """One flag per non-canonical member of each group. ``similarity(sample, canonical)``
    gives the reported value (default 1.0, right for exact duplicates)."""
    out = []
    for group in groups:
        canon = choose_canonical(group, scores)
        for member in group:
            if member != canon:
                sim = 1.0 if similarity is None else float(similarity(member, canon))
                out.append(DuplicateFlag(member, canon, kind, round(sim, 4)))
    return out


def find_duplicates(items: Sequence[tuple[Id, str]], scores: dict[Id, float | None] | None = None,
                    vectors: np.ndarray | None = None, near_threshold: float = 0.8,
                    semantic_threshold: float = 0.92, shingle: int = 5, num_perm: int = 128,
                    unit: Literal["char", "word"] = "char") -> list[DuplicateFlag]:
    """Exact, then near, then semantic (when ``vectors`` for ``items`` are given), each pass on
    the canonicals the previous one kept. Every flagged sample is flagged once, by the cheapest
    pass that caught it."""
    texts = dict(items)
    if len(texts) != len(items):
        raise InvalidInputError("Duplicate ids in the items to deduplicate.")
    flags = flags_for(exact_groups(items), scores, "exact")
    gone = {f.sample_id for f in flags}
    kept = [(i, t) for i, t in items if i not in gone]
    near = near_duplicate_groups(kept, near_threshold, shingle, num_perm, unit)
    near_flags = flags_for(near, scores, "near", lambda a, b: jaccard(texts[a], texts[b], shingle, unit))
    flags += near_flags
    gone |= {f.sample_id for f in near_flags}
    if vectors is not None:
        if len(vectors) != len(items):
            raise InvalidInputError(f"{len(items)} items but {len(vectors)} vectors.")
        row = {i: k for k, (i, _) in enumerate(items)}
        keep_ids = [i for i, _ in items if i not in gone]
        unit_vecs = _unit_rows(vectors)
        sub = unit_vecs[[row[i] for i in keep_ids]]
        groups = semantic_groups(keep_ids, sub, semantic_threshold)
        flags += flags_for(groups, scores, "semantic",
                           lambda a, b: float(unit_vecs[row[a]] @ unit_vecs[row[b]]))
    return flags
