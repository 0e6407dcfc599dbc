"""Projects: create one from a taxonomy, with a teacher and a student, checked up front."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lumina import access, models
from lumina.taxonomy import tree as tx
from lumina.errors import InvalidInputError, NotFoundError, TeacherError
from lumina.records import Project
from lumina.store import connect, transaction
from lumina.store import projects as store_projects
from lumina.teachers import backend_of, default_student_spec, default_teacher_spec, parse_spec

_NAME_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_. ")
NAME_MAX = 64


def validate_name(name: str) -> str:
    """A new project's name, refused in one line unless it is safe everywhere it ends up (folder
    and file names of exports, URLs, terminals). Only creation checks: stored names always load."""
    if not isinstance(name, str) or not name:
        raise InvalidInputError("A project needs a name.")
    if len(name) > NAME_MAX:
        raise InvalidInputError(f"Project name is {len(name)} characters long; the limit is {NAME_MAX}.")
    if not set(name) <= _NAME_OK:
        raise InvalidInputError(f"Project name {name!r} must be 1-{NAME_MAX} characters of letters, digits, "
                                "space, '-', '_' or '.'.")
    if name != name.strip(" ."):  # '..', 'a.', ' a ': a folder named '..' escapes its parent
        raise InvalidInputError(f"Project name {name!r} must not start or end with a space or a dot.")
    return name


def check_model_name(name: str) -> None:
    """Fail early, in one line, on a model that cannot be loaded here (no download, no load)."""
    key = name.strip().lower()
    if key in (models.SMOLLM2, "smollm2", models.MINILM):
        return
    models.resolve(name, prepare=False)


def check_teacher(spec: str, reach: bool = True) -> str:
    ts = parse_spec(spec)
    if backend_of(ts).remote:
        access.check_teacher_url(ts.base_url or "")  # before any request leaves the server
        if reach:
            check_endpoint(ts.base_url or "")
    else:
        check_model_name(ts.model)
    return str(ts)


def check_endpoint(base_url: str, timeout_s: float = 5.0) -> float:
    """GET {base}/models; return latency. Raises TeacherError when nothing answers."""
    import time

    import httpx

    t0 = time.monotonic()
    try:
        r = httpx.get(f"{base_url.rstrip('/')}/models", timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise TeacherError(f"Cannot reach the teacher at {base_url}: {type(exc).__name__} ({exc}).") from None
    if r.status_code >= 500:
        raise TeacherError(f"The teacher at {base_url} answered HTTP {r.status_code}.")
    return time.monotonic() - t0


def create_project(
    name: str, taxonomy_file: str | Path | None = None, taxonomy_obj: tx.Taxonomy | None = None,
    teacher: str | None = None, student: str | None = None, settings: dict[str, Any] | None = None,
    check_reachable: bool = True,
) -> Project:
    name = validate_name(name)
    access.require_creator()
    tree = taxonomy_obj or (tx.load(taxonomy_file) if taxonomy_file else None)
    teacher_spec = check_teacher(teacher or default_teacher_spec(), reach=check_reachable)
    student_spec = (student or default_student_spec()).strip()
    check_model_name(student_spec)
    with connect() as con, transaction(con):
        project = store_projects.create(con, name, teacher_spec, student_spec,
                                        taxonomy=tree.meta() if tree else {}, settings=settings)
        if tree:
            store_projects.replace_nodes(con, project.id, tree.flat())
        access.record_creator(con, project.id)
    return project


@access.requires("owner", project_arg="name", action="change the project's settings")
def update_project(name: str, teacher: str | None = None, student: str | None = None,
                   settings: dict[str, Any] | None = None, check_reachable: bool = True) -> Project:
    """Change a project's teacher, student or settings; each is checked like at creation.
    ``settings`` is a patch merged into the stored settings (a None value removes its key), so
    two people changing different settings at once both keep theirs."""
    fields: dict[str, Any] = {}
    if teacher is not None:
        fields["teacher"] = check_teacher(teacher, reach=check_reachable)
    if student is not None:
        check_model_name(student.strip())
        fields["student"] = student.strip()
    with connect() as con, transaction(con):
        project = store_projects.get(con, name)
        if fields:
            store_projects.update(con, project.id, **fields)
        if settings:
            store_projects.merge_settings(con, project.id, settings)
        return store_projects.get(con, name)


@access.requires("owner", project_arg="name", action="change the teacher options")
def set_teacher_options(name: str, **values: Any):
    """Change some of the project's remote-teacher options (concurrency, timeout, retries)."""
    from pydantic import ValidationError

    from lumina.teachers import options

    project = get(name)
    current = options.of(project.settings).model_dump()
    try:
        new = options.RemoteOptions.model_validate({**current, **{k: v for k, v in values.items() if v is not None}})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidInputError(f"{first['loc'][0]}: {first['msg']}") from None
    update_project(name, settings={"teacher_options": new.model_dump()})
    return new


def get(name: str) -> Project:
    with connect() as con:
        project = store_projects.get(con, name)
    if not access.visible({project.name: project.id}):
        # Said like a missing project: a user without access learns nothing about it.
        raise NotFoundError(f"No project named '{name}'.")
    return project


def taxonomy_of(project: Project) -> tx.Taxonomy | None:
    with connect() as con:
        rows = store_projects.nodes(con, project.id)
    return tx.from_store(project.taxonomy, rows) if rows else None


def summaries() -> list[dict[str, Any]]:
    with connect() as con:
        rows = store_projects.summary(con)
        ids = {p.name: p.id for p in store_projects.list_all(con)}
    shown = set(access.visible(ids))
    return [r for r in rows if r.get("name") in shown]


def names() -> list[str]:
    with connect() as con:
        ids = {p.name: p.id for p in store_projects.list_all(con)}
    return access.visible(ids)


@access.requires("owner", project_arg="name", action="delete the project")
def delete(name: str) -> None:
    from lumina.store import members as store_members

    with connect() as con, transaction(con):
        p = store_projects.get(con, name)
        store_projects.delete(con, p.id)
        store_members.delete_project(con, p.id)


def exists(name: str) -> bool:
    try:
        get(name)
        return True
    except NotFoundError:
        return False
