"""Edits of a taxonomy tree, in memory: add, rename, move, delete, re-weight, describe.

Pure functions over ``taxonomy.Taxonomy``: they validate the same rules the YAML loader does
(a name, no path separator, unique among siblings, a finite weight >= 0) and raise
``InvalidInputError`` in one line. Storing the result is ``taxonomy_edit``'s job.
"""

from __future__ import annotations

import math

from lumina.errors import InvalidInputError, NotFoundError
from lumina.taxonomy.tree import SEP, Node, Taxonomy

MAX_NAME_CHARS = 120


def split(path: str) -> list[str]:
    return path.split(SEP) if path else []


def join(parent: str | None, name: str) -> str:
    return f"{parent}{SEP}{name}" if parent else name


def parent_of(path: str) -> str | None:
    head, sep, _ = path.rpartition(SEP)
    return head if sep else None


def clean_name(name: str) -> str:
    name = " ".join(str(name or "").split())
    if not name:
        raise InvalidInputError("A node needs a name.")
    if SEP.strip() in name.split():
        raise InvalidInputError(f"Node name '{name}' may not contain '{SEP.strip()}' on its own (it joins paths).")
    if SEP in name:
        raise InvalidInputError(f"Node name '{name}' may not contain '{SEP}'.")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidInputError(f"Node name '{name[:40]}…' is longer than {MAX_NAME_CHARS} characters.")
    return name


def clean_weight(weight: float) -> float:
    try:
        w = float(weight)
    except (TypeError, ValueError):
        raise InvalidInputError(f"Weight '{weight}' is not a number.") from None
    if not math.isfinite(w) or w < 0:
        raise InvalidInputError(f"Weight must be a number >= 0 (got {weight}).")
    return w


def children_of(tree: Taxonomy, path: str | None) -> list[Node]:
    """The child list of ``path`` (the roots for None or '')."""
    if not path:
        return tree.nodes
    return find(tree, path).children


def find(tree: Taxonomy, path: str) -> Node:
    nodes, node = tree.nodes, None
    for name in split(path):
        node = next((n for n in nodes if n.name == name), None)
        if node is None:
            raise NotFoundError(f"No taxonomy node '{path}'.")
        nodes = node.children
    if node is None:
        raise NotFoundError("No taxonomy node with an empty path.")
    return node


def _check_free(siblings: list[Node], name: str, where: str | None, ignore: Node | None = None) -> None:
    same = next((n for n in siblings if n.name.lower() == name.lower() and n is not ignore), None)
    if same is not None:
        place = f"under '{where}'" if where else "at the top level"
        raise InvalidInputError(f"There is already a node '{same.name}' {place}.")


def add(tree: Taxonomy, parent: str | None, name: str, description: str | None = None,
        weight: float = 1.0) -> str:
    """Add a node under ``parent`` (None: a top-level subject); return its path."""
    name = clean_name(name)
    siblings = children_of(tree, parent)
    _check_free(siblings, name, parent)
    siblings.append(Node(name=name, description=(description or "").strip() or None,
                         weight=clean_weight(weight)))
    return join(parent, name)


def rename(tree: Taxonomy, path: str, new_name: str) -> str:
    """Rename a node (its subtree follows); return the new path."""
    node = find(tree, path)
    new_name = clean_name(new_name)
    parent = parent_of(path)
    _check_free(children_of(tree, parent), new_name, parent, ignore=node)
    node.name = new_name
    return join(parent, new_name)


def update(tree: Taxonomy, path: str, description: str | None = None, weight: float | None = None) -> None:
    node = find(tree, path)
    if description is not None:
        node.description = description.strip() or None
    if weight is not None:
        node.weight = clean_weight(weight)


def move(tree: Taxonomy, path: str, new_parent: str | None, position: int | None = None) -> str:
    """Move a node (with its subtree) under ``new_parent``; return its new path."""
    node = find(tree, path)
    if new_parent and (new_parent == path or new_parent.startswith(path + SEP)):
        raise InvalidInputError(f"Cannot move '{path}' into its own subtree.")
    target = children_of(tree, new_parent)
    old_siblings = children_of(tree, parent_of(path))
    if target is not old_siblings:
        _check_free(target, node.name, new_parent)
    old_siblings.remove(node)
    target.insert(len(target) if position is None else max(0, min(position, len(target))), node)
    return join(new_parent, node.name)


def delete(tree: Taxonomy, path: str) -> int:
    """Remove a node and its subtree; return how many nodes went."""
    node = find(tree, path)
    children_of(tree, parent_of(path)).remove(node)

    def count(n: Node) -> int:
        return 1 + sum(count(c) for c in n.children)

    return count(node)


def graft(tree: Taxonomy, parent: str | None, nodes: list[Node]) -> int:
    """Merge ``nodes`` under ``parent``: a same-named node merges its children into the existing
    one. Returns how many nodes were added."""
    return _graft_into(children_of(tree, parent), nodes)


def _graft_into(siblings: list[Node], nodes: list[Node]) -> int:
    # Siblings found through a dict and children passed down as lists: linear in the nodes
    # grafted (a 20k-line outline took a minute when each node was looked up by path).
    by_name = {s.name.lower(): s for s in siblings}
    added = 0
    for n in nodes:
        name = clean_name(n.name)
        same = by_name.get(name.lower())
        if same is None:
            same = Node(name=name, description=n.description, weight=clean_weight(n.weight))
            siblings.append(same)
            by_name[name.lower()] = same
            added += 1
        elif n.description and not same.description:
            same.description = n.description
        if n.children:
            added += _graft_into(same.children, n.children)
    return added


def depth(path: str) -> int:
    """1 for a top-level subject, 2 for its children, ..."""
    return len(split(path))


def set_lists(tree: Taxonomy, task_types: list[str] | None = None, difficulty: list[str] | None = None,
              personas: list[str] | None = None) -> None:
    """Replace the project-level lists; blank entries are dropped, duplicates kept once."""

    def clean(values: list[str]) -> list[str]:
        out: list[str] = []
        for v in values:
            v = " ".join(str(v).split())
            if v and v.lower() not in {o.lower() for o in out}:
                out.append(v)
        return out

    if task_types is not None:
        tree.task_types = clean(task_types)
    if difficulty is not None:
        tree.difficulty = clean(difficulty)
    if personas is not None:
        tree.personas = clean(personas)
