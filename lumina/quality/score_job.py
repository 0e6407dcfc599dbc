"""Scorers as background jobs (`lumina score NAME SCORER`), each runnable alone.

- heuristics (v3), judge (the project's teacher grades 1-5 on a per-project rubric), ifd (the
  student's loss with and without the instruction): per sample; a re-run scores only samples
  that are new, edited since, or scored by an older scorer version.
- dedup (exact, MinHash near-duplicates, embedding cosine) and decontam (n-gram overlap and
  embedding retrieval against imported eval sets, optional judge confirmation): relations
  between samples, recomputed over the whole project each run; they replace their own flags.

Scores and flags are stored per (sample, scorer, scorer version); a failed judgement is a
NULL value with the error and raw text in its details, never a made-up number.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from lumina import access
from lumina.errors import InvalidInputError
from lumina.store import connect, transaction
from lumina.store import jobs as store_jobs
from lumina.store import projects as store_projects
from lumina.store import quality as store_quality

SCORERS = ("heuristics", "judge", "ifd", "dedup", "decontam")
BATCH = {"heuristics": 2000, "judge": 8, "ifd": 16}


@dataclass
class ScoreParams:
    scorer: str
    dedup_near_threshold: float = 0.8
    dedup_semantic_threshold: float = 0.92
    dedup_shingle: int = 5
    decontam_ngram: int = 13
    decontam_threshold: float = 0.85
    decontam_confirm: bool = False            # ask the teacher about borderline paraphrases
    evalsets: list[str] = field(default_factory=list)  # decontam: these sets (default: all)
    embedder: str | None = None               # sentence-transformers name or path (default MiniLM)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check(project: str, params: ScoreParams) -> None:
    from lumina.io import importers

    if params.scorer not in SCORERS:
        raise InvalidInputError(f"Unknown scorer '{params.scorer}' (use one of: {', '.join(SCORERS)}).")
    for name in ("dedup_near_threshold", "dedup_semantic_threshold", "decontam_threshold"):
        if not 0 < getattr(params, name) <= 1:
            raise InvalidInputError(f"{name} must be above 0 and at most 1.")
    if not 2 <= params.dedup_shingle <= 50:
        raise InvalidInputError("The shingle size must be between 2 and 50 characters.")
    if not 8 <= params.decontam_ngram <= 13:
        raise InvalidInputError("The decontamination n-gram length must be between 8 and 13 words.")
    if params.scorer == "decontam":
        known = importers.evalsets(project)
        if not known:
            raise InvalidInputError(f"'{project}' has no eval set to check against: import one with "
                                    f"`lumina import {project} FILE --as evalset`.")
        missing = [n for n in params.evalsets if n not in known]
        if missing:
            raise InvalidInputError(f"No eval set '{missing[0]}' in '{project}' (eval sets: {', '.join(known)}).")


@access.requires("curator")
def start_scoring(project: str, params: ScoreParams, launch_worker: bool = True):
    from lumina import jobs

    check(project, params)
    with connect() as con:
        p = store_projects.get(con, project)
    return jobs.submit("score", p.id, params.to_dict(), launch_worker=launch_worker)


def pending(project: str, scorer: str) -> int:
    """Samples a per-sample scorer would (re)score now."""
    version = _version(scorer, project)
    with connect() as con:
        p = store_projects.get(con, project)
        return store_quality.count_needing(con, p.id, scorer, version)


def _version(scorer: str, project: str | None = None, project_id: int | None = None) -> str:
    from lumina.quality import ifd, textstats

    if scorer == "heuristics":
        return textstats.VERSION
    if scorer == "ifd":
        return ifd.VERSION
    if scorer == "judge":
        # The version names the rubric: editing the project's rubric re-scores everything.
        return _rubric(project_id if project_id is not None else _pid(project)).ref
    return "1"


def _pid(project: str) -> int:
    with connect() as con:
        return store_projects.get(con, project).id


def _rubric(project_id: int):
    from lumina import prompts

    return prompts.for_project(project_id, "judge", "rubric")


def _teacher(p):
    from lumina.teachers import build_teacher, options
    from lumina.teachers.cached import CachedTeacher

    return CachedTeacher(build_teacher(p.teacher, **options.for_spec(p.teacher, p.settings)), identity=p.teacher)


def run_score_job(job_id: int, worker) -> None:
    with connect() as con:
        job = store_jobs.get(con, job_id)
        p = next(x for x in store_projects.list_all(con) if x.id == job.project_id)
    params = ScoreParams(**job.params)
    if params.scorer in ("heuristics", "judge", "ifd"):
        _per_sample(job_id, worker, p, params)
    elif params.scorer == "dedup":
        _dedup(job_id, worker, p, params)
    else:
        _decontam(job_id, worker, p, params)


def _progress(job_id: int, total: int, done: int, failed: int = 0, **extra: Any) -> None:
    with connect() as con:
        store_jobs.update(con, job_id, total=total, done=done, failed=failed, **extra)


def _heuristics(batch) -> tuple[list, list]:
    from lumina.quality import textstats

    scored, flagged = [], []
    for sid, ins, resp, ctx, h in batch:
        scores, found = textstats.score(ins, resp, None, ctx)
        scored.append((sid, h, scores))
        flagged += [(sid, f, d) for f, d in found.items()]
    return scored, flagged


def score_heuristics(project_id: int) -> int:
    """Heuristic scores for the project's samples that lack current ones, now, a batch at a time:
    each batch is computed before its own short write transaction (an import calls this after
    committing its rows, so the database is never held while text is scored)."""
    from lumina.quality import textstats

    with connect() as con:
        todo = store_quality.texts_needing(con, project_id, "heuristics", textstats.VERSION)
    step = BATCH["heuristics"]
    for start in range(0, len(todo), step):
        batch = todo[start:start + step]
        scored, flagged = _heuristics(batch)
        with connect() as con, transaction(con):
            store_quality.write_scores(con, scored)
            store_quality.replace_flags(con, project_id, "heuristics", flagged, only=[b[0] for b in batch])
    return len(todo)


def _per_sample(job_id: int, worker, p, params: ScoreParams) -> None:
    from lumina.quality import ifd as ifd_mod
    from lumina.quality import judge as judge_mod
    from lumina.records import Score

    scorer = params.scorer
    version = _version(scorer, project_id=p.id)
    with connect() as con:
        todo = store_quality.texts_needing(con, p.id, scorer, version)
    total, done, failed = len(todo), 0, 0
    _progress(job_id, total, 0)
    worker.log.info("%s %s: %d samples to score", scorer, version, total)
    engine: Any = None
    started = time.monotonic()
    try:
        if scorer == "judge":
            engine = _teacher(p)
            rubric = _rubric(p.id)
        elif scorer == "ifd":
            from lumina import models

            engine = ifd_mod.IfdScorer(models.resolve(p.student))
        step = BATCH[scorer]
        for start in range(0, total, step):
            worker.checkpoint()
            batch = todo[start:start + step]
            scored, flagged = [], []
            if scorer == "heuristics":
                scored, flagged = _heuristics(batch)
            elif scorer == "judge":
                for o, (sid, _, _, _, h) in zip(judge_mod.judge(engine, [(b[0], b[1], b[2]) for b in batch],
                                                                rubric_template=rubric), batch):
                    scores = judge_mod.to_scores(o)
                    scored.append((sid, h, [Score(s.scorer, version, s.metric, s.value, s.details) for s in scores]))
                    failed += 0 if o.ok else 1
            else:
                outcomes = engine.score([(b[0], b[1], b[2]) for b in batch])
                for o, (sid, _, _, _, h) in zip(outcomes, batch):
                    scored.append((sid, h, ifd_mod.to_scores(o, p.student)))
                    failed += 1 if o.ifd is None else 0
                    if ifd_mod.suspect(o.ifd):
                        flagged.append((sid, "ifd_suspect", {"ifd": o.ifd}))
            with connect() as con, transaction(con):
                store_quality.write_scores(con, scored)
                if scorer != "judge":
                    store_quality.replace_flags(con, p.id, scorer, flagged, only=[b[0] for b in batch])
            done += len(batch)
            _progress(job_id, total, done - failed, failed, busy_s=time.monotonic() - started)
    finally:
        if engine is not None and hasattr(engine, "close"):
            engine.close()
    _progress(job_id, total, done - failed, failed,
              result={"scorer": scorer, "version": version, "scored": done, "failed": failed})


def _vectors(worker, p, model: str | None, ids_texts: list[tuple[int, str]] | None = None):
    """The project's embeddings from ``model``, computed for samples that lack a current one."""
    from lumina.diversity.embeddings import get_embedder

    emb = get_embedder(model)
    with connect() as con:
        missing = store_quality.texts_without_embedding(con, p.id, emb.name)
    for start in range(0, len(missing), 2048):
        worker.checkpoint()
        chunk = missing[start:start + 2048]
        vecs = emb.encode([t for _, t, _ in chunk])
        with connect() as con:
            store_quality.put_embeddings(con, emb.name, [c[0] for c in chunk], [c[2] for c in chunk], vecs)
        worker.log.info("embedded %d / %d new samples", min(start + 2048, len(missing)), len(missing))
    with connect() as con:
        return emb, *store_quality.embeddings(con, p.id, emb.name)


