"""lumina import, lumina samples, lumina dataset export"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from lumina.cli.common import echo_json

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
) -> None:
    """Import a file into a project."""
    from lumina.importers import import_documents, import_file

    if as_ == "documents":
        got = import_documents(name, path, chunk_chars, overlap)
        typer.echo(f"imported {got.documents} documents ({got.chunks} passages) into {name}")
        for why in got.skipped:
            typer.echo(f"skipped {why}", err=True)
        return
    columns = {k: v for k, v in (("instruction", instruction_col), ("response", response_col),
                                 ("context", context_col), ("messages", messages_col)) if v}
    n = import_file(name, path, as_, columns=columns or None)
    typer.echo(f"imported {n} {as_} into {name}")


def samples(
    name: str = typer.Argument(..., help="project"),
    status: Optional[str] = typer.Option(None, help="pending|approved|rejected"),
    json_out: bool = typer.Option(False, "--json", help="one JSON object per line"),
    limit: Optional[int] = typer.Option(None),
) -> None:
    """List a project's samples with provenance, scores and flags."""
    from lumina.samples import list_for

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
    out: Path = typer.Option(..., "--out", help="output file (jsonl/parquet) or folder (hf/llamafactory)"),
    status: Optional[str] = typer.Option(None, help="with 'all': only samples of this status"),
) -> None:
    """Export samples in the chat `messages` format TRL reads (or ShareGPT for LLaMA-Factory)."""
    from lumina.errors import NotAvailableYetError
    from lumina.export import export as do_export
    from lumina.samples import list_for

    if version != "all":
        raise NotAvailableYetError(
            f"Dataset versions are not available in this build yet; export '{name}' with VERSION 'all'."
        )
    rows = list_for(name, status=status)
    path = do_export(rows, fmt, out, name=name)
    typer.echo(f"exported {len(rows)} samples to {path}")
