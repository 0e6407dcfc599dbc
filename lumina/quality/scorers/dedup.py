"""dedup: exact, near (MinHash) and semantic (embedding) duplicates over the whole project
(``lumina.quality.dedup``); the best-scored copy of a group stays unflagged."""

from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, ConfigDict, Field

from lumina.quality.scorers import SCORERS, Flags, ScoreContext, Scorer, Scores

EMBEDDER_HELP = "sentence-transformers model (default: bundled MiniLM)"


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    near_threshold: float = Field(0.8, gt=0, le=1, description="MinHash Jaccard for near-duplicates")
    semantic_threshold: float = Field(0.92, gt=0, le=1, description="embedding cosine for semantic duplicates")
    shingle: int = Field(5, ge=2, le=50, description="character shingle size")
    embedder: Optional[str] = Field(None, description=EMBEDDER_HELP)


class Dedup(Scorer):
    name = "dedup"
    scope = "project"
    position = 40
    Options = Options
    help = "Exact, near (MinHash) and semantic (embedding) duplicates; the best-scored copy stays."
    legacy = {"dedup_near_threshold": "near_threshold", "dedup_semantic_threshold": "semantic_threshold",
              "dedup_shingle": "shingle", "embedder": "embedder"}

    def run(self, ctx: ScoreContext, batch=None) -> tuple[Scores, Flags]:
        from lumina.quality import dedup
        from lumina.quality.score_job import _vectors
        from lumina.store import connect
        from lumina.store import quality as store_quality

        o: Options = ctx.options
        p = ctx.project
        with connect() as con:
            rows = store_quality.all_texts(con, p.id)
            judge_scores = store_quality.metric_values(con, p.id, "judge.overall")
        ctx.progress(0, 3)
        emb, ids, vecs = _vectors(ctx, p, o.embedder)
        ctx.progress(1, 3)
        order = {i: k for k, i in enumerate(ids)}
        items = [(sid, f"{ins}\n{resp}") for sid, ins, resp, _ in rows if sid in order]
        vectors = vecs[[order[sid] for sid, _ in items]] if items else None
        ctx.checkpoint()
        found = dedup.find_duplicates(items, judge_scores or None, vectors, near_threshold=o.near_threshold,
                                      semantic_threshold=o.semantic_threshold, shingle=o.shingle)
        ctx.progress(2, 3)
        kinds: dict[str, int] = {}
        for f in found:
            kinds[f.kind] = kinds.get(f.kind, 0) + 1
        ctx.summary.update(samples=len(items), duplicates=len(found), by_kind=kinds, embedder=emb.name)
        return [], [(f.sample_id, "duplicate", {"canonical": f.canonical_id, "kind": f.kind,
                                                "similarity": round(float(f.similarity), 4)}) for f in found]


SCORERS.register(Dedup())
