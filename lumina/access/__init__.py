"""Who may do what: the acting user, their role per project, and the server paths and teacher
URLs the web app may touch.

The library enforces this, not the pages: every action that changes a project is decorated with
``@requires(role)``, which checks the *acting user* before the function runs. The acting user is
set once per script run by the app (``acting_as(Actor.login(...))``) and defaults to the command
line, which acts as owner of everything (whoever runs ``lumina`` can read the data folder anyway).

Roles, each including the ones below it:
- ``viewer``: read the project;
- ``curator``: review (approve, reject, edit, undo), score, map, apply policies, freeze and export
  versions;
- ``owner``: settings, teachers, templates, taxonomy, imports, generation, training and
  evaluation, members, delete.

A signed-in user's role is their row in ``project_members``; the operator's ``LUMINA_ADMINS``
(comma-separated logins) are owners everywhere; anyone else gets ``LUMINA_DEFAULT_ROLE``
(``viewer`` unless set; ``none`` hides projects nobody granted).
"""

from __future__ import annotations

import functools
import inspect
import os
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Literal, TypeVar
from urllib.parse import urlsplit

from lumina.errors import InvalidInputError, NotFoundError, PermissionDeniedError

ROLES = ("viewer", "curator", "owner")
_RANK = {r: i for i, r in enumerate(ROLES)}
ROLE_HELP = {
    "viewer": "reads the project",
    "curator": "reviews, scores, maps, applies policies, freezes and exports versions",
    "owner": "also changes settings, teachers, templates and the taxonomy, imports, generates, "
             "trains, evaluates, manages members and deletes",
}


@dataclass(frozen=True)
class Actor:
    name: str
    # cli: the command line; local: the app on loopback with no login configured (one person on
    # their own machine); login: a user signed in through OIDC or the trusted proxy header.
    kind: Literal["cli", "local", "login"]

    @property
    def trusted(self) -> bool:
        return self.kind != "login"

    @staticmethod
    def login(name: str) -> "Actor":
        name = " ".join((name or "").split())
        if not name:
            raise PermissionDeniedError("The login gave no user name or e-mail; sign in again.")
        return Actor(name, "login")


# Someone the web app has not identified (yet): no role anywhere.
NOBODY = Actor("(not signed in)", "login")

_actor: ContextVar[Actor | None] = ContextVar("lumina_actor", default=None)
# The web app installs a resolver that reads the acting user from the browser session, so that
# every library call of a script run (and of its fragments, which rerun alone) sees that user.
_resolver: Callable[[], Actor | None] | None = None


def install_resolver(fn: Callable[[], "Actor | None"]) -> None:
    global _resolver
    _resolver = fn


def current() -> Actor:
    found = _actor.get()
    if found is None and _resolver is not None:
        found = _resolver()
    if found is not None:
        return found
    from lumina.review import default_reviewer

    return Actor(default_reviewer(), "cli")


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)


def admins() -> frozenset[str]:
    return frozenset(a.strip().lower() for a in os.environ.get("LUMINA_ADMINS", "").split(",") if a.strip())


def default_role() -> str | None:
    value = os.environ.get("LUMINA_DEFAULT_ROLE", "viewer").strip().lower()
    if value in ("none", ""):
        return None
    if value not in _RANK:
        raise InvalidInputError(f"LUMINA_DEFAULT_ROLE must be one of {', '.join(ROLES)} or none (got '{value}').")
    return value


# A signed-in user's role, looked up at most every few seconds per project: a review decision
# should not pay a second database open. A change of role takes effect within this time.
_ROLE_TTL_S = 5.0
_role_cache: dict[tuple[str, int, str], tuple[float, str | None]] = {}


def role_in(project_id: int, actor: Actor | None = None) -> str | None:
    """The actor's role in a project (None: no access)."""
    actor = actor or current()
    if actor is NOBODY or actor == NOBODY:
        return None
    if actor.trusted or actor.name.lower() in admins():
        return "owner"
    from lumina.config import settings

    key = (str(settings().db_path), project_id, actor.name)
    hit = _role_cache.get(key)
    if hit and time.monotonic() - hit[0] < _ROLE_TTL_S:
        return hit[1]
    from lumina.store import connect
    from lumina.store import members as store_members

    with connect() as con:
        found = store_members.role(con, project_id, actor.name)
    role = found or default_role()
    _role_cache[key] = (time.monotonic(), role)
    return role


