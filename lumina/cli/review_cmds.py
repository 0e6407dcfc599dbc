"""lumina review approve | reject | edit | undo | next | history | progress | agreement | double"""

from __future__ import annotations

from typing import List, Optional

import typer

from lumina.cli.common import check_status, echo_json

app = typer.Typer(help="Approve, reject, edit and undo; the review queue; progress and agreement.",
                  no_args_is_help=True)

_DONE = {"approve": "approved", "reject": "rejected"}
_REVIEWER = typer.Option(None, "--reviewer", "-r", envvar="LUMINA_REVIEWER",
                         help="who decides (default: $LUMINA_REVIEWER or your user name)")


def _who(reviewer: Optional[str]) -> str:
    from lumina.review import check_reviewer, default_reviewer

    return check_reviewer(reviewer or default_reviewer())


def _filter(status: Optional[str], node: Optional[str], search: Optional[str], flag: List[str],
            score: List[str]):
    from lumina.errors import InvalidInputError
    from lumina.records import SampleFilter

    check_status(status)
    ranges = []
    for s in score:
        # "judge.overall<3", "heuristics.repetition>=0.2", "judge.overall=1..2"
        import re

        num = r"-?\d+(?:\.\d+)?"
        m = re.fullmatch(rf"\s*([\w.]+?)\s*(<=|>=|<|>|=)\s*({num})(?:\.\.({num}))?\s*", s)
        if not m:
            raise InvalidInputError(f"Cannot read --score '{s}': write e.g. judge.overall<=2 or judge.overall=1..3.")
        name, op, a, b = m.groups()
        if "." not in name.strip("."):
            raise InvalidInputError(f"--score '{s}' names no score: write scorer.metric, e.g. judge.overall<=2.")
        lo = hi = None
        if op == "=" and b is not None:
            lo, hi = float(a), float(b)
        elif op == "=":
            lo = hi = float(a)
        elif op in ("<", "<="):
            hi = float(a) - (1e-9 if op == "<" else 0)
        else:
            lo = float(a) + (1e-9 if op == ">" else 0)
        ranges.append((name, lo, hi))
    return SampleFilter(status=status, node=node, search=search, flags=list(flag), score_ranges=ranges)


def _targets(project: str, ids: List[int], all_matching: bool, status, node, search, flag, score) -> list[int]:
    from lumina.errors import InvalidInputError
    from lumina.review import filtered_ids

    if ids and all_matching:
        raise InvalidInputError("Give sample ids or --all-matching with filters, not both.")
    if ids:
        return list(ids)
    if not all_matching:
        raise InvalidInputError("Name the samples: give their ids, or --all-matching with filters "
                                "(--status, --node, --search, --flag, --score).")
    found = filtered_ids(project, _filter(status, node, search, flag, score))
    if not found:
        raise InvalidInputError("No sample matches these filters.")
    return found


def _decide(action: str, project, ids, reviewer, reason, all_matching, status, node, search, flag, score, json_out):
    from lumina.review import decide

    targets = _targets(project, ids, all_matching, status, node, search, flag, score)
    res = decide(project, targets, action, _who(reviewer), reason=reason)
    if json_out:
        echo_json({"action": action, "decided": res.decided, "changed": res.changed, "batch": res.batch})
    else:
        typer.echo(f"{_DONE[action]} {res.decided} samples ({res.changed} changed status); undo with `lumina review undo {project}`")


_IDS = typer.Argument(None, help="sample ids")
_ALL = typer.Option(False, "--all-matching", help="act on every sample the filters match")
_STATUS = typer.Option(None, help="filter: pending|approved|rejected")
_NODE = typer.Option(None, help="filter: taxonomy node (with its subtree)")
_SEARCH = typer.Option(None, help="filter: words in instruction or response")
_FLAG = typer.Option([], "--flag", help="filter: has this flag (repeatable)")
_SCORE = typer.Option([], "--score", help="filter: e.g. judge.overall<=2 (repeatable)")
_JSON = typer.Option(False, "--json")


@app.command("approve")
def approve(project: str, ids: Optional[List[int]] = _IDS, reviewer: Optional[str] = _REVIEWER,
            all_matching: bool = _ALL, status: Optional[str] = _STATUS, node: Optional[str] = _NODE,
            search: Optional[str] = _SEARCH, flag: List[str] = _FLAG, score: List[str] = _SCORE,
            json_out: bool = _JSON) -> None:
    """Approve samples (ids, or every sample the filters match)."""
    _decide("approve", project, ids, reviewer, None, all_matching, status, node, search, flag, score, json_out)


@app.command("reject")
def reject(project: str, ids: Optional[List[int]] = _IDS, reason: Optional[str] = typer.Option(None, help="why"),
           reviewer: Optional[str] = _REVIEWER, all_matching: bool = _ALL, status: Optional[str] = _STATUS,
           node: Optional[str] = _NODE, search: Optional[str] = _SEARCH, flag: List[str] = _FLAG,
           score: List[str] = _SCORE, json_out: bool = _JSON) -> None:
    """Reject samples, with a reason."""
    _decide("reject", project, ids, reviewer, reason, all_matching, status, node, search, flag, score, json_out)


