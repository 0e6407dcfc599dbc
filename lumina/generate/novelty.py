"""Seeded mode must write new tasks, not copies: checked, not hoped.

A candidate is a copy when, after normalising case, punctuation and whitespace, it equals a seed
or shares almost all of its word trigrams with one (a copy with a word changed).
"""

from __future__ import annotations

import re

_WS = re.compile(r"\W+", re.UNICODE)


def normalise(text: str) -> str:
    return _WS.sub(" ", text.lower()).strip()


def _trigrams(norm: str) -> set[tuple[str, ...]]:
    w = norm.split()
    return {tuple(w[i:i + 3]) for i in range(len(w) - 2)} or ({tuple(w)} if w else set())


class CopyDetector:
    def __init__(self, seeds: list[str], threshold: float = 0.8):
        self.threshold = threshold
        self.seeds = seeds
        self.exact = {normalise(s): i for i, s in enumerate(seeds)}
        # Inverted index trigram -> seeds, so a check costs the candidate's size, not the seed set's.
        self.index: dict[tuple[str, ...], list[int]] = {}
        for i, s in enumerate(seeds):
            for g in _trigrams(normalise(s)):
                self.index.setdefault(g, []).append(i)

    def copied_from(self, candidate: str) -> str | None:
        """The seed the candidate copies, or None."""
        norm = normalise(candidate)
        if norm in self.exact:
            return self.seeds[self.exact[norm]]
        cand = _trigrams(norm)
        if not cand:
            return None
        hits: dict[int, int] = {}
        for g in cand:
            for i in self.index.get(g, ()):
                hits[i] = hits.get(i, 0) + 1
        # Share of the candidate's trigrams found in one seed: high = copied with small edits.
        best = max(hits.items(), key=lambda kv: kv[1], default=None)
        if best and best[1] / len(cand) >= self.threshold:
            return self.seeds[best[0]]
        return None
