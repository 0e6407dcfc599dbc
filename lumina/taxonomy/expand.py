"""Teacher-assisted taxonomy expansion (GLAN-style "subjects → topics → sub-topics").

Two uses, one mechanism:
  - *suggest*: the teacher proposes N children for a node; the user accepts, edits or rejects
    each (nothing is added until accepted);
  - *expand to depth D*: a background job proposes children for every leaf above depth D,
    level by level, and adds them.
Proposals are structured output (validated, retried); names are cleaned and de-duplicated
against the node's existing children. A node the teacher fails on is reported, not skipped
silently.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from pydantic import BaseModel, Field, create_model

from lumina import access, prompts
from lumina.taxonomy import tree as tx
from lumina.taxonomy import edit as taxonomy_edit
from lumina.taxonomy import ops
from lumina.errors import InvalidInputError, LuminaError, first_line
from lumina.teachers.base import ChatRequest, GenParams
from lumina.teachers.structured import chat_structured

ROOT = ""  # the path of the taxonomy itself: proposing top-level subjects
MAX_CHILDREN = 30
MAX_NEW_NODES = 20_000  # an expansion that would add more is refused up front: lower depth or n


class Subtopic(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    description: str = Field("", max_length=240)


class SubtopicsOut(BaseModel):
    subtopics: list[Subtopic] = Field(min_length=1)


def _schema(n: int) -> type[SubtopicsOut]:
    return create_model("SubtopicsOut", __base__=SubtopicsOut,
                        subtopics=(list[Subtopic], Field(min_length=1, max_length=n)))


@dataclass
class Proposal:
    name: str
    description: str | None = None


@dataclass
class Suggestion:
    path: str  # ROOT for top-level subjects
    proposals: list[Proposal] = field(default_factory=list)
    error: str | None = None
    raw: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Suggestion":
        return cls(d["path"], [Proposal(**p) for p in d.get("proposals") or []], d.get("error"), d.get("raw"))


def gen_params(n: int, seed: int) -> GenParams:
    # ~50 tokens per proposal (name, one-line description, JSON punctuation) plus the frame.
    return GenParams(max_tokens=min(64 * n + 64, 4096), temperature=0.8, seed=seed)


def _request(tree: tx.Taxonomy, path: str, n: int, seed: int, template: prompts.Template) -> ChatRequest:
    node = ops.find(tree, path) if path else None
    existing = [c.name for c in ops.children_of(tree, path)]
    text = template.render(
        taxonomy=tree.name, path=path or None, topic=node.name if node else None,
        description=(node.description if node else tree.description), n=n, existing=existing,
    )
    return ChatRequest([{"role": "user", "content": text}], gen_params(n, seed))


def clean(proposals: list[Subtopic], existing: list[str], n: int) -> list[Proposal]:
    """Usable, distinct names not already under the node, at most ``n``."""
    taken = {e.lower() for e in existing}
    out: list[Proposal] = []
    for p in proposals:
        name = " ".join(p.name.replace(tx.SEP, " - ").split()).strip(" .:-*#")
        try:
            name = ops.clean_name(name)
        except InvalidInputError:
            continue
        if name.lower() in taken:
            continue
        taken.add(name.lower())
        out.append(Proposal(name, " ".join(p.description.split()) or None))
    return out[:n]


def suggest_with(teacher, tree: tx.Taxonomy, paths: list[str], n: int, seed: int = 0,
                 retries: int = 2, project_id: int | None = None) -> list[Suggestion]:
    """Ask ``teacher`` for ``n`` children of each path, in one batch."""
    if not 1 <= n <= MAX_CHILDREN:
        raise InvalidInputError(f"Ask for 1 to {MAX_CHILDREN} sub-topics at a time (got {n}).")
    template = prompts.for_project(project_id, "expand", "subtopics")
    out: list[Suggestion] = []
    asked, requests = [], []
    for i, p in enumerate(paths):
        try:
            requests.append(_request(tree, p, n, seed + i, template))
            asked.append(p)
        except Exception as exc:  # a project's own template failing on this node's values
            out.append(Suggestion(p, error=f"the template {template.ref} fails to render: {first_line(exc)}"))
    # Ask for at most n (a constrained decoder then closes the list), accept more and keep n.
    results = chat_structured(teacher, requests, SubtopicsOut, retries,
                              request_schema=_schema(n).model_json_schema()) if requests else []
    for path, res in zip(asked, results):
        raw = "\n---\n".join(res.raw)
        if not res.ok:
            out.append(Suggestion(path, error=res.error, raw=raw))
            continue
        existing = [c.name for c in ops.children_of(tree, path)]
        kept = clean(res.value.subtopics, existing, n)
        out.append(Suggestion(path, kept, None if kept else "no new, usable names in the answer", raw))
    return out


@access.requires("owner")
def accept(project: str, path: str, proposals: list[Proposal]) -> int:
    """Add the accepted (possibly edited) proposals under ``path``; return how many were added."""
    nodes = [tx.Node(name=p.name, description=p.description) for p in proposals if p.name.strip()]
    if not nodes:
        return 0

    def change(tree):
        if not tree.nodes:
            taxonomy_edit.with_defaults(tree)
        return ops.graft(tree, path or None, nodes)

    return taxonomy_edit.edit(project, change)


# ---------------------------------------------------------------- from the UI / CLI


@access.requires("owner")
def suggest(project: str, path: str, n: int = 5, seed: int = 0, teacher: str | None = None):
    """Suggestions for one node: a ``Suggestion`` from a remote teacher (asked right here), or the
    ``expand`` Job for a local one (a model is never loaded in the web server)."""
    from lumina import jobs, projects
    from lumina.teachers.probe import runs_in_process

    if not 1 <= n <= MAX_CHILDREN:
        raise InvalidInputError(f"Ask for 1 to {MAX_CHILDREN} sub-topics at a time (got {n}).")
    p = projects.get(project)
    tree = taxonomy_edit.load(project)
    if path:
        ops.find(tree, path)  # an unknown node fails now, in one line
    spec = projects.check_teacher(teacher or p.teacher)
    if runs_in_process(spec):
        t = _build(spec, p.settings)
        try:
            return suggest_with(t, tree, [path], n, seed, project_id=p.id)[0]
        finally:
            t.close()
    return jobs.submit("expand", p.id, {"paths": [path], "n": n, "seed": seed, "teacher": spec, "apply": False})


@access.requires("owner")
def expand_tree(project: str, depth: int, n: int = 5, seed: int = 0, teacher: str | None = None,
                under: str | None = None):
    """Start a job that grows every leaf (of ``under``'s subtree) above ``depth`` by ``n`` children."""
    from lumina import jobs, projects

    p = projects.get(project)
    if not 1 <= depth <= 8:
        raise InvalidInputError(f"Depth must be 1 to 8 (got {depth}).")
    if not 1 <= n <= MAX_CHILDREN:
        raise InvalidInputError(f"Ask for 1 to {MAX_CHILDREN} sub-topics per node (got {n}).")
    tree = taxonomy_edit.load(project)
    if under:
        ops.find(tree, under)
    most = would_add(tree, depth, n, under)
    if most > MAX_NEW_NODES:
        raise InvalidInputError(
            f"Expanding to depth {depth} with {n} sub-topics per node could add up to {most:,} nodes "
            f"(the limit is {MAX_NEW_NODES:,}); lower the depth or the number per node, or expand one subtree.")
    spec = projects.check_teacher(teacher or p.teacher)
    return jobs.submit("expand", p.id, {"depth": depth, "n": n, "seed": seed, "teacher": spec,
                                        "apply": True, "under": under or None})


def would_add(tree: tx.Taxonomy, depth: int, n: int, under: str | None = None) -> int:
    """The most nodes an expansion to ``depth`` could add (every proposal accepted)."""
    def below(levels: int) -> int:  # n + n^2 + ... + n^levels
        return sum(n ** k for k in range(1, levels + 1))

    if not tree.nodes and not under:
        return below(depth)
    return sum(below(depth - ops.depth(path)) for path in _targets(tree, depth, under, set()))


def _build(spec: str, settings: dict | None = None):
    from lumina.teachers import build_teacher, options
    from lumina.teachers.cached import CachedTeacher

    return CachedTeacher(build_teacher(spec, **options.for_spec(spec, settings)), identity=spec)


def _targets(tree: tx.Taxonomy, depth: int, under: str | None, tried: set[str]) -> list[str]:
    """Leaves above ``depth`` not yet tried in this run (the root when the tree is empty)."""
    if not tree.nodes and not under:
        return [] if ROOT in tried else [ROOT]
    out = []
    for path, _, _ in tree.leaves():
        if under and not (path == under or path.startswith(under + tx.SEP)):
            continue
        if ops.depth(path) < depth and path not in tried:
            out.append(path)
    return out


def run_expand_job(ctx) -> None:
    """Job handler: suggestions for given paths (``apply`` false), or grow the tree to a depth."""
    from lumina.store import connect
    from lumina.store import jobs as store_jobs

    job_id, worker, project, prm = ctx.job_id, ctx.worker, ctx.project, ctx.params
    n, seed = int(prm.get("n", 5)), int(prm.get("seed", 0))
    worker.log.info("loading teacher %s", prm["teacher"])
    teacher = _build(prm["teacher"], project.settings)
    try:
        if not prm.get("apply"):
            tree = taxonomy_edit.load(project.name)
            got = suggest_with(teacher, tree, list(prm["paths"]), n, seed, project_id=project.id)
            failed = sum(1 for s in got if s.error)
            with connect() as con:
                store_jobs.update(con, job_id, total=len(got), done=len(got) - failed, failed=failed,
                                  result={"suggestions": [s.to_dict() for s in got]},
                                  tokens=teacher.stats.completion_tokens, busy_s=teacher.stats.busy_s)
            return
        _grow(project.name, project.id, job_id, teacher, int(prm["depth"]), n, seed, prm.get("under"), worker)
    finally:
        teacher.close()


def _grow(project: str, project_id: int, job_id: int, teacher, depth: int, n: int, seed: int,
          under: str | None, worker, batch_size: int = 8) -> None:
    from lumina.store import connect
    from lumina.store import jobs as store_jobs

    tried: set[str] = set()
    added = failed = 0
    errors: list[dict] = []
    while True:
        tree = taxonomy_edit.load(project)  # fresh each round: the user may be editing too
        targets = _targets(tree, depth, under, tried)
        if not targets:
            break
        for start in range(0, len(targets), batch_size):
            worker.checkpoint()
            batch = targets[start:start + batch_size]
            tried.update(batch)
            got = suggest_with(teacher, taxonomy_edit.load(project), batch, n, seed + len(tried),
                               project_id=project_id)
            for s in got:
                if s.error:
                    failed += 1
                    errors.append({"path": s.path, "error": s.error, "raw": (s.raw or "")[-2000:]})
                    continue
                try:
                    added += accept(project, s.path, s.proposals)
                except LuminaError as exc:  # the node was deleted or renamed meanwhile
                    failed += 1
                    errors.append({"path": s.path, "error": str(exc), "raw": None})
            with connect() as con:
                store_jobs.update(con, job_id, total=len(tried) + len(targets) - start - len(batch),
                                  done=len(tried) - failed, failed=failed,
                                  tokens=teacher.stats.completion_tokens, busy_s=teacher.stats.busy_s,
                                  result={"added": added, "errors": errors[-50:]})
            worker.log.info("expanded %d nodes (%d failed), %d sub-topics added", len(tried) - failed,
                            failed, added)