@app.command("edit")
def edit(project: str, sample_id: int, instruction: Optional[str] = typer.Option(None),
         response: Optional[str] = typer.Option(None), reason: Optional[str] = typer.Option(None),
         reviewer: Optional[str] = _REVIEWER, json_out: bool = _JSON) -> None:
    """Change a sample's instruction and/or response (the original stays in its history)."""
    from lumina.errors import InvalidInputError
    from lumina.review import edit as do_edit

    if instruction is None and response is None:
        raise InvalidInputError("Give --instruction and/or --response.")
    ev = do_edit(project, sample_id, _who(reviewer), instruction, response, reason)
    if json_out:
        echo_json(ev.to_json() if ev else {"changed": False})
    else:
        typer.echo(f"edited sample {sample_id}" if ev else "nothing changed")


@app.command("undo")
def undo(project: str, reviewer: Optional[str] = _REVIEWER, json_out: bool = _JSON) -> None:
    """Reverse your last decision (a whole bulk action at once)."""
    from lumina.review import undo as do_undo

    res = do_undo(project, _who(reviewer))
    if json_out:
        echo_json({"undone": res.action, "samples": res.sample_ids})
    else:
        shown = ", ".join(map(str, res.sample_ids[:10])) + (" …" if len(res.sample_ids) > 10 else "")
        typer.echo(f"undid {res.action} of {len(res.sample_ids)} sample(s): {shown}")


@app.command("next")
def next_(project: str, order: str = typer.Option("oldest", help="oldest|newest|lowest judge score|"
                                                  "most uncertain|by node|random"),
          node: Optional[str] = _NODE, search: Optional[str] = _SEARCH, flag: List[str] = _FLAG,
          score: List[str] = _SCORE, limit: int = typer.Option(1, help="how many to list"),
          reviewer: Optional[str] = _REVIEWER, json_out: bool = _JSON) -> None:
    """The next samples in your review queue."""
    from lumina.review import queue
    from lumina.projects.samples import get_many_for

    view = queue(project, _who(reviewer), order, _filter(None, node, search, flag, score), peek=limit)
    if view.sample is None:
        typer.echo("the queue is empty", err=True)
        return
    shown = [view.sample] + list(get_many_for(project, view.upcoming))
    for s in shown:
        if json_out:
            echo_json(s.to_json())
        else:
            typer.echo(f"{s.id:6} {s.node_path or '-':30.30} {s.instruction[:70]!r}")
    if not json_out:
        typer.echo(f"{view.remaining} in the queue", err=True)


@app.command("history")
def history(project: str, sample_id: int, json_out: bool = _JSON) -> None:
    """Every review event of one sample."""
    from lumina.review import history as hist

    for ev in hist(project, sample_id):
        if json_out:
            echo_json(ev.to_json())
        else:
            why = f" ({ev.reason})" if ev.reason else ""
            typer.echo(f"{ev.created_at:%Y-%m-%d %H:%M:%S} {ev.reviewer}: {ev.action}{why}")


@app.command("progress")
def progress(project: str, reviewer: Optional[str] = typer.Option(None, "--reviewer", "-r"),
             json_out: bool = _JSON) -> None:
    """Decisions per hour, counts per node, what is left."""
    from dataclasses import asdict

    from lumina.review import progress as prog

    p = prog(project, reviewer)
    if json_out:
        echo_json(asdict(p))
        return
    rate = f"{p.per_hour:.0f}/h" if p.per_hour else "-"
    typer.echo(f"pending {p.pending}, approved {p.approved}, rejected {p.rejected}; "
               f"{p.last_hour} decisions in the last hour; rate {rate}")
    for r in p.by_node:
        typer.echo(f"  {r['node'][:50]:50} pending {r['pending']:5} approved {r['approved']:5} rejected {r['rejected']:5}")


@app.command("agreement")
def agreement(project: str, json_out: bool = _JSON) -> None:
    """Cohen's kappa between reviewers on doubly reviewed samples."""
    from dataclasses import asdict

    from lumina.review import agreement as agree

    a = agree(project)
    if json_out:
        echo_json(asdict(a))
        return
    kappa = f"{a.kappa:.3f}" if a.kappa is not None else "undefined"
    typer.echo(f"{a.samples} doubly reviewed, {a.agreed} agree, kappa {kappa}. {a.note}".strip())
    for d in a.disagreements[:20]:
        typer.echo(f"  disagree: {d}")


@app.command("double")
def double(project: str, fraction: float = typer.Argument(..., help="share of samples reviewed twice, 0-1")) -> None:
    """Have a share of samples reviewed by a second reviewer (for agreement)."""
    from lumina.review import set_double_review

    set_double_review(project, fraction)
    typer.echo(f"double review of {fraction:.0%} of samples in {project}")