def _dedup(job_id: int, worker, p, params: ScoreParams) -> None:
    from lumina.quality import dedup

    with connect() as con:
        rows = store_quality.all_texts(con, p.id)
        judge_scores = store_quality.metric_values(con, p.id, "judge.overall")
    _progress(job_id, 3, 0)
    emb, ids, vecs = _vectors(worker, p, params.embedder)
    _progress(job_id, 3, 1)
    order = {i: k for k, i in enumerate(ids)}
    items = [(sid, f"{ins}\n{resp}") for sid, ins, resp, _ in rows if sid in order]
    vectors = vecs[[order[sid] for sid, _ in items]] if items else None
    worker.checkpoint()
    found = dedup.find_duplicates(items, judge_scores or None, vectors,
                                  near_threshold=params.dedup_near_threshold,
                                  semantic_threshold=params.dedup_semantic_threshold, shingle=params.dedup_shingle)
    _progress(job_id, 3, 2)
    flagged = [(f.sample_id, "duplicate", {"canonical": f.canonical_id, "kind": f.kind,
                                           "similarity": round(float(f.similarity), 4)}) for f in found]
    with connect() as con, transaction(con):
        store_quality.replace_flags(con, p.id, "dedup", flagged)
    kinds: dict[str, int] = {}
    for f in found:
        kinds[f.kind] = kinds.get(f.kind, 0) + 1
    _progress(job_id, 3, 3, result={"scorer": "dedup", "samples": len(items), "duplicates": len(found),
                                    "by_kind": kinds, "embedder": emb.name})