def _forget_roles() -> None:
    _role_cache.clear()


def _project_id(project: Any) -> tuple[int, str]:
    if hasattr(project, "id") and hasattr(project, "name"):
        return project.id, project.name
    from lumina.store import connect
    from lumina.store import projects as store_projects

    with connect() as con:
        if isinstance(project, int):
            p = store_projects.get_by_id(con, project)
        else:
            p = store_projects.get(con, str(project))
    return p.id, p.name


def allows(role: str | None, needed: str) -> bool:
    return role is not None and _RANK[role] >= _RANK[needed]


def can(project: Any, needed: str, actor: Actor | None = None) -> bool:
    """For pages deciding what to offer; the library still checks every call."""
    actor = actor or current()
    if actor.trusted:
        return True
    try:
        pid, _ = _project_id(project)
    except NotFoundError:
        return False
    return allows(role_in(pid, actor), needed)


def require(project: Any, needed: str, action: str = "do this") -> None:
    actor = current()
    if actor.trusted:
        return
    pid, name = _project_id(project)
    role = role_in(pid, actor)
    if not allows(role, needed):
        has = f"a {role}" if role else "not a member"
        raise PermissionDeniedError(f"{actor.name} is {has} of '{name}'; to {action} you need to be "
                                    f"{'an' if needed == 'owner' else 'a'} {needed} (ask an owner of the project).")


def require_self(reviewer: str | None) -> None:
    """A signed-in user acts under their own name only: decisions and undo name the reviewer."""
    actor = current()
    if actor.trusted or reviewer is None:
        return
    if " ".join(str(reviewer).split()) != actor.name:
        raise PermissionDeniedError(f"You are signed in as {actor.name} and cannot act as '{reviewer}'.")


F = TypeVar("F", bound=Callable[..., Any])


def requires(needed: str, project_arg: str = "project", action: str | None = None) -> Callable[[F], F]:
    """Check the acting user's role in the function's project (and, where the function takes a
    ``reviewer``, that it is the signed-in user) before it runs."""
    assert needed in _RANK

    def deco(fn: F) -> F:
        sig = inspect.signature(fn)
        what = action or fn.__name__.replace("_", " ").strip()

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current().trusted:
                bound = sig.bind_partial(*args, **kwargs).arguments
                require(bound[project_arg], needed, what)
                if "reviewer" in sig.parameters:
                    require_self(bound.get("reviewer"))
            return fn(*args, **kwargs)

        wrapper.required_role = needed  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return deco


def require_creator() -> None:
    """Creating a project: admins, or any signed-in user when no admins are named."""
    actor = current()
    if actor.trusted or not admins() or actor.name.lower() in admins():
        return
    raise PermissionDeniedError(f"Only the administrators (LUMINA_ADMINS) can create projects; "
                                f"{actor.name} is not one.")


# ---------------------------------------------------------------- members

@requires("owner", action="manage members")
def grant(project: str, member: str, role: str) -> None:
    from lumina.store import connect, transaction
    from lumina.store import members as store_members
    from lumina.store import projects as store_projects

    member, role = " ".join((member or "").split()), (role or "").strip().lower()
    if not member:
        raise InvalidInputError("Name the member by their login (e-mail).")
    if len(member) > 254 or any(ord(c) < 32 for c in member):
        raise InvalidInputError("A member's login is at most 254 printable characters.")
    if role not in _RANK:
        raise InvalidInputError(f"Unknown role '{role}': one of {', '.join(ROLES)}.")
    with connect() as con, transaction(con):
        p = store_projects.get(con, project)
        if role != "owner" and store_members.role(con, p.id, member) == "owner" \
                and store_members.count_owners(con, p.id) == 1:
            raise InvalidInputError(f"{member} is the only owner of '{project}'; make someone else owner first.")
        store_members.set_role(con, p.id, member, role, current().name)
    _forget_roles()


