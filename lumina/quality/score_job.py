"""The `score` job (`lumina score NAME SCORER`): the one driver every scorer of
``lumina.quality.scorers.SCORERS`` runs under.

- per-sample scorers (heuristics, judge, ifd, ...): only samples with no current score are
  scored (new, edited since, scored by an older scorer version, or failed), a batch at a time,
  each batch written in its own short transaction; progress counts samples.
- whole-project scorers (dedup, decontam, ...): relations between samples, recomputed over the
  project each run; their flags replace their own earlier ones.

Scores and flags are written only here (``write``), through ``store.quality.write_scores`` and
``store.quality.replace_flags``. A failed score is a NULL value with the error in its details,
never a made-up number. The same per-sample path scores inline, without a job: an import's
new samples (``score_pending``) and an edited sample (``score_now``).
"""

from __future__ import annotations

import time
from typing import Any, Sequence

from pydantic import BaseModel, Field, ValidationError, model_validator

from lumina import access
from lumina.errors import InvalidInputError
from lumina.quality.scorers import SCORERS, ScoreContext, Scorer, Text, listed
from lumina.store import connect, transaction
from lumina.store import jobs as store_jobs
from lumina.store import projects as store_projects
from lumina.store import quality as store_quality


class ScoreParams(BaseModel):
    """A `score` job's settings as stored: the scorer and its options (its ``Options`` model's
    fields). ``ScoreParams("judge")`` takes the scorer positionally."""

    scorer: str = Field(description="the scorer's name (lumina.quality.scorers)")
    options: dict[str, Any] = Field(default_factory=dict, description="the scorer's options")

    def __init__(self, scorer: str | None = None, /, **data: Any) -> None:
        if scorer is not None:
            data["scorer"] = scorer
        super().__init__(**data)

    @model_validator(mode="before")
    @classmethod
    def _fold_legacy(cls, data: Any) -> Any:
        # Jobs stored before the scorer registry kept every scorer's settings as flat keys
        # ({"scorer": "dedup", "dedup_near_threshold": 0.8, "decontam_ngram": 13, ...}); a resume
        # reads them back into the scorer's own options and drops the other scorers' keys.
        if not isinstance(data, dict):
            return data
        flat = {k: v for k, v in data.items() if k not in ("scorer", "options")}
        if not flat:
            return data
        name = data.get("scorer")
        legacy = SCORERS.get(name).legacy if isinstance(name, str) and name in SCORERS else {}
        folded = {legacy[k]: v for k, v in flat.items() if k in legacy}
        return {"scorer": name, "options": {**folded, **(data.get("options") or {})}}

    @classmethod
    def from_flags(cls, scorer: str, flags: dict[str, Any], options: dict[str, Any] | None = None) -> "ScoreParams":
        """The CLI's flags are shared by all scorers: keep those the scorer declares."""
        model = SCORERS.get(scorer).Options if scorer in SCORERS else None
        own = {k: v for k, v in flags.items() if model is not None and k in model.model_fields}
        # another scorer's flag does not apply here, but a bad value is still refused, as before
        for other in SCORERS:
            if other.name != scorer:
                theirs = {k: v for k, v in flags.items() if k in other.Options.model_fields and k not in own}
                if theirs:
                    options_for(other, theirs)
        return cls(scorer, options={**own, **(options or {})})

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _scorer(name: str) -> Scorer:
    if name not in SCORERS:
        raise InvalidInputError(f"Unknown scorer '{name}' (use one of: {', '.join(s.name for s in listed())}).")
    return SCORERS.get(name)


def options_for(scorer: Scorer, given: dict[str, Any]) -> BaseModel:
    """The scorer's Options from stored or typed values (defaults filled in)."""
    try:
        return scorer.Options.model_validate(given)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ())) or "options"
        field = scorer.Options.model_fields.get(where)
        about = f" ({field.description})" if field is not None and field.description else ""
        raise InvalidInputError(f"Invalid {scorer.name} option {where}{about}: {first.get('msg')}.") from None


def is_per_sample(name: str) -> bool:
    """Whether a scorer's job counts samples (else steps over the whole project)."""
    return name in SCORERS and SCORERS.get(name).scope == "sample"


def check(project: str, params: ScoreParams) -> ScoreParams:
    """The params as the job will store them (options checked, defaults filled), or an error."""
    scorer = _scorer(params.scorer)
    options = options_for(scorer, params.options)
    with connect() as con:
        p = store_projects.get(con, project)
    scorer.check(p, options)
    return ScoreParams(scorer.name, options=options.model_dump(mode="json"))


@access.requires("curator")
def start_scoring(project: str, params: ScoreParams, launch_worker: bool = True):
    from lumina import jobs

    checked = check(project, params)
    with connect() as con:
        p = store_projects.get(con, project)
    return jobs.submit("score", p.id, checked.to_dict(), launch_worker=launch_worker)


def pending(project: str, scorer: str) -> int:
    """Samples a per-sample scorer would (re)score now."""
    s = _scorer(scorer)
    with connect() as con:
        p = store_projects.get(con, project)
        return store_quality.count_needing(con, p.id, s.name, s.version_for(p.id))


def _progress(job_id: int, total: int, done: int, failed: int = 0, **extra: Any) -> None:
    with connect() as con:
        store_jobs.update(con, job_id, total=total, done=done, failed=failed, **extra)


