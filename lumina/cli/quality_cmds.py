"""lumina score | map | policy"""

from __future__ import annotations

import json
from typing import List, Optional

import typer

from lumina.cli.common import echo_json, option_from, wait_and_report
from lumina.diversity.params import MapParams
# the scorers' own Options models give the flags their defaults (cheap: no engine is imported)
from lumina.quality.scorers.decontam import Options as Decontam
from lumina.quality.scorers.dedup import Options as Dedup


def score(
    project: str = typer.Argument(...),
    scorer: str = typer.Argument(..., help="heuristics|judge|ifd|dedup|decontam, or a plugin's scorer"),
    near_threshold: float = option_from(Dedup, "near_threshold", prefix="dedup"),
    semantic_threshold: float = option_from(Dedup, "semantic_threshold", prefix="dedup"),
    shingle: int = option_from(Dedup, "shingle", prefix="dedup"),
    ngram: int = option_from(Decontam, "ngram", prefix="decontam"),
    threshold: float = option_from(Decontam, "threshold", prefix="decontam"),
    confirm: bool = option_from(Decontam, "confirm", "--confirm", prefix="decontam"),
    evalset: List[str] = typer.Option([], "--evalset", help="decontam: only these eval sets (repeatable)"),
    embedder: Optional[str] = option_from(Dedup, "embedder"),
    option: List[str] = typer.Option([], "--option", "-o", help="any scorer option as KEY=VALUE (repeatable; "
                                     "VALUE is read as JSON when it parses)"),
    wait: bool = typer.Option(False, "--wait"),
    json_out: bool = typer.Option(False, "--json"),
) -> int:
    """Run one scorer over the project as a background job (only new or changed samples for
    per-sample scorers)."""
    from lumina.quality.score_job import ScoreParams, start_scoring

    flags = {"near_threshold": near_threshold, "semantic_threshold": semantic_threshold, "shingle": shingle,
             "ngram": ngram, "threshold": threshold, "confirm": confirm, "evalsets": list(evalset),
             "embedder": embedder}
    job = start_scoring(project, ScoreParams.from_flags(scorer, flags, _key_values(option)))
    if wait or json_out:
        return wait_and_report(job.id, as_json=json_out)
    typer.echo(f"job {job.id} started: {scorer}")
    return 0


def _key_values(pairs: List[str]) -> dict:
    from lumina.errors import InvalidInputError

    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(f"--option takes KEY=VALUE, not '{pair}'.")
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value
    return out


def map_(
    project: str = typer.Argument(...),
    refit: bool = option_from(MapParams, "refit", "--refit"),
    clusters: str = option_from(MapParams, "clusters", "--clusters"),
    k: Optional[int] = option_from(MapParams, "k", "--k"),
    embedder: Optional[str] = option_from(MapParams, "embedder", "--embedder"),
    wait: bool = typer.Option(False, "--wait"),
    json_out: bool = typer.Option(False, "--json"),
) -> int:
    """Embed new samples, place them on the 2-D map, cluster, and compute diversity figures."""
    from lumina.diversity.map_job import start_map

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
