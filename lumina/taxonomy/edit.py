"""Edit a project's stored taxonomy: every change is one transaction over the whole tree.

The tree is read, changed in memory by ``taxonomy_ops`` (which validates), and written back
with its metadata. A rename or move also relabels the samples generated for that node (and its
subtree), so per-node counts follow the node; deleting a node leaves its samples in place,
counted under "(not in the taxonomy)".
"""

from __future__ import annotations

from typing import Callable, TypeVar

from lumina import access
from lumina.taxonomy import outline
from lumina.taxonomy import tree as tx
from lumina.taxonomy import ops
from lumina.records import Project
from lumina.store import connect, transaction
from lumina.store import projects as store_projects
from lumina.store import samples as store_samples

T = TypeVar("T")

# A new tree (from an outline or from scratch) needs these to generate anything; editable.
DEFAULT_TASK_TYPES = ["explanation", "question answering", "how-to"]
DEFAULT_DIFFICULTY = ["beginner", "intermediate", "advanced"]


def load(project: str) -> tx.Taxonomy:
    """The project's tree; an empty one (with default lists) when it has none yet."""
    with connect() as con:
        p = store_projects.get(con, project)
        return _tree(p, store_projects.nodes(con, p.id))


def _tree(p: Project, rows: list[dict]) -> tx.Taxonomy:
    tree = tx.from_store(p.taxonomy or {}, rows)
    if not (p.taxonomy or {}).get("name"):
        tree.name = p.name
    return tree


def with_defaults(tree: tx.Taxonomy) -> None:
    if not tree.task_types:
        tree.task_types = list(DEFAULT_TASK_TYPES)
    if not tree.difficulty:
        tree.difficulty = list(DEFAULT_DIFFICULTY)


def _check_size(tree: tx.Taxonomy, project: str) -> None:
    from lumina.errors import InvalidInputError

    flat = tree.flat()
    if len(flat) > tx.MAX_NODES:
        raise InvalidInputError(f"'{project}': the taxonomy would have {len(flat):,} nodes, more than "
                                f"{tx.MAX_NODES:,}; split it up.")
    deepest = max((r["path"].count(tx.SEP) + 1 for r in flat), default=0)
    if deepest > tx.MAX_DEPTH:
        raise InvalidInputError(f"'{project}': the tree would be deeper than {tx.MAX_DEPTH} levels.")
    combos = len(tree.leaves()) * len(tree.task_types or [1]) * len(tree.difficulty or [1]) * max(1, len(tree.personas))
    if combos > tx.MAX_COMBINATIONS:
        raise InvalidInputError(f"'{project}': {combos:,} leaf x task type x difficulty x persona combinations, "
                                f"more than {tx.MAX_COMBINATIONS:,}; shorten the lists.")


@access.requires("owner")
def edit(project: str, change: Callable[[tx.Taxonomy], T],
         renames: Callable[[T], list[tuple[str, str]]] | None = None) -> T:
    """Apply ``change`` to the project's tree and store it, all or nothing.

    ``renames(result)`` lists (old path, new path) pairs whose samples follow the node.
    """
    with connect() as con, transaction(con):
        p = store_projects.get(con, project)
        tree = _tree(p, store_projects.nodes(con, p.id))
        result = change(tree)
        _check_size(tree, project)  # edits (an outline grafted onto a big tree) obey the loader's limits
        store_projects.update(con, p.id, taxonomy=tree.meta())
        store_projects.replace_nodes(con, p.id, tree.flat())
        for old, new in (renames(result) if renames else []):
            if old != new:
                store_samples.rename_node_paths(con, p.id, old, new)
    return result


@access.requires("owner")
def add_node(project: str, parent: str | None, name: str, description: str | None = None,
             weight: float = 1.0) -> str:
    def change(tree):
        if not tree.nodes:
            with_defaults(tree)
        return ops.add(tree, parent, name, description, weight)

    return edit(project, change)


@access.requires("owner")
def rename_node(project: str, path: str, new_name: str) -> str:
    return edit(project, lambda tree: ops.rename(tree, path, new_name), lambda new: [(path, new)])


@access.requires("owner")
def move_node(project: str, path: str, new_parent: str | None, position: int | None = None) -> str:
    return edit(project, lambda tree: ops.move(tree, path, new_parent, position), lambda new: [(path, new)])


@access.requires("owner")
def update_node(project: str, path: str, description: str | None = None, weight: float | None = None) -> None:
    edit(project, lambda tree: ops.update(tree, path, description, weight))


@access.requires("owner")
def delete_node(project: str, path: str) -> int:
    return edit(project, lambda tree: ops.delete(tree, path))


@access.requires("owner")
def set_details(project: str, name: str | None = None, description: str | None = None,
                task_types: list[str] | None = None, difficulty: list[str] | None = None,
                personas: list[str] | None = None) -> None:
    """Project-level taxonomy fields: its name, description and the task type, difficulty and
    persona lists every leaf is crossed with."""

    def change(tree):
        if name is not None:
            tree.name = " ".join(name.split()) or tree.name
        if description is not None:
            tree.description = description.strip() or None
        ops.set_lists(tree, task_types, difficulty, personas)

    edit(project, change)


@access.requires("owner")
def import_outline(project: str, text: str, under: str | None = None, replace: bool = False,
                   where: str = "outline") -> int:
    """Add an outline's nodes under ``under`` (or at the top); ``replace`` starts a new tree.
    Returns how many nodes were added."""
    nodes = outline.parse_outline(text, where)

    def change(tree):
        if replace:
            tree.nodes = []
        with_defaults(tree)
        return ops.graft(tree, under, nodes)

    return edit(project, change)


@access.requires("owner")
def replace_from_yaml(project: str, text: str, where: str = "taxonomy") -> tx.Taxonomy:
    """Swap the whole taxonomy (tree, lists, name) for a YAML document's."""
    new = tx.loads(text, where)

    def change(tree):
        tree.name, tree.description, tree.nodes = new.name, new.description, new.nodes
        tree.task_types, tree.difficulty, tree.personas = new.task_types, new.difficulty, new.personas
        return tree

    return edit(project, change)