def write(con, project_id: int, scorer: str, scores, flags, batch: Sequence[Text] | None = None) -> int:
    """Store one run's results (inside the caller's transaction): a batch's scores and flags
    replace that scorer's earlier ones for the batch, a whole-project run's flags replace all
    of them. Returns how many samples got a failed (NULL) score."""
    hashes = ({t.id: t.text_hash for t in batch} if batch is not None
              else store_quality.text_hashes(con, project_id, [sid for sid, _ in scores]))
    unknown = [sid for sid, _ in scores if sid not in hashes]
    if unknown:
        raise ValueError(f"The scorer '{scorer}' returned scores for samples it was not given: {unknown[:5]}")
    store_quality.write_scores(con, [(sid, hashes[sid], s) for sid, s in scores])
    store_quality.replace_flags(con, project_id, scorer, flags,
                                only=[t.id for t in batch] if batch is not None else None)
    return sum(1 for _, s in scores if any(x.value is None for x in s))


def _context(scorer: Scorer, project, options: dict[str, Any] | None = None, worker=None, **kw) -> ScoreContext:
    return ScoreContext(project, options_for(scorer, options or {}), scorer.version_for(project.id), worker, **kw)


def _per_sample(scorer: Scorer, ctx: ScoreContext, on_batch=None) -> tuple[int, int]:
    """Score every sample lacking a current score; returns (scored, failed)."""
    p = ctx.project
    with connect() as con:
        todo = [Text(*r) for r in store_quality.texts_needing(con, p.id, scorer.name, ctx.version)]
    if on_batch is not None:
        on_batch(len(todo), 0, 0)
    ctx.log.info("%s %s: %d samples to score", scorer.name, ctx.version, len(todo))
    done = failed = 0
    for start in range(0, len(todo), scorer.batch_size):
        ctx.checkpoint()
        batch = todo[start:start + scorer.batch_size]
        scores, flags = scorer.run(ctx, batch)  # outside the transaction: this is the slow part
        with connect() as con, transaction(con):
            failed += write(con, p.id, scorer.name, scores, flags, batch)
        done += len(batch)
        if on_batch is not None:
            on_batch(len(todo), done, failed)
    return done, failed


def score_pending(project_id: int, scorer: str = "heuristics") -> int:
    """Run a per-sample scorer now, without a job, with its default options (an import scores
    its new samples this way after committing them, so the database is never held while text
    is scored). Returns the number of samples scored."""
    s = _scorer(scorer)
    with connect() as con:
        p = store_projects.get_by_id(con, project_id)
    ctx = _context(s, p)
    try:
        return _per_sample(s, ctx)[0]
    finally:
        ctx.close()


def score_now(con, project, scorer: str, texts: Sequence[Text]) -> None:
    """Score these samples of ``project`` with a per-sample scorer inside the caller's
    transaction (an edit re-scores its sample in the same transaction as the edit)."""
    s = _scorer(scorer)
    ctx = _context(s, project)
    try:
        scores, flags = s.run(ctx, list(texts))
    finally:
        ctx.close()
    write(con, project.id, s.name, scores, flags, list(texts))


def run_score_job(job) -> None:
    """The `score` job's handler (``lumina.jobs.kinds.score``); ``job`` is the worker's JobContext."""
    job_id, p, worker, params = job.job_id, job.project, job.worker, job.params
    scorer = _scorer(params.scorer)
    started = time.monotonic()
    ctx = _context(scorer, p, params.options, worker,
                   on_progress=lambda done, total: _progress(job_id, total, done))
    try:
        if scorer.scope == "sample":
            def on_batch(total: int, done: int, failed: int) -> None:
                extra = {"busy_s": time.monotonic() - started} if done else {}
                _progress(job_id, total, done - failed, failed, **extra)

            done, failed = _per_sample(scorer, ctx, on_batch)
            _progress(job_id, done, done - failed, failed,  # done: every sample it selected
                      result={"scorer": scorer.name, "version": ctx.version, "scored": done, "failed": failed})
            return
        scores, flags = scorer.run(ctx)
        with connect() as con, transaction(con):
            write(con, p.id, scorer.name, scores, flags)
        _progress(job_id, ctx.steps, ctx.steps, result={"scorer": scorer.name, **ctx.summary})
    finally:
        ctx.close()


def _vectors(worker, p, model: str | None):
    """The project's embeddings from ``model``, computed for samples that lack a current one
    (``worker``: anything with ``checkpoint()`` and ``log``; the map job uses this too)."""
    from lumina.diversity.embeddings import get_embedder
    from lumina.quality.scorers import log as quality_log

    log = getattr(worker, "log", None) or quality_log
    emb = get_embedder(model)
    with connect() as con:
        missing = store_quality.texts_without_embedding(con, p.id, emb.name)
    for start in range(0, len(missing), 2048):
        worker.checkpoint()
        chunk = missing[start:start + 2048]
        vecs = emb.encode([t for _, t, _ in chunk])
        with connect() as con:
            store_quality.put_embeddings(con, emb.name, [c[0] for c in chunk], [c[2] for c in chunk], vecs)
        log.info("embedded %d / %d new samples", min(start + 2048, len(missing)), len(missing))
    with connect() as con:
        return emb, *store_quality.embeddings(con, p.id, emb.name)