def _decontam(job_id: int, worker, p, params: ScoreParams) -> None:
    from lumina.io import importers
    from lumina.quality import decontam
    from lumina.diversity.embeddings import get_embedder

    names = params.evalsets or list(importers.evalsets(p.name))
    items, by_key = [], {}
    for name in names:
        for it in importers.evalset_items(p.name, name):
            key = f"{name}:{it['id']}"
            items.append(decontam.EvalItem(key, it["text"]))
            by_key[key] = name
    with connect() as con:
        rows = store_quality.all_texts(con, p.id)
    _progress(job_id, 2, 0)
    teacher = _teacher(p) if params.decontam_confirm else None
    try:
        worker.checkpoint()
        found = decontam.find_contamination(
            [(sid, f"{ins}\n{resp}") for sid, ins, resp, _ in rows], items, embedder=get_embedder(params.embedder),
            n=params.decontam_ngram, threshold=params.decontam_threshold, teacher=teacher)
    finally:
        if teacher is not None:
            teacher.close()
    _progress(job_id, 2, 1)
    flagged = []
    seen: set[int] = set()
    for f in sorted(found, key=lambda f: -f.score):  # the strongest match per sample is the one shown
        if f.sample_id in seen:
            continue
        seen.add(f.sample_id)
        flagged.append((f.sample_id, "contaminated", {"eval_set": by_key.get(f.eval_id), "eval_item": f.eval_id,
                                                      "eval_text": f.eval_text[:1000], "kind": f.kind,
                                                      "score": round(float(f.score), 4)}))
    with connect() as con, transaction(con):
        store_quality.replace_flags(con, p.id, "decontam", flagged)
    _progress(job_id, 2, 2, result={"scorer": "decontam", "eval_sets": names, "eval_items": len(items),
                                    "samples": len(rows), "contaminated": len(flagged)})
