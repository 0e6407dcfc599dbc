"""lumina project create | list, lumina generate, lumina demo"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typer.core import TyperCommand

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
    concurrency: Optional[int] = typer.Option(None, help="openai teachers: requests in flight at once"),
    timeout: Optional[float] = typer.Option(None, help="openai teachers: seconds to wait for one answer"),
    retries: Optional[int] = typer.Option(None, help="openai teachers: retries of a failed request"),
) -> None:
    """Change a project's teacher, student or remote-teacher options."""
    from lumina.projects import set_teacher_options, update_project

    p = update_project(name, teacher=teacher, student=student, check_reachable=not no_check)
    line = f"project {p.name}: teacher {p.teacher}, student {p.student}"
    if any(v is not None for v in (concurrency, timeout, retries)):
        o = set_teacher_options(name, concurrency=concurrency, timeout_s=timeout, max_retries=retries)
        line += f"; concurrency {o.concurrency}, timeout {o.timeout_s:g} s, {o.max_retries} retries"
    typer.echo(line)


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


# The per-mode flags of earlier versions, each setting one mode option: scripts use them, so they
# stay. A new mode's settings are only reachable through --option KEY=VALUE.
_LEGACY_FLAGS = {"seed_examples": "--seed-examples", "max_turns": "--max-turns",
                 "question_types": "--question-types", "show_reasoning": "--no-reasoning",
                 "operations": "--operations", "source_ids": "--from-ids", "source_status": "--from-status"}


def _csv(value: Optional[str]) -> Optional[list[str]]:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def generate_epilog() -> str:
    """Each mode and its options, from their Options models (built only when help is shown)."""
    from lumina.errors import LuminaError

    paragraphs = ["Modes, and the settings each takes with --option KEY=VALUE (repeatable; a value is JSON "
                  "or plain text, a list may be comma-separated):"]
    try:
        from lumina.generate import MODES
        from lumina.generate.options import help_lines

        for mode in MODES:
            paragraphs.append(f"{mode.name}: {mode.help}")
            paragraphs += [f"    --option {line}" for line in help_lines(mode)] or ["    (no options)"]
    except LuminaError as exc:  # a broken plugin must not hide the help
        paragraphs.append(f"(the modes could not be listed: {exc})")
    return "\n\n".join(paragraphs)


class GenerateCommand(TyperCommand):
    """`lumina generate`, whose help lists the modes' options: read when help is shown, so no
    other command pays for importing the modes (or a plugin)."""

    def format_help(self, ctx, formatter) -> None:
        self.epilog = generate_epilog()
        return super().format_help(ctx, formatter)


def _mode_options(mode, legacy: dict, assignments: list[str]) -> dict:
    """The mode's settings from the legacy flags and --option, validated by its Options model."""
    from pydantic import ValidationError

    from lumina.errors import InvalidInputError
    from lumina.generate.options import first_error, parse_assignments

    # A flag of another mode does not apply to this one, but a bad value is still refused (as
    # when every mode's settings lived on one model); --option is checked strictly.
    from lumina.generate import MODES

    given = {k: v for k, v in legacy.items() if k in mode.Options.model_fields}
    for key, value in legacy.items():
        owner = next((m for m in MODES if key not in given and key in m.Options.model_fields), None)
        if owner is not None:
            try:
                owner.Options.model_validate({key: value})
            except ValidationError as exc:
                raise InvalidInputError(f"{_LEGACY_FLAGS[key]}: {first_error(exc)[1]}") from None
    assigned = parse_assignments(mode.name, mode.Options, assignments)
    try:
        return mode.Options.model_validate({**given, **assigned}).model_dump(mode="json")
    except ValidationError as exc:
        key, msg = first_error(exc)
        flag = _LEGACY_FLAGS[key] if key in given and key not in assigned else f"--option {key}"
        raise InvalidInputError(f"{flag}: {msg}") from None


