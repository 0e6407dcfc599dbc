"""lumina import, lumina samples, lumina dataset export"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from lumina.cli.common import check_status, echo_json

dataset_app = typer.Typer(help="Dataset versions and exports.", no_args_is_help=True)


def import_(
    name: str = typer.Argument(..., help="project"),
    path: Path = typer.Argument(..., help="file (.jsonl .json .csv .tsv .parquet; documents: .txt .md .pdf) or folder"),
    as_: str = typer.Option("samples", "--as", help="samples|seeds|prompts|documents|evalset"),
    instruction_col: Optional[str] = typer.Option(None, help="column holding the instruction / prompt"),
    response_col: Optional[str] = typer.Option(None, help="column holding the response"),
    context_col: Optional[str] = typer.Option(None, help="column holding a context passage"),
    messages_col: Optional[str] = typer.Option(None, help="column holding chat messages"),
    chunk_chars: Optional[int] = typer.Option(None, help="documents: passage size in characters (default 1200)"),
    overlap: Optional[int] = typer.Option(None, help="documents: characters neighbouring passages share (default 150)"),
    set_name: Optional[str] = typer.Option(None, "--name", help="evalset: its name (default: the file name)"),
    replace: bool = typer.Option(False, "--replace", help="evalset: replace an eval set of the same name"),
) -> None:
    """Import a file into a project."""
    from lumina.io.importers import import_documents, import_evalset, import_file

    if as_ == "documents":
        got = import_documents(name, path, chunk_chars, overlap)
        typer.echo(f"imported {got.documents} documents ({got.chunks} passages) into {name}")
        for why in got.skipped:
            typer.echo(f"skipped {why}", err=True)
        return
    columns = {k: v for k, v in (("instruction", instruction_col), ("response", response_col),
                                 ("context", context_col), ("messages", messages_col)) if v}
    if as_ == "evalset":
        n = import_evalset(name, path, set_name, columns=columns or None, replace=replace)
        typer.echo(f"imported {n} eval items into {name}")
        return
    n = import_file(name, path, as_, columns=columns or None)
    typer.echo(f"imported {n} {as_} into {name}")


def samples(
    name: str = typer.Argument(..., help="project"),
    status: Optional[str] = typer.Option(None, help="pending|approved|rejected"),
    json_out: bool = typer.Option(False, "--json", help="one JSON object per line"),
    limit: Optional[int] = typer.Option(None),
) -> None:
    """List a project's samples with provenance, scores and flags."""
    from lumina.errors import InvalidInputError
    from lumina.projects.samples import list_for

    check_status(status)
    if limit is not None and limit < 0:
        raise InvalidInputError("--limit must be 0 or more.")
    for s in list_for(name, status=status, limit=limit):
        if json_out:
            echo_json(s.to_json())
        else:
            flags = f" [{', '.join(s.flags)}]" if s.flags else ""
            typer.echo(f"{s.id:6} {s.status:9} {s.node_path or '-':30.30} {s.instruction[:70]!r}{flags}")


@dataset_app.command("export")
def export(
    name: str = typer.Argument(..., help="project"),
    version: str = typer.Argument(..., help="dataset version, or 'all' for every current sample"),
    fmt: str = typer.Option("jsonl", "--format", help="jsonl|parquet|hf|llamafactory"),
    out: Path = typer.Option(..., "--out", help="a new or empty folder (a version: one file per split + "
                             "README.md); with 'all' and jsonl/parquet a file"),
    status: Optional[str] = typer.Option(None, help="with 'all': only samples of this status"),
    force: bool = typer.Option(False, "--force", help="replace a previous export there (only the files "
                               "Lumina wrote; anything else is kept)"),
) -> None:
    """Export in the chat `messages` format TRL reads (or ShareGPT for LLaMA-Factory), with a dataset card."""
    from lumina.io.formats import export as do_export
    from lumina.projects.samples import list_for

    if version == "all":
        rows = list_for(name, status=check_status(status))
        path = do_export(rows, fmt, out, name=name, force=force)
        typer.echo(f"exported {len(rows)} samples to {path}")
        return
    from lumina.datasets import export_version, get_version

    v = get_version(name, version)
    path = export_version(name, version, fmt, out, force=force)
    typer.echo(f"exported version {version} ({v.counts.get('train', 0)} train, {v.counts.get('eval', 0)} eval) to {path}")


