"""Eval-set contamination: does a training sample contain (or paraphrase) a benchmark item?

Two detectors, cheapest first:
- word n-grams (13 by default, as in GPT-3's and the Llama papers' decontamination; 8 to 13 are
  usual): a sample that shares any n-gram with an eval item is flagged, with the share of that
  item's n-grams it contains. Eval items shorter than ``n`` words but at least ``min_tokens``
  long are matched as a whole (an n-gram of their own length), so a short question copied
  verbatim is still caught; items shorter than ``min_tokens`` are too short to match safely
  and are left to the embedding detector (``NgramIndex.skipped`` lists them).
- embeddings: cosine similarity of sample and eval vectors. At or above ``threshold`` it is a
  match; in the ``borderline`` band it is a candidate, which a judge may confirm
  (``confirm_with_judge``) — a failed judgement stays unconfirmed, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Hashable, Literal, Sequence

import numpy as np
from pydantic import BaseModel

from lumina.errors import InvalidInputError
from lumina.quality.dedup import _unit_rows, normalise

Id = Hashable
_TOKEN = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class EvalItem:
    id: Id
    text: str


@dataclass(frozen=True)
class Match:
    eval_id: Id
    kind: Literal["ngram", "embedding"]
    overlap: float | None = None  # ngram: share of the eval item's n-grams found in the text
    ngram: str | None = None  # ngram: the first shared n-gram, for showing a reviewer
    similarity: float | None = None  # embedding: cosine similarity
    borderline: bool = False  # embedding: inside the borderline band, not over the threshold
    sample_id: Id | None = None  # set by embedding_matches (matches() works on one text)


@dataclass(frozen=True)
class ContaminationFlag:
    sample_id: Id
    eval_id: Id
    eval_text: str
    kind: str  # "ngram" | "embedding" | "embedding+judge" | "embedding_borderline"
    score: float  # ngram overlap, or cosine similarity


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(normalise(text))


class NgramIndex:
    """Word n-grams of the eval items, for matching many sample texts against them."""

    def __init__(self, eval_items: Sequence[EvalItem], n: int = 13, min_tokens: int = 8) -> None:
        if not 1 <= min_tokens <= n:
            raise InvalidInputError(f"min_tokens must be between 1 and n ({n}), not {min_tokens}.")
        self.n = n
        self.min_tokens = min_tokens
        self.items = {e.id: e for e in eval_items}
        self.skipped: list[Id] = []
        self._grams: dict[tuple[str, ...], set[Id]] = {}
        self._count: dict[Id, int] = {}  # distinct n-grams per eval item
        self._sizes: set[int] = set()
        for e in eval_items:
            toks = tokens(e.text)
            if len(toks) < min_tokens:
                self.skipped.append(e.id)
                continue
            size = min(n, len(toks))
            grams = {tuple(toks[i:i + size]) for i in range(len(toks) - size + 1)}
            self._count[e.id] = len(grams)
            self._sizes.add(size)
            for g in grams:
                self._grams.setdefault(g, set()).add(e.id)

    def __len__(self) -> int:
        return len(self._count)

    def matches(self, text: str) -> list[Match]:
        """Eval items sharing at least one n-gram with ``text``, highest overlap first."""
        toks = tokens(text)
        found: dict[Id, set[tuple[str, ...]]] = {}
        for size in self._sizes:
            for i in range(len(toks) - size + 1):
                g = tuple(toks[i:i + size])
                for eid in self._grams.get(g, ()):
                    found.setdefault(eid, set()).add(g)
        out = [Match(eid, "ngram", overlap=round(len(gs) / self._count[eid], 4),
                     ngram=" ".join(min(gs)))
               for eid, gs in found.items()]
        return sorted(out, key=lambda m: (-(m.overlap or 0), str(m.eval_id)))


def embedding_matches(sample_ids: Sequence[Id], sample_vecs: np.ndarray, eval_ids: Sequence[Id],
                      eval_vecs: np.ndarray, threshold: float = 0.85,
                      borderline: tuple[float, float] = (0.75, 0.85), top_k: int = 3,
                      block: int = 4096) -> list[Match]:
    """(sample, eval item) pairs with cosine >= ``borderline[0]`` (at most ``top_k`` per sample);
    ``borderline`` is set on those under ``threshold``."""
    if len(sample_ids) != len(sample_vecs) or len(eval_ids) != len(eval_vecs):
        raise InvalidInputError("Ids and vectors differ in length.")
    low = min(borderline[0], threshold)
    if not len(sample_ids) or not len(eval_ids):
        return []
    s, e = _unit_rows(sample_vecs), _unit_rows(eval_vecs)
    out: list[Match] = []
    for start in range(0, len(s), block):
        sims = s[start:start + block] @ e.T
        for r in range(sims.shape[0]):
            row = sims[r]
            hits = np.nonzero(row >= low)[0]
            if not len(hits):
                continue
            best = hits[np.argsort(-row[hits], kind="stable")][:top_k]
            for c in best.tolist():
                sim = float(row[c])
                out.append(Match(eval_ids[c], "embedding", similarity=round(sim, 4),
                                 borderline=sim < threshold, sample_id=sample_ids[start + r]))
    return out


class _SameItem(BaseModel):
    same_item: bool
    reason: str = ""


def confirm_with_judge(teacher: Any, pairs: Sequence[tuple[str, str]], retries: int = 2,
                       template: Any = None) -> list[bool | None]:
    """Ask ``teacher`` whether each (sample text, eval text) pair is the same task.

    True/False per pair; None when the answer stayed malformed after ``retries`` retries."""
    from lumina import prompts
    from lumina.teachers.base import ChatRequest, GenParams
    from lumina.teachers.structured import chat_structured

    if not pairs:
        return []
    tmpl = template or prompts.latest("judge", "contamination")
    schema = {"type": "object", "additionalProperties": False, "required": ["same_item", "reason"],
              "properties": {"same_item": {"type": "boolean"},
                             "reason": {"type": "string", "maxLength": 300}}}
    params = GenParams(max_tokens=160, temperature=0.0, seed=0)
    requests = [ChatRequest([{"role": "user", "content": tmpl.render(sample=s, eval_item=e)}], params)
                for s, e in pairs]
    results = chat_structured(teacher, requests, _SameItem, retries=retries, request_schema=schema)
    return [r.value.same_item if r.value is not None else None for r in results]


@dataclass
class _Found:
    flags: list[ContaminationFlag] = field(default_factory=list)
    seen: set[tuple[Id, Id]] = field(default_factory=set)

    def add(self, flag: ContaminationFlag) -> None:
        key = (flag.sample_id, flag.eval_id)
        if key not in self.seen:
            self.seen.add(key)
            self.flags.append(flag)


def find_contamination(samples: Sequence[tuple[Id, str]], eval_items: Sequence[EvalItem],
                       embedder: Any = None, n: int = 13, min_tokens: int = 8,
                       threshold: float = 0.85, borderline: tuple[float, float] = (0.75, 0.85),
                       teacher: Any = None, retries: int = 2, batch_size: int = 64) -> list[ContaminationFlag]:
    """Flags for every (sample, eval item) pair found by n-grams and, when an ``embedder`` is
    given (e.g. ``embeddings.get_embedder()``), by embeddings. Borderline embedding pairs are
    asked of ``teacher`` when one is given: confirmed ones become "embedding+judge", rejected
    ones are dropped, failed ones stay "embedding_borderline" (as all do without a teacher).
    A pair caught by n-grams is not reported again by embeddings."""
    if not eval_items:
        return []
    by_id = {e.id: e for e in eval_items}
    found = _Found()
    index = NgramIndex(eval_items, n=n, min_tokens=min_tokens)
    for sid, text in samples:
        for m in index.matches(text):
            found.add(ContaminationFlag(sid, m.eval_id, by_id[m.eval_id].text, "ngram", m.overlap or 0.0))
    if embedder is None or not samples:
        return found.flags
    svecs = embedder.encode([t for _, t in samples], batch_size=batch_size)
    evecs = embedder.encode([e.text for e in eval_items], batch_size=batch_size)
    matches = [m for m in embedding_matches([s for s, _ in samples], svecs, [e.id for e in eval_items],
                                            evecs, threshold, borderline)
               if (m.sample_id, m.eval_id) not in found.seen]
    sure = [m for m in matches if not m.borderline]
    maybe = [m for m in matches if m.borderline]
    for m in sure:
        found.add(ContaminationFlag(m.sample_id, m.eval_id, by_id[m.eval_id].text, "embedding",
                                    m.similarity or 0.0))
    verdicts: list[bool | None] = [None] * len(maybe)
    if teacher is not None and maybe:
        texts = dict(samples)
        verdicts = confirm_with_judge(teacher, [(texts[m.sample_id], by_id[m.eval_id].text) for m in maybe],
                                      retries=retries)
    for m, verdict in zip(maybe, verdicts):
        if verdict is False:
            continue
        kind = "embedding+judge" if verdict else "embedding_borderline"
        found.add(ContaminationFlag(m.sample_id, m.eval_id, by_id[m.eval_id].text, kind, m.similarity or 0.0))
    return found.flags
