"""lumina templates list | show | set | reset"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from lumina.cli.common import echo_json

app = typer.Typer(help="Prompt templates: the built-in ones, and a project's own wording.", no_args_is_help=True)


def _split(ref: str) -> tuple[str, str]:
    from lumina.errors import InvalidInputError

    mode, sep, step = ref.partition("/")
    if not sep or not step:
        raise InvalidInputError(f"Name a template as MODE/STEP, e.g. taxonomy/instruction (got '{ref}').")
    return mode, step.split("@")[0]


@app.command("list")
def list_(project: Optional[str] = typer.Option(None, help="show which ones this project overrides"),
          json_out: bool = typer.Option(False, "--json")) -> None:
    """Every template, with the version a project's jobs would use."""
    from lumina import prompts
    from lumina.projects import get

    pid = get(project).id if project else None
    latest = {}
    for t in prompts.all_templates():
        latest[t.key] = t
    for key, t in latest.items():
        used = prompts.for_project(pid, t.mode, t.step)
        if json_out:
            echo_json({"template": key, "builtin": t.ref, "used": used.ref})
        else:
            typer.echo(f"{key:28} {used.ref}" + ("  (project override)" if used.override else ""))


@app.command("show")
def show(ref: str = typer.Argument(..., help="MODE/STEP, or a sample's MODE/STEP@vN / @pK"),
         project: Optional[str] = typer.Option(None, help="the project whose wording to show")) -> None:
    """Print a template's text."""
    from lumina import prompts
    from lumina.errors import NotFoundError
    from lumina.projects import get

    pid = get(project).id if project else None
    if "@" in ref:
        t = prompts.resolve_ref(pid, ref)
        if t is None:
            raise NotFoundError(f"No template {ref}" + ("" if project else " (an @p ref needs --project)") + ".")
    else:
        mode, step = _split(ref)
        t = prompts.for_project(pid, mode, step)
    typer.echo(f"# {t.ref}\n{t.source}", nl=not t.source.endswith("\n"))


@app.command("set")
def set_(project: str, ref: str = typer.Argument(..., help="MODE/STEP"), path: Path = typer.Argument(...)) -> None:
    """Use the Jinja text in PATH for this project (checked before it is saved)."""
    from lumina import prompts
    from lumina.io.textfiles import read_text

    mode, step = _split(ref)
    t = prompts.save_override(project, mode, step, read_text(path, "Template file"))
    typer.echo(f"{project} now uses {t.ref}")


@app.command("reset")
def reset(project: str, ref: str = typer.Argument(..., help="MODE/STEP")) -> None:
    """Go back to the built-in template."""
    from lumina import prompts

    mode, step = _split(ref)
    typer.echo(f"{project} now uses {prompts.reset_override(project, mode, step).ref}")
