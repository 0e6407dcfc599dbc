"""``lumina``: every step headless. Scripts depend on this surface: extend it, never rename.

Errors a user can fix (``LuminaError``) print one line and exit 2; a job that ends with failed
items exits 1; success exits 0.
"""

from __future__ import annotations

import sys

import click
import typer

from lumina.cli import (data_cmds, jobs_cmds, models_cmds, project_cmds, quality_cmds, review_cmds,
                        taxonomy_cmds, teacher_cmds, template_cmds, train_cmds)
from lumina.errors import LuminaError

app = typer.Typer(
    name="lumina", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="Make fine-tuning data for small language models. Data lives in $LUMINA_HOME (default ./data).",
)
app.add_typer(models_cmds.app, name="models")
app.add_typer(project_cmds.app, name="project")
app.add_typer(jobs_cmds.app, name="jobs")
app.add_typer(teacher_cmds.app, name="teacher")
app.add_typer(taxonomy_cmds.app, name="taxonomy")
app.add_typer(template_cmds.app, name="templates")
app.add_typer(data_cmds.dataset_app, name="dataset")
app.add_typer(review_cmds.app, name="review")
app.add_typer(train_cmds.runs_app, name="runs")
for fn in (data_cmds.import_, data_cmds.samples, project_cmds.generate, project_cmds.demo, quality_cmds.score,
           quality_cmds.map_, quality_cmds.policy, train_cmds.train, train_cmds.eval_, train_cmds.playground):
    app.command(name=fn.__name__.rstrip("_"))(fn)


def main() -> None:
    try:
        rv = app(standalone_mode=False)
    except LuminaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        print("aborted", file=sys.stderr)
        sys.exit(130)
    except KeyboardInterrupt:
        print("interrupted (background jobs keep running; see `lumina jobs list`)", file=sys.stderr)
        sys.exit(130)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":
    main()
