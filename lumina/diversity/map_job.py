"""The diversity map as a background job (`lumina map NAME [--refit]`): embeddings for samples
that lack one, a 2-D UMAP projection (new samples placed with the fitted model's transform; a
refit rebuilds it), clusters with short labels, and diversity figures for the project and for
each dataset version (so a user sees diversity rise or fall between versions).

The fitted projection is kept at ``$LUMINA_HOME/maps/project-ID.projection``; which model,
when and on how many samples is in the project's settings under ``map``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any


from lumina import access
from lumina.diversity.params import MapParams  # noqa: F401 - its jobs' params, importable from here too
from lumina.config import settings
from lumina.errors import InvalidInputError
from lumina.store import connect, transaction
from lumina.store import jobs as store_jobs
from lumina.store import projects as store_projects
from lumina.store import quality as store_quality

FIT_SAMPLE = 20_000     # UMAP is fitted on at most this many points; the rest are transformed
METRIC_SAMPLE = 5_000   # pairwise figures are estimated on a sample this size


def projection_path(project_id: int) -> Path:
    # Plain arrays (numpy .npz). Maps saved as pickles by earlier versions (".projection") are
    # never loaded: the next map job refits.
    return settings().home / "maps" / f"project-{project_id}.map.npz"


@access.requires("curator")
def start_map(project: str, params: MapParams, launch_worker: bool = True):
    from lumina import jobs

    if params.clusters not in ("kmeans", "hdbscan"):
        raise InvalidInputError("Clusters are 'kmeans' or 'hdbscan'.")
    if params.k is not None and not 2 <= params.k <= 100:
        raise InvalidInputError("k must be between 2 and 100.")
    if not 2 <= params.n_neighbors <= 200 or not 0 <= params.min_dist <= 1:
        raise InvalidInputError("n_neighbors must be 2-200 and min_dist 0-1.")
    with connect() as con:
        p = store_projects.get(con, project)
        if not store_quality.sample_count(con, p.id):
            raise InvalidInputError(f"'{project}' has no samples to map yet.")
    return jobs.submit("map", p.id, params.to_dict(), launch_worker=launch_worker)


def run_map_job(ctx) -> None:
    import numpy as np

    from lumina import diversity
    from lumina.quality.score_job import _vectors

    job_id, worker, p, params = ctx.job_id, ctx.worker, ctx.project, ctx.params
    steps = 5
    t0 = time.monotonic()

    def step(k: int, **extra) -> None:
        with connect() as con:
            store_jobs.update(con, job_id, total=steps, done=k, busy_s=time.monotonic() - t0, **extra)
        worker.checkpoint()

    step(0)
    emb, ids, vecs = _vectors(worker, p, params.embedder)
    step(1)
    meta = dict((p.settings or {}).get("map") or {})
    path = projection_path(p.id)
    with connect() as con:
        placed = store_quality.placed_ids(con, p.id)
    new = [k for k, i in enumerate(ids) if i not in placed]
    refit = (params.refit or not path.exists() or meta.get("embedder") != emb.name
             or meta.get("n_neighbors", 15) != params.n_neighbors or meta.get("min_dist", 0.1) != params.min_dist
             # the first fit saw few points: a map of 30 samples says little about 3,000
             or len(ids) > 4 * max(1, meta.get("n_fit", 0)) and meta.get("n_fit", 0) < FIT_SAMPLE)
    proj = None
    if not refit:
        try:
            proj = diversity.Projection.load(path)
        except InvalidInputError as exc:  # damaged or foreign: fit anew rather than fail the job
            worker.log.warning("refitting the map: %s", exc)
            refit = True
    if refit:
        rng = np.random.default_rng(0)
        fit_rows = np.arange(len(ids)) if len(ids) <= FIT_SAMPLE else np.sort(rng.choice(len(ids), FIT_SAMPLE, replace=False))
        proj = diversity.Projection.fit(vecs[fit_rows], n_neighbors=params.n_neighbors, min_dist=params.min_dist)
        xy = np.zeros((len(ids), 2))
        xy[fit_rows] = proj.coords
        rest = np.setdiff1d(np.arange(len(ids)), fit_rows)
        if len(rest):
            xy[rest] = proj.transform(vecs[rest])
        proj.save(path)
        rows_to_write, coords = list(range(len(ids))), xy
        meta.update(embedder=emb.name, n_fit=int(len(fit_rows)), method=proj.method, n_neighbors=params.n_neighbors,
                    min_dist=params.min_dist, fitted_at=time.strftime("%Y-%m-%d %H:%M"))
    else:
        rows_to_write = new
        coords = proj.transform(vecs[new]) if new else np.zeros((0, 2))
    with connect() as con, transaction(con):
        store_quality.put_points(con, p.id, [ids[k] for k in rows_to_write], coords, replace_all=refit)
    step(2)

    labels = diversity.cluster(vecs, method=params.clusters, k=params.k)
    with connect() as con:
        texts = {sid: ins for sid, ins, _, _ in store_quality.all_texts(con, p.id)}
    names = diversity.label_clusters([texts.get(i, "") for i in ids], labels)
    with connect() as con, transaction(con):
        store_quality.set_clusters(con, p.id, ids, labels)
    step(3)

    figures = _figures(p, ids, vecs, labels, texts)
    meta.update(clusters={str(k): v for k, v in names.items()}, updated_at=time.strftime("%Y-%m-%d %H:%M"),
                points=len(ids))
    with connect() as con, transaction(con):
        # Replaced whole (a merge would keep the names of clusters that are gone), other keys kept.
        store_projects.merge_settings(con, p.id, {"map": None})
        store_projects.merge_settings(con, p.id, {"map": meta})
        store_quality.add_metrics(con, p.id, None, figures)
        for v in _versions(con, p.id):
            vids = set(v.train_ids + v.eval_ids)
            keep = [k for k, i in enumerate(ids) if i in vids]
            if keep:
                store_quality.add_metrics(con, p.id, v.id, {**_pairwise(vecs[keep], labels[keep],
                                                                        [texts.get(ids[k], "") for k in keep]),
                                                            "version": v.name})
    step(4)
    with connect() as con:
        store_jobs.update(con, job_id, total=steps, done=steps, busy_s=time.monotonic() - t0,
                          result={"points": len(ids), "new": len(new), "refit": bool(refit), **figures})


def _versions(con, project_id: int):
    from lumina.store import datasets as store_datasets

    return store_datasets.list_all(con, project_id)


def _pairwise(vecs, labels, texts) -> dict[str, Any]:
    import numpy as np

    from lumina import diversity

    rng = np.random.default_rng(0)
    rows = np.arange(len(vecs)) if len(vecs) <= METRIC_SAMPLE else rng.choice(len(vecs), METRIC_SAMPLE, replace=False)
    return {
        "samples": int(len(vecs)),
        "vendi": float(diversity.vendi_score(vecs[rows])),
        "mean_cosine_distance": float(diversity.mean_pairwise_cosine_distance(vecs[rows])),
        "distinct_2": float(diversity.distinct_n([texts[k] for k in rows], 2)),
        "cluster_shares": {str(k): float(v) for k, v in diversity.cluster_shares(labels).items()},
    }


def _figures(p, ids, vecs, labels, texts) -> dict[str, Any]:
    from lumina import diversity

    with connect() as con:
        nodes = store_projects.nodes(con, p.id)
        node_of = store_quality.node_paths(con, p.id)
    parents = {n.get("parent_path") for n in nodes}
    leaves = [n["path"] for n in nodes if n["path"] not in parents]
    cov = diversity.coverage([node_of.get(i) for i in ids], leaves)
    return {**_pairwise(vecs, labels, [texts.get(i, "") for i in ids]),
            "coverage": {k: cov[k] for k in cov if k not in ("counts", "share")}}


# --- what the pages read ----------------------------------------------------------------------

def map_data(project: str, color_metric: str | None = None):
    """The map page's data: an Arrow table of every placed sample (one query)."""
    with connect() as con:
        p = store_projects.get(con, project)
        return store_quality.map_rows(con, p.id, color_metric)


def map_state(project: str) -> dict[str, Any]:
    """Whether a map exists, how many samples it lacks, its clusters and the figures over time."""
    with connect() as con:
        p = store_projects.get(con, project)
        placed = store_quality.count_points(con, p.id)
        total = store_quality.sample_count(con, p.id)
        history = store_quality.metrics_history(con, p.id)
        names = {v.id: v.name for v in _versions(con, p.id)}
    return {"meta": (p.settings or {}).get("map") or {}, "placed": placed, "total": total,
            "history": [{"version": names.get(v) if v else None, "at": t, **m} for v, t, m in history]}
