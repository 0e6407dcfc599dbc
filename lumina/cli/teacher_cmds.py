"""lumina teacher test SPEC"""

from __future__ import annotations

import typer

from lumina.cli.common import echo_json, err, job_line

app = typer.Typer(help="Teachers: check one answers, and how fast.", no_args_is_help=True)


@app.command("test")
def test(spec: str, json_out: bool = typer.Option(False, "--json")) -> None:
    """Generate one short answer with a teacher and report its latency."""
    from lumina import jobs
    from lumina.errors import TeacherError
    from lumina.teachers.probe import ProbeResult, test_connection

    out = test_connection(spec)
    if not isinstance(out, ProbeResult):  # a local model: probed in a worker process
        job = jobs.wait(out.id, on_update=lambda j: err(job_line(j)))
        if job.status != "done" or not job.result:
            raise TeacherError(f"The teacher {spec} could not answer: {job.error or job.status}")
        result = job.result
    else:
        result = out.to_dict()
    if json_out:
        echo_json(result)
        return
    rate = f", {result['tokens_per_s']:.0f} tok/s" if result.get("tokens_per_s") else ""
    load = f" (model load {result['load_s']:.1f} s)" if result.get("load_s") else ""
    typer.echo(f"{spec} answered in {result['latency_s']:.2f} s{rate}{load}: {result['text'].strip()!r}")
