"""The taxonomy: a tree of subjects plus task types, difficulty levels and personas.

YAML form (nested ``name``/``children``; ``weight`` and ``description`` optional per node):

    name: Everyday science
    task_types: [explanation, how-to]
    difficulty: [beginner, advanced]
    personas: [a curious teenager]        # optional
    nodes:
      - name: Physics
        weight: 2
        children:
          - name: Optics
            description: light, lenses, colour
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lumina.errors import InvalidInputError

MAX_BYTES = 5_000_000
# Joins node names into a path ('Physics > Optics'). Not '/': names like 'File I/O' are common.
SEP = " > "


@dataclass
class Node:
    name: str
    description: str | None = None
    weight: float = 1.0
    children: list["Node"] = field(default_factory=list)


@dataclass
class Taxonomy:
    name: str
    nodes: list[Node]
    task_types: list[str]
    difficulty: list[str]
    personas: list[str] = field(default_factory=list)
    description: str | None = None

    def flat(self) -> list[dict[str, Any]]:
        """Depth-first rows (path, parent_path, name, description, weight) for the store."""
        out: list[dict[str, Any]] = []

        def walk(nodes: list[Node], parent: str | None) -> None:
            for n in nodes:
                path = f"{parent}{SEP}{n.name}" if parent else n.name
                out.append({"path": path, "parent_path": parent, "name": n.name,
                            "description": n.description, "weight": n.weight})
                walk(n.children, path)

        walk(self.nodes, None)
        return out

    def leaves(self) -> list[tuple[str, str | None, float]]:
        """(path, description, effective weight): a leaf's weight times its ancestors'."""
        out: list[tuple[str, str | None, float]] = []

        def walk(nodes: list[Node], parent: str | None, w: float) -> None:
            for n in nodes:
                path = f"{parent}{SEP}{n.name}" if parent else n.name
                if n.children:
                    walk(n.children, path, w * n.weight)
                else:
                    out.append((path, n.description, w * n.weight))

        walk(self.nodes, None, 1.0)
        return out

    def meta(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "task_types": self.task_types,
                "difficulty": self.difficulty, "personas": self.personas}

    def to_dict(self) -> dict[str, Any]:
        def node(n: Node) -> dict[str, Any]:
            d: dict[str, Any] = {"name": n.name}
            if n.description:
                d["description"] = n.description
            if n.weight != 1.0:
                d["weight"] = n.weight
            if n.children:
                d["children"] = [node(c) for c in n.children]
            return d

        d = {k: v for k, v in self.meta().items() if v}
        d["nodes"] = [node(n) for n in self.nodes]
        return d

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)


def _strings(value: Any, what: str, where: str, required: bool) -> list[str]:
    if value is None:
        if required:
            raise InvalidInputError(f"{where}: '{what}' is missing (a list of names).")
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise InvalidInputError(f"{where}: '{what}' must be a list of names.")
    out = [str(v).strip() for v in value if str(v).strip()]
    if required and not out:
        raise InvalidInputError(f"{where}: '{what}' is empty.")
    return out


def _node(d: Any, where: str) -> Node:
    if isinstance(d, str):
        return Node(name=d.strip())
    if not isinstance(d, dict) or not str(d.get("name", "")).strip():
        raise InvalidInputError(f"{where}: every node needs a 'name'.")
    name = str(d["name"]).strip()
    if SEP in name:
        raise InvalidInputError(f"{where}: node name '{name}' may not contain '{SEP}'.")
    try:
        weight = float(d.get("weight", 1.0))
    except (TypeError, ValueError):
        raise InvalidInputError(f"{where}: weight of '{name}' is not a number.") from None
    if not math.isfinite(weight) or weight < 0:
        raise InvalidInputError(f"{where}: weight of '{name}' must be a number >= 0.")
    children = d.get("children") or []
    if not isinstance(children, list):
        raise InvalidInputError(f"{where}: 'children' of '{name}' must be a list.")
    kids = [_node(c, f"{where} > {name}") for c in children]
    names = [k.name for k in kids]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise InvalidInputError(f"{where} > {name}: duplicate child names {sorted(dup)}.")
    desc = d.get("description")
    return Node(name=name, description=str(desc).strip() if desc else None, weight=weight, children=kids)


def from_dict(data: Any, where: str = "taxonomy") -> Taxonomy:
    if not isinstance(data, dict):
        raise InvalidInputError(f"{where}: expected a mapping with 'nodes', 'task_types' and 'difficulty'.")
    raw_nodes = data.get("nodes", data.get("children"))
    if not isinstance(raw_nodes, list) or not raw_nodes:
        raise InvalidInputError(f"{where}: 'nodes' must be a non-empty list of subjects.")
    nodes = [_node(n, where) for n in raw_nodes]
    tax = Taxonomy(
        name=str(data.get("name") or "taxonomy"),
        description=data.get("description"),
        nodes=nodes,
        task_types=_strings(data.get("task_types"), "task_types", where, required=True),
        difficulty=_strings(data.get("difficulty"), "difficulty", where, required=True),
        personas=_strings(data.get("personas"), "personas", where, required=False),
    )
    if not any(w > 0 for _, _, w in tax.leaves()):
        raise InvalidInputError(f"{where}: every leaf has weight 0; nothing could be generated.")
    return tax


def load(path: str | Path) -> Taxonomy:
    from lumina.textfiles import read_text

    p = Path(path).expanduser()
    return loads(read_text(p, "Taxonomy file", MAX_BYTES), where=str(p))


def loads(text: str, where: str = "taxonomy") -> Taxonomy:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise InvalidInputError(f"{where} is not valid YAML{at}: {getattr(exc, 'problem', exc)}.") from None
    return from_dict(data, where)


def from_store(meta: dict[str, Any], rows: list[dict[str, Any]]) -> Taxonomy:
    """Rebuild the tree from the project's stored metadata and node rows."""
    by_path: dict[str, Node] = {}
    roots: list[Node] = []
    for r in rows:
        n = Node(r["name"], r.get("description"), float(r.get("weight", 1.0)))
        by_path[r["path"]] = n
        parent = by_path.get(r["parent_path"]) if r.get("parent_path") else None
        (parent.children if parent else roots).append(n)
    return Taxonomy(name=meta.get("name") or "taxonomy", description=meta.get("description"),
                    nodes=roots, task_types=list(meta.get("task_types") or []),
                    difficulty=list(meta.get("difficulty") or []), personas=list(meta.get("personas") or []))


@dataclass(frozen=True)
class Combo:
    node_path: str
    node_description: str | None
    task_type: str
    difficulty: str
    persona: str | None


def plan(tax: Taxonomy, n: int, seed: int) -> list[Combo]:
    """Pick ``n`` leaf × task type × difficulty (× persona) combinations by weight.

    Weighted sampling *without* replacement (Efraimidis–Spirakis keys) in rounds: every
    combination is used once before any repeats, and heavier leaves come earlier in each round,
    so small runs already spread over the tree.
    """
    rng = random.Random(seed)
    personas: list[str | None] = list(tax.personas) or [None]
    combos = [
        (Combo(path, desc, t, d, p), w)
        for path, desc, w in tax.leaves() if w > 0
        for t in tax.task_types for d in tax.difficulty for p in personas
    ]
    out: list[Combo] = []
    while len(out) < n:
        keyed = sorted(combos, key=lambda cw: -(rng.random() ** (1.0 / cw[1])))
        out.extend(c for c, _ in keyed[: n - len(out)])
    return out
