"""lumina project grant | revoke | members: who may do what in a project (lumina.access)."""

from __future__ import annotations

import typer

from lumina.cli.common import echo_json


def grant(name: str = typer.Argument(..., help="project"),
          member: str = typer.Argument(..., help="the member's login (the e-mail their sign-in gives)"),
          role: str = typer.Argument(..., help="viewer, curator or owner")) -> None:
    """Give a signed-in user a role in a project (replacing the one they had)."""
    from lumina import access

    access.grant(name, member, role)
    typer.echo(f"{member} is now {role.strip().lower()} of {name}")


def revoke(name: str = typer.Argument(..., help="project"),
           member: str = typer.Argument(..., help="the member's login")) -> None:
    """Remove a member (they then get LUMINA_DEFAULT_ROLE, viewer unless set)."""
    from lumina import access

    typer.echo(f"removed {member} from {name}" if access.revoke(name, member) else f"{member} was not a member of {name}")


def members(name: str = typer.Argument(..., help="project"),
            json_out: bool = typer.Option(False, "--json", help="one JSON object per line")) -> None:
    """The project's members and roles."""
    from lumina import access

    rows = access.members(name)
    for member, role, by in rows:
        if json_out:
            echo_json({"member": member, "role": role, "granted_by": by})
        else:
            typer.echo(f"{role:8} {member}" + (f"  (granted by {by})" if by else ""))
    if not rows and not json_out:
        typer.echo(f"no members listed; signed-in users get the default role ({access.default_role() or 'no access'})")
