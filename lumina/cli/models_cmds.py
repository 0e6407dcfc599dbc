"""lumina models prepare | list"""

from __future__ import annotations

import typer

from lumina.cli.common import echo_json, progress

app = typer.Typer(help="The bundled models and where each would run.", no_args_is_help=True)


@app.command("prepare")
def prepare(force: bool = typer.Option(False, help="rebuild even if already prepared")) -> None:
    """Materialise the bundled SmolLM2 as safetensors and locate the MiniLM embedder."""
    from lumina import models

    path = models.prepare_smollm2(progress=progress, force=force)
    typer.echo(f"{models.SMOLLM2}: {path}")
    typer.echo(f"{models.MINILM}: {models.minilm_dir()}")


@app.command("list")
def list_(json_out: bool = typer.Option(False, "--json", help="one JSON object per line")) -> None:
    """Every known model: where it lives, whether it is ready, which device would run it."""
    from dataclasses import asdict

    from lumina import models

    for m in models.list_models():
        if json_out:
            echo_json(asdict(m))
        else:
            state = "ready" if m.ready else "not prepared (run `lumina models prepare`)"
            typer.echo(f"{m.name:24} {m.role:22} {state:10} {m.device}\n{'':24} {m.location or m.source}")
