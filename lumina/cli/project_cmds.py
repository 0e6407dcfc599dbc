"""lumina project create | list, lumina generate, lumina demo"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from lumina.cli.common import echo_json, err, job_line, wait_and_report

app = typer.Typer(help="Projects: a taxonomy, a teacher and a student.", no_args_is_help=True)


@app.command("create")
def create(
    name: str,
    taxonomy: Optional[Path] = typer.Option(None, help="taxonomy YAML file"),
    teacher: Optional[str] = typer.Option(None, help="teacher spec, e.g. vllm:MODEL or openai:URL#MODEL"),
    student: Optional[str] = typer.Option(None, help="student model: bundled name, hub id or folder"),
    no_check: bool = typer.Option(False, "--no-check", help="don't check that an openai endpoint answers"),
) -> None:
    """Create a project."""
    from lumina.projects import create_project

    p = create_project(name, taxonomy, teacher=teacher, student=student, check_reachable=not no_check)
    typer.echo(f"created project {p.name} (teacher {p.teacher}, student {p.student})")


@app.command("update")
def update(
    name: str,
    teacher: Optional[str] = typer.Option(None, help="new teacher spec"),
    student: Optional[str] = typer.Option(None, help="new student model"),
    no_check: bool = typer.Option(False, "--no-check", help="don't check that an openai endpoint answers"),
) -> None:
    """Change a project's teacher or student."""
    from lumina.projects import update_project

    p = update_project(name, teacher=teacher, student=student, check_reachable=not no_check)
    typer.echo(f"project {p.name}: teacher {p.teacher}, student {p.student}")


@app.command("list")
def list_(json_out: bool = typer.Option(False, "--json")) -> None:
    """Projects with their sample counts."""
    from lumina.projects import summaries

    rows = summaries()
    for r in rows:
        if json_out:
            echo_json(r)
        else:
            typer.echo(f"{r['name']:20} {r['samples']:6} samples ({r['approved']} approved, "
                       f"{r['rejected']} rejected)  teacher {r['teacher']}")
    if not rows and not json_out:
        err("no projects yet: `lumina project create NAME --taxonomy FILE` or `lumina demo`")


def generate(
    name: str = typer.Argument(..., help="project"),
    mode: str = typer.Option("taxonomy", help="taxonomy|seeded|regenerate|grounded|evolve"),
    n: int = typer.Option(8, help="samples to generate"),
    seed: int = typer.Option(0),
    batch_size: int = typer.Option(16),
    instruction_teacher: Optional[str] = typer.Option(None, help="teacher spec for instructions"),
    answer_teacher: Optional[str] = typer.Option(None, help="teacher spec for answers"),
    seed_examples: int = typer.Option(3, help="seeded: seed tasks shown per new task"),
    max_turns: int = typer.Option(3, help="regenerate: user turns answered per conversation"),
    wait: bool = typer.Option(False, "--wait", help="wait for the job and report"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Start a generation job (prints its id), or wait for it with --wait."""
    from pydantic import ValidationError

    from lumina.errors import InvalidInputError
    from lumina.generate.launch import start_generation
    from lumina.generate.params import GenerateParams

    try:
        params = GenerateParams(mode=mode, n=n, seed=seed, batch_size=batch_size,
                                instruction_teacher=instruction_teacher, answer_teacher=answer_teacher,
                                seed_examples=seed_examples, max_turns=max_turns)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidInputError(f"--{first['loc'][0]}: {first['msg']}") from None
    job = start_generation(name, params)
    if not wait:
        if json_out:
            echo_json(job.to_json())
        else:
            typer.echo(job.id)
        return
    raise typer.Exit(wait_and_report(job.id, json_out))


def demo(
    samples: Optional[int] = typer.Option(None, help="generate N fresh samples with the bundled teacher"),
    teacher: Optional[str] = typer.Option(None, help="teacher spec (default: bundled model, vLLM if installed)"),
) -> None:
    """Create (or refresh) the `demo` project. Without --samples, load the shipped example samples."""
    from lumina import demo as demo_mod

    if samples is None:
        n = demo_mod.ensure_demo(teacher)
        typer.echo(f"project demo ready with {n} samples")
        return
    if samples < 1:
        from lumina.errors import InvalidInputError

        raise InvalidInputError("--samples must be at least 1.")
    job = demo_mod.generate_demo(samples, teacher, on_update=lambda j: err(job_line(j)))
    typer.echo(job_line(job))
    raise typer.Exit(0 if job.status == "done" and not job.failed else 1)
