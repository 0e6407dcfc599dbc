"""Shared CLI bits: output helpers and the one place errors become exit codes."""

from __future__ import annotations

import json
import sys
from typing import Any, Iterable

import typer

from lumina.records import Job


def echo_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, default=str))


def err(msg: str) -> None:
    typer.echo(msg, err=True)


def check_choice(option: str, value: str | None, allowed: Iterable[str]) -> str | None:
    """Options typed as plain strings (so scripts keep working) still take only known values: a
    misspelt status would otherwise filter everything out and look like an empty result."""
    allowed = tuple(allowed)
    if value is not None and value not in allowed:
        from lumina.errors import InvalidInputError

        raise InvalidInputError(f"{option}: '{value}' is not one of {', '.join(allowed)}.")
    return value


def check_status(value: str | None, option: str = "--status") -> str | None:
    from lumina.generate.params import SAMPLE_STATUSES

    return check_choice(option, value, SAMPLE_STATUSES)


def job_line(job: Job) -> str:
    from lumina.jobs import outcome

    rate = f", {job.tokens_per_s:.0f} tok/s" if job.tokens_per_s else ""
    eta = f", ETA {job.eta_s:.0f} s" if job.eta_s is not None else ""
    return (f"job {job.id} [{job.kind}] {outcome(job)}: {job.done}/{job.total} done, "
            f"{job.failed} failed{rate}{eta}")


def wait_and_report(job_id: int, as_json: bool = False) -> int:
    """Wait for a job with progress on stderr; exit status 0 only if every item succeeded."""
    from lumina import jobs

    job = jobs.wait(job_id, on_update=lambda j: err(job_line(j)))
    if as_json:
        echo_json(job.to_json())
    else:
        typer.echo(job_line(job))
        if job.error:
            typer.echo(f"error: {job.error}", err=True)
        if job.failed:
            typer.echo(f"{job.failed} items failed: see `lumina jobs show {job.id}`", err=True)
    ok = job.status == "done" and job.failed == 0
    return 0 if ok else 1


def progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def option_from(model: Any, name: str, *decls: str, prefix: str | None = None) -> Any:
    """A Typer option whose default and help come from a settings model's field (a pydantic
    model or pydantic dataclass), so the CLI never restates a default the library owns."""
    f = model.__pydantic_fields__[name]
    help_text = f.description or ""
    return typer.Option(f.get_default(call_default_factory=True), *decls,
                        help=f"{prefix}: {help_text}" if prefix else help_text)
