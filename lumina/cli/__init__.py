"""``lumina``: every step headless. Scripts depend on this surface: extend it, never rename.

Errors a user can fix (``LuminaError``) print one line and exit 2; a job that ends with failed
items exits 1; success exits 0.
"""

from __future__ import annotations

import re
import sys

import typer
from typer._click import exceptions as click_errors  # typer 0.29 vendors click: not click's classes

from lumina.cli import (data_cmds, jobs_cmds, member_cmds, models_cmds, project_cmds, quality_cmds, review_cmds,
                        serve_cmds, taxonomy_cmds, teacher_cmds, template_cmds, train_cmds)
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
    app.command(name=fn.__name__.rstrip("_"), cls=getattr(fn, "command_cls", None))(fn)
app.command(name="serve")(serve_cmds.serve)
for fn in (member_cmds.grant, member_cmds.revoke, member_cmds.members):
    project_cmds.app.command(name=fn.__name__)(fn)


def _one_line(text: object) -> str:
    """Messages quote user input: keep them on one line, and inert in a terminal."""
    text = re.sub(r"\s*[\r\n]+\s*", " ", str(text)).strip()
    return re.sub(r"[\x00-\x1f\x7f-\x9f]", lambda m: f"\\x{ord(m.group()):02x}", text)


def _usage_error(exc: click_errors.UsageError) -> str:
    msg = f"error: {_one_line(exc.format_message())}"
    ctx = exc.ctx
    if ctx is not None and ctx.command.get_help_option(ctx) is not None:
        msg += f" (see `{ctx.command_path} {ctx.help_option_names[0]}`)"
    return msg


def main(argv: list[str] | None = None) -> None:
    """The ``lumina`` entry point (``argv`` defaults to ``sys.argv[1:]``); always ends in ``sys.exit``."""
    try:
        rv = app(args=argv, prog_name="lumina", standalone_mode=False)  # also under `python -m lumina.cli`
    except LuminaError as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except click_errors.NoArgsIsHelpError as exc:  # `lumina project`: its help is the answer
        if exc.format_message().strip():  # with rich installed, typer has printed it already
            print(exc.format_message(), file=sys.stderr)
        sys.exit(2)
    except click_errors.UsageError as exc:
        print(_usage_error(exc), file=sys.stderr)
        sys.exit(2)
    except typer.TyperException as exc:  # click's other errors (a file that cannot be opened...)
        print(f"error: {_one_line(exc.format_message())}", file=sys.stderr)
        sys.exit(2)
    except RecursionError:
        # json and yaml parsers recurse per nesting level; the stack is unwound by now
        print("error: The input is nested too deeply to read.", file=sys.stderr)
        sys.exit(2)
    except typer.Abort:
        print("aborted", file=sys.stderr)
        sys.exit(130)
    except KeyboardInterrupt:
        print("interrupted (background jobs keep running; see `lumina jobs list`)", file=sys.stderr)
        sys.exit(130)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":
    main()
