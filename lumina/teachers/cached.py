"""Every teacher call goes through the cache, so a resumed job never pays twice for a call."""

from __future__ import annotations

import time
from dataclasses import dataclass

from lumina.store import cache, connect
from lumina.teachers.base import ChatRequest, Completion, Teacher, cache_key


@dataclass
class CallStats:
    calls: int = 0
    cache_hits: int = 0
    completion_tokens: int = 0
    busy_s: float = 0.0  # wall time spent in the backend (for tokens/s)


class CachedTeacher:
    """Wraps a Teacher; looks each request up by content hash before calling the backend.

    Only successful completions are stored: a failure must be retried, not replayed. They are
    stored before ``chat`` returns (spooled to a file if the database stays busy), so an answer
    that was paid for is never asked for twice.
    """

    def __init__(self, teacher: Teacher, identity: str):
        self.teacher = teacher
        self.identity = identity  # the teacher spec string, part of every key
        self.backend = teacher.backend
        self.model = teacher.model
        self.stats = CallStats()

    def chat(self, requests: list[ChatRequest]) -> list[Completion]:
        keys = [cache_key(self.identity, r.messages, r.params) for r in requests]
        with connect() as con:
            hits = cache.get_many(con, keys)
        hits |= cache.spooled(k for k in keys if k not in hits)
        out: list[Completion | None] = [None] * len(requests)
        todo = []
        for i, k in enumerate(keys):
            if k in hits:
                c = Completion.from_dict(hits[k])
                c.cached = True
                out[i] = c
            else:
                todo.append(i)
        self.stats.calls += len(requests)
        self.stats.cache_hits += len(requests) - len(todo)
        if todo:
            t0 = time.monotonic()
            fresh = self.teacher.chat([requests[i] for i in todo])
            self.stats.busy_s += time.monotonic() - t0
            if len(fresh) != len(todo):
                raise RuntimeError(f"{self.identity} returned {len(fresh)} completions for {len(todo)} requests")
            entries = []
            for i, c in zip(todo, fresh):
                out[i] = c
                self.stats.completion_tokens += c.completion_tokens
                if c.ok:
                    d = c.to_dict()
                    d["cached"] = False
                    entries.append((keys[i], self.identity, d))
            cache.save(entries)
        return [c for c in out if c is not None]

    def close(self) -> None:
        self.teacher.close()
