"""lumina score | map | policy"""

from __future__ import annotations

from typing import List, Optional

import typer

from lumina.cli.common import echo_json, wait_and_report


def score(
    project: str = typer.Argument(...),
    scorer: str = typer.Argument(..., help="heuristics|judge|ifd|dedup|decontam"),
    near_threshold: float = typer.Option(0.8, help="dedup: MinHash Jaccard for near-duplicates"),
    semantic_threshold: float = typer.Option(0.92, help="dedup: embedding cosine for semantic duplicates"),
    shingle: int = typer.Option(5, help="dedup: character shingle size"),
    ngram: int = typer.Option(13, help="decontam: n-gram length in words (8-13)"),
    threshold: float = typer.Option(0.85, help="decontam: embedding cosine for paraphrases"),
    confirm: bool = typer.Option(False, "--confirm", help="decontam: ask the teacher about borderline pairs"),
    evalset: List[str] = typer.Option([], "--evalset", help="decontam: only these eval sets (repeatable)"),
    embedder: Optional[str] = typer.Option(None, help="sentence-transformers model (default: bundled MiniLM)"),
    wait: bool = typer.Option(False, "--wait"),
    json_out: bool = typer.Option(False, "--json"),
) -> int:
    """Run one scorer over the project as a background job (only new or changed samples for
    per-sample scorers)."""
    from lumina.quality.score_job import ScoreParams, start_scoring

    job = start_scoring(project, ScoreParams(scorer, near_threshold, semantic_threshold, shingle, ngram, threshold,
                                             confirm, list(evalset), embedder))
    if wait or json_out:
        return wait_and_report(job.id, as_json=json_out)
    typer.echo(f"job {job.id} started: {scorer}")
    return 0


def map_(
    project: str = typer.Argument(...),
    refit: bool = typer.Option(False, "--refit", help="rebuild the UMAP projection from all samples"),
    clusters: str = typer.Option("kmeans", help="kmeans|hdbscan"),
    k: Optional[int] = typer.Option(None, help="kmeans: number of clusters (default: best silhouette)"),
    embedder: Optional[str] = typer.Option(None),
    wait: bool = typer.Option(False, "--wait"),
    json_out: bool = typer.Option(False, "--json"),
) -> int:
    """Embed new samples, place them on the 2-D map, cluster, and compute diversity figures."""
    from lumina.diversity.map_job import MapParams, start_map

    job = start_map(project, MapParams(refit=refit, embedder=embedder, clusters=clusters, k=k))
    if wait or json_out:
        return wait_and_report(job.id, as_json=json_out)
    typer.echo(f"job {job.id} started: map")
    return 0


def policy(
    project: str = typer.Argument(...),
    rule: str = typer.Argument(..., help="e.g. 'judge.overall < 3 or duplicate or contaminated'"),
    apply: bool = typer.Option(False, "--apply", help="reject the matching pending samples (one undoable batch)"),
    reviewer: Optional[str] = typer.Option(None, "--reviewer", "-r", envvar="LUMINA_REVIEWER"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Preview (or --apply) an automatic reject policy on pending samples."""
    from lumina.quality import policy as pol
    from lumina.review import check_reviewer, default_reviewer

    pv = pol.preview(project, rule)
    if not apply:
        if json_out:
            echo_json({"policy": pv.text, "matches": len(pv.ids), "per_rule": pv.per_rule, "ids": pv.ids})
        else:
            typer.echo(f"{pv.text}: {len(pv.ids)} pending samples match ("
                       + ", ".join(f"{k}: {v}" for k, v in pv.per_rule.items()) + "); add --apply to reject them")
        return
    res = pol.apply(project, rule, check_reviewer(reviewer or default_reviewer()))
    if json_out:
        echo_json({"policy": pv.text, "rejected": res.decided, "batch": res.batch})
    else:
        typer.echo(f"rejected {res.decided} samples by policy '{pv.text}'; `lumina review undo {project}` reverses it")
