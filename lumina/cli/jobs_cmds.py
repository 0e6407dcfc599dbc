"""lumina jobs list | show | cancel | resume | retry"""

from __future__ import annotations

import typer

from lumina.cli.common import echo_json, job_line, wait_and_report

app = typer.Typer(help="Background jobs: progress, failures, cancel, resume.", no_args_is_help=True)


@app.command("list")
def list_(json_out: bool = typer.Option(False, "--json")) -> None:
    """Recent jobs (dead workers are detected and marked interrupted)."""
    from lumina import jobs

    for j in jobs.list_jobs():
        echo_json(j.to_json()) if json_out else typer.echo(job_line(j))


@app.command("show")
def show(job_id: int, json_out: bool = typer.Option(False, "--json"),
         failures: int = typer.Option(5, help="how many failed items to print")) -> None:
    """One job: status, counts, throughput, failures with raw teacher text, log tail."""
    from lumina import jobs

    jobs.recover()
    job = jobs.get(job_id)
    failed = jobs.failures(job_id, limit=max(failures, 0) or 1000)
    if json_out:
        d = job.to_json()
        d["outcome"] = jobs.outcome(job)
        d["failures"] = [{"key": f.key, "error": f.error, "raw": f.raw, "payload": f.payload} for f in failed]
        echo_json(d)
        return
    typer.echo(job_line(job))
    typer.echo(f"pid {job.pid}  created {job.created_at:%Y-%m-%d %H:%M:%S}  params {job.params}")
    if job.error:
        typer.echo(f"error: {job.error}")
    for f in failed[:failures]:
        typer.echo(f"- item {f.key}: {f.error}\n  raw: {(f.raw or '')[:300]!r}")
    tail = jobs.log_tail(job, 15)
    if tail:
        typer.echo("log:\n" + tail)


@app.command("cancel")
def cancel(job_id: int) -> None:
    """Stop a job after its current batch (SIGTERM if it doesn't stop in time)."""
    from lumina import jobs

    typer.echo(job_line(jobs.cancel(job_id)))


@app.command("resume")
def resume(job_id: int, wait: bool = typer.Option(False, "--wait"),
           retry_failed: bool = typer.Option(False, "--retry-failed", help="also rerun failed items")) -> None:
    """Finish an interrupted, cancelled or failed job: nothing lost, nothing written twice."""
    from lumina import jobs

    job = jobs.resume(job_id, retry_failed=retry_failed)
    if wait:
        raise typer.Exit(wait_and_report(job.id))
    typer.echo(job_line(job))