@dataset_app.command("freeze")
def freeze(
    name: str = typer.Argument(..., help="project"),
    version: str = typer.Argument(..., help="a new version name, e.g. v1"),
    eval_fraction: float = typer.Option(0.1, help="share of samples held out for eval (stratified by node)"),
    seed: int = typer.Option(0, help="seed of the split and of the mixing draw"),
    mix: Optional[Path] = typer.Option(None, help="a general SFT dataset to mix in (JSONL/Parquet/datasets folder)"),
    mix_ratio: float = typer.Option(0.5, help="the general data's share of the train split"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Snapshot the approved samples into an immutable, content-hashed version."""
    from lumina.datasets import MixSource
    from lumina.datasets import freeze as do_freeze
    from lumina.review import default_reviewer

    v = do_freeze(name, version, eval_fraction, seed, MixSource(str(mix), mix_ratio) if mix else None,
                  created_by=default_reviewer())
    if json_out:
        echo_json(v.to_json())
        return
    mixed = v.lineage.get("mix")
    extra = f", {mixed['rows_used']} general rows mixed in" if mixed else ""
    typer.echo(f"froze {version}: {v.counts.get('train', 0)} train, {v.counts.get('eval', 0)} eval{extra}; "
               f"hash {v.content_hash[:12]}")


@dataset_app.command("list")
def list_(name: str = typer.Argument(..., help="project"), json_out: bool = typer.Option(False, "--json")) -> None:
    """The project's dataset versions."""
    from lumina.datasets import list_versions

    for v in list_versions(name):
        if json_out:
            d = v.to_json()
            d.pop("train_ids")
            d.pop("eval_ids")
            echo_json(d)
        else:
            typer.echo(f"{v.name:20} {v.created_at:%Y-%m-%d %H:%M} train {v.counts.get('train', 0):6} "
                       f"eval {v.counts.get('eval', 0):5} {v.content_hash[:12]}")


@dataset_app.command("diff")
def diff(name: str = typer.Argument(..., help="project"), a: str = typer.Argument(...),
         b: str = typer.Argument(...), json_out: bool = typer.Option(False, "--json")) -> None:
    """What changed from version A to version B."""
    from lumina.datasets import diff as do_diff

    d = do_diff(name, a, b)
    if json_out:
        echo_json(d.to_json())
        return
    typer.echo(f"{a} -> {b}: +{len(d.added)} added, -{len(d.removed)} removed, {len(d.edited)} edited, "
               f"{d.unchanged} unchanged; general rows {d.mix['a']} -> {d.mix['b']}")
    for c in d.coverage:
        if c["change"]:
            typer.echo(f"  {c['node'][:50]:50} {c[a]:5} -> {c[b]:5} ({c['change']:+d})")


@dataset_app.command("card")
def card(name: str = typer.Argument(..., help="project"), version: str = typer.Argument(...)) -> None:
    """Print the version's dataset card (README.md)."""
    from lumina.datasets import card as make_card

    typer.echo(make_card(name, version))


@dataset_app.command("push")
def push(name: str = typer.Argument(..., help="project"), version: str = typer.Argument(...),
         repo: str = typer.Argument(..., help="Hub dataset repo, e.g. me/my-data"),
         token: Optional[str] = typer.Option(None, envvar="HF_TOKEN"),
         public: bool = typer.Option(False, "--public", help="make the repo public (default private)")) -> None:
    """Upload a version and its card to the Hugging Face Hub (needs a token and network)."""
    from lumina.datasets import push_to_hub

    typer.echo(push_to_hub(name, version, repo, token, private=not public))