@requires("owner", action="manage members")
def revoke(project: str, member: str) -> bool:
    from lumina.store import connect, transaction
    from lumina.store import members as store_members
    from lumina.store import projects as store_projects

    with connect() as con, transaction(con):
        p = store_projects.get(con, project)
        if store_members.role(con, p.id, member) == "owner" and store_members.count_owners(con, p.id) == 1:
            raise InvalidInputError(f"{member} is the only owner of '{project}'; make someone else owner first.")
        removed = store_members.remove(con, p.id, member)
    _forget_roles()
    return removed


@requires("viewer", action="see its members")
def members(project: str) -> list[tuple[str, str, str | None]]:
    from lumina.store import connect
    from lumina.store import members as store_members
    from lumina.store import projects as store_projects

    with connect() as con:
        return store_members.list_members(con, store_projects.get(con, project).id)


def record_creator(con, project_id: int) -> None:
    """The signed-in user who creates a project owns it (inside the creating transaction)."""
    actor = current()
    if not actor.trusted:
        from lumina.store import members as store_members

        store_members.set_role(con, project_id, actor.name, "owner", actor.name)
        _forget_roles()


def visible(project_ids: dict[str, int]) -> list[str]:
    """The names, among ``{name: id}``, the acting user may read."""
    actor = current()
    if actor.trusted:
        return list(project_ids)
    return [n for n, pid in project_ids.items() if allows(role_in(pid, actor), "viewer")]


# ---------------------------------------------------------------- server paths

def allowed_roots() -> list[Path]:
    """Folders the web app may read or write on the server (``LUMINA_ALLOWED_PATHS``, separated
    by the OS path separator; default the data folder)."""
    from lumina.config import settings

    raw = os.environ.get("LUMINA_ALLOWED_PATHS", "")
    roots = [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()] or [settings().home]
    return [r.resolve() for r in roots]


def check_path(path: str | Path, purpose: str = "use") -> Path:
    """The resolved path, when the acting user may touch it. The command line may use any path;
    the web app only paths inside the allowed folders (symlinks resolved, so a link out fails)."""
    if "\x00" in str(path):
        raise InvalidInputError("A path cannot contain a NUL character.")
    resolved = Path(path).expanduser().resolve()
    if current().kind == "cli":
        return resolved
    roots = allowed_roots()
    if not any(resolved == r or resolved.is_relative_to(r) for r in roots):
        shown = ", ".join(str(r) for r in roots)
        raise PermissionDeniedError(f"The app may only {purpose} files inside {shown} (LUMINA_ALLOWED_PATHS); "
                                    f"'{path}' is outside.")
    return resolved


# ---------------------------------------------------------------- teacher URLs

def _host_port(url: str) -> tuple[str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise InvalidInputError(f"'{url}' has an invalid port.") from None
    return (parts.hostname or "").lower(), port


def _listed(url: str, variable: str) -> bool:
    host, port = _host_port(url)
    for entry in os.environ.get(variable, "").split(","):
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry.startswith(("http://", "https://")):
            if url.rstrip("/").lower().startswith(entry.rstrip("/")):
                return True
            continue
        e_host, _, e_port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        if e_host == host and (not e_port or (e_port.isdigit() and int(e_port) == port)):
            return True
    return False


def check_teacher_url(url: str) -> None:
    """Signed-in users may point a project only at teacher servers the operator listed in
    ``LUMINA_TEACHER_HOSTS`` (``host``, ``host:port`` or a URL prefix, comma-separated): otherwise
    any visitor could make the server fetch internal addresses."""
    if current().trusted:
        return
    if not _listed(url, "LUMINA_TEACHER_HOSTS"):
        host, port = _host_port(url)
        shown = f"{host}:{port}" if port else host
        raise PermissionDeniedError(f"The teacher host {shown} is not on this server's allow-list "
                                    "(LUMINA_TEACHER_HOSTS); ask the operator to add it.")


def api_key_for(url: str) -> str | None:
    """``OPENAI_API_KEY`` is sent only to the hosts listed in ``LUMINA_API_KEY_HOSTS`` (same form as
    LUMINA_TEACHER_HOSTS): a key must not go to whatever URL someone typed."""
    key = os.environ.get("OPENAI_API_KEY")
    if key and _listed(url, "LUMINA_API_KEY_HOSTS"):
        return key
    return None


def key_withheld(url: str) -> bool:
    return bool(os.environ.get("OPENAI_API_KEY")) and api_key_for(url) is None