def generate(
    name: str = typer.Argument(..., help="project"),
    mode: str = typer.Option("taxonomy", help="generation mode (taxonomy, seeded, regenerate, grounded, evolve, "
                                              "or a plugin's: listed below)"),
    n: int = typer.Option(8, help="samples to generate"),
    seed: int = typer.Option(0),
    batch_size: int = typer.Option(16),
    instruction_teacher: Optional[str] = typer.Option(None, help="teacher spec for instructions"),
    answer_teacher: Optional[str] = typer.Option(None, help="teacher spec for answers"),
    instruction_tokens: Optional[int] = typer.Option(None, help="max tokens of an instruction"),
    answer_tokens: Optional[int] = typer.Option(None, help="max tokens of an answer"),
    instruction_temperature: Optional[float] = typer.Option(None, help="sampling temperature of instructions"),
    answer_temperature: Optional[float] = typer.Option(None, help="sampling temperature of answers"),
    option: Optional[list[str]] = typer.Option(None, "--option", metavar="KEY=VALUE",
                                               help="a setting of the mode (repeatable): see the list below"),
    seed_examples: Optional[int] = typer.Option(None, help="seeded: seed tasks shown per new task"),
    max_turns: Optional[int] = typer.Option(None, help="regenerate: user turns answered per conversation"),
    question_types: Optional[str] = typer.Option(None, help="grounded: comma-separated kinds of question"),
    no_reasoning: bool = typer.Option(False, "--no-reasoning", help="grounded: answers without the shown reasoning"),
    operations: Optional[str] = typer.Option(None, help="evolve: comma-separated deepen,constraints,concretise,reasoning,broaden"),
    from_ids: Optional[str] = typer.Option(None, help="evolve: comma-separated sample ids (default: all)"),
    from_status: Optional[str] = typer.Option(None, help="evolve: only samples of this status"),
    dry_run: bool = typer.Option(False, "--dry-run", help="check the settings and print the budget estimate; start nothing"),
    wait: bool = typer.Option(False, "--wait", help="wait for the job and report"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Start a generation job (prints its id), or wait for it with --wait."""
    from pydantic import ValidationError

    from lumina.errors import InvalidInputError
    from lumina.generate import get_mode
    from lumina.generate.launch import estimate_generation, start_generation
    from lumina.generate.params import GenerateParams

    found = get_mode(mode)
    legacy = {k: v for k, v in (("seed_examples", seed_examples), ("max_turns", max_turns),
                                ("question_types", _csv(question_types)), ("operations", _csv(operations)),
                                ("source_status", from_status)) if v is not None}
    if no_reasoning:
        legacy["show_reasoning"] = False
    if from_ids:
        try:
            legacy["source_ids"] = [int(x) for x in _csv(from_ids) or []]
        except ValueError:
            raise InvalidInputError(f"--from-ids: '{from_ids}' is not a comma-separated list of sample ids.") from None
    fields = dict(mode=found.name, n=n, seed=seed, batch_size=batch_size, instruction_teacher=instruction_teacher,
                  answer_teacher=answer_teacher, options=_mode_options(found, legacy, option or []))
    try:
        params = GenerateParams(**fields)
        for step, tokens, temp in (("instruction_params", instruction_tokens, instruction_temperature),
                                   ("answer_params", answer_tokens, answer_temperature)):
            update = {k: v for k, v in (("max_tokens", tokens), ("temperature", temp)) if v is not None}
            if update:
                current = getattr(params, step)
                setattr(params, step, type(current).model_validate({**current.model_dump(), **update}))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = str(first["loc"][-1]) if first["loc"] else "settings"
        raise InvalidInputError(f"--{where.replace('_', '-')}: {first['msg']}") from None
    if dry_run:
        from lumina.generate.launch import validate_generation

        validate_generation(name, params)
        est = estimate_generation(name, params)
        if json_out:
            echo_json({**est.__dict__, "seconds": est.seconds, "seconds_max": est.seconds_max})
        else:
            typer.echo(estimate_line(est))
        return
    job = start_generation(name, params)
    if not wait:
        if json_out:
            echo_json(job.to_json())
        else:
            typer.echo(job.id)
        return
    raise typer.Exit(wait_and_report(job.id, json_out))


generate.command_cls = GenerateCommand  # read where the command is registered (lumina/cli/__init__.py)


def estimate_line(est) -> str:
    expected = f"about {est.tokens_expected:,} tokens (up to {est.tokens_max:,})" if est.tokens_expected \
        else f"up to {est.tokens_max:,} tokens"
    if est.tokens_per_s:
        return (f"{est.samples} samples: {expected}; at {est.tokens_per_s:,.0f} tokens/s {est.rate_source}: "
                f"about {est.seconds / 60:.1f} min (at most {est.seconds_max / 60:.1f} min)")
    return (f"{est.samples} samples: {expected}; no speed measured for {est.teacher} on this machine yet "
            "(run `lumina teacher test` or a small batch first)")


def demo(
    samples: Optional[int] = typer.Option(None, help="generate N fresh samples with the bundled teacher"),
    teacher: Optional[str] = typer.Option(None, help="teacher spec (default: bundled model, vLLM if installed)"),
) -> None:
    """Create (or refresh) the `demo` project. Without --samples, load the shipped example samples."""
    from lumina.projects import demo as demo_mod

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
