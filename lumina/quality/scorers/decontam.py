"""decontam: n-gram overlap and embedding matches of the project's samples against its
imported eval sets, optionally confirmed by the teacher (``lumina.quality.decontam``)."""

from __future__ import annotations

from typing import List, Optional

from pydantic import BaseModel, ConfigDict, Field

from lumina.errors import InvalidInputError
from lumina.quality.scorers import SCORERS, Flags, ScoreContext, Scorer, Scores
from lumina.quality.scorers.dedup import EMBEDDER_HELP


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ngram: int = Field(13, ge=8, le=13, description="n-gram length in words (8-13)")
    threshold: float = Field(0.85, gt=0, le=1, description="embedding cosine for paraphrases")
    confirm: bool = Field(False, description="ask the teacher about borderline pairs")
    evalsets: List[str] = Field(default_factory=list, description="only these eval sets (default: all)")
    embedder: Optional[str] = Field(None, description=EMBEDDER_HELP)


class Decontam(Scorer):
    name = "decontam"
    scope = "project"
    position = 50
    Options = Options
    help = "N-gram overlap and embedding matches against imported eval sets."
    legacy = {"decontam_ngram": "ngram", "decontam_threshold": "threshold", "decontam_confirm": "confirm",
              "evalsets": "evalsets", "embedder": "embedder"}

    def check(self, project, options: Options) -> None:
        from lumina.io import importers

        known = importers.evalsets(project.name)
        if not known:
            raise InvalidInputError(f"'{project.name}' has no eval set to check against: import one with "
                                    f"`lumina import {project.name} FILE --as evalset`.")
        missing = [n for n in options.evalsets if n not in known]
        if missing:
            raise InvalidInputError(f"No eval set '{missing[0]}' in '{project.name}' "
                                    f"(eval sets: {', '.join(known)}).")

    def run(self, ctx: ScoreContext, batch=None) -> tuple[Scores, Flags]:
        from lumina.diversity.embeddings import get_embedder
        from lumina.io import importers
        from lumina.quality import decontam
        from lumina.store import connect
        from lumina.store import quality as store_quality

        o: Options = ctx.options
        p = ctx.project
        names = o.evalsets or list(importers.evalsets(p.name))
        items, by_key = [], {}
        for name in names:
            for it in importers.evalset_items(p.name, name):
                key = f"{name}:{it['id']}"
                items.append(decontam.EvalItem(key, it["text"]))
                by_key[key] = name
        with connect() as con:
            rows = store_quality.all_texts(con, p.id)
        ctx.progress(0, 2)
        ctx.checkpoint()
        found = decontam.find_contamination(
            [(sid, f"{ins}\n{resp}") for sid, ins, resp, _ in rows], items, embedder=get_embedder(o.embedder),
            n=o.ngram, threshold=o.threshold, teacher=ctx.teacher() if o.confirm else None)
        ctx.progress(1, 2)
        flags: Flags = []
        seen: set[int] = set()
        for f in sorted(found, key=lambda f: -f.score):  # the strongest match per sample is the one shown
            if f.sample_id in seen:
                continue
            seen.add(f.sample_id)
            flags.append((f.sample_id, "contaminated", {"eval_set": by_key.get(f.eval_id), "eval_item": f.eval_id,
                                                        "eval_text": f.eval_text[:1000], "kind": f.kind,
                                                        "score": round(float(f.score), 4)}))
        ctx.summary.update(eval_sets=names, eval_items=len(items), samples=len(rows), contaminated=len(flags))
        return [], flags


SCORERS.register(Decontam())
