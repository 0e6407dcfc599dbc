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
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lumina.errors import InvalidInputError, first_line

MAX_BYTES = 5_000_000
# Joins node names into a path ('Physics > Optics'). Not '/': names like 'File I/O' are common.
SEP = " > "
# What a taxonomy file may hold. A small file must not make a huge tree (YAML aliases repeat
# whole subtrees: 1.4 KB of them made 700k nodes, 16 s and 860 MB before these limits).
MAX_NODES = 20_000  # as many as one expansion may add (taxonomy_expand.MAX_NEW_NODES)
MAX_DEPTH = 16  # expansion grows trees to depth 8 at most
MAX_NAME_CHARS = 120  # as taxonomy_ops.MAX_NAME_CHARS
MAX_DESCRIPTION_CHARS = 2_000
MAX_LIST_ITEMS = 100  # task types, difficulty levels, personas
MAX_ITEM_CHARS = 300
MAX_COMBINATIONS = 1_000_000  # leaves x task types x difficulty x personas, which plan() holds at once
MAX_YAML_NODES = 250_000  # YAML values, with what every alias repeats counted in full


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
    if len(value) > MAX_LIST_ITEMS:
        raise InvalidInputError(f"{where}: '{what}' has more than {MAX_LIST_ITEMS} entries ({len(value):,}).")
    out = [str(v).strip() for v in value if str(v).strip()]
    long = next((v for v in out if len(v) > MAX_ITEM_CHARS), None)
    if long:
        raise InvalidInputError(f"{where}: '{what}' entry '{long[:40]}…' is longer than {MAX_ITEM_CHARS} characters.")
    if required and not out:
        raise InvalidInputError(f"{where}: '{what}' is empty.")
    return out


def _text(value: Any, what: str, where: str, limit: int) -> str:
    text = str(value).strip()
    if len(text) > limit:
        raise InvalidInputError(f"{where}: {what} '{text[:40]}…' is longer than {limit:,} characters.")
    return text


def _node(d: Any, where: str, depth: int, count: list[int]) -> Node:
    count[0] += 1
    if count[0] > MAX_NODES:
        raise InvalidInputError(f"{where}: the taxonomy has more than {MAX_NODES:,} nodes; split it up.")
    if depth > MAX_DEPTH:
        raise InvalidInputError(f"{where}: the tree is deeper than {MAX_DEPTH} levels.")
    if isinstance(d, str):
        return Node(name=_text(d, "node name", where, MAX_NAME_CHARS))
    if not isinstance(d, dict) or not str(d.get("name", "")).strip():
        raise InvalidInputError(f"{where}: every node needs a 'name'.")
    name = _text(d["name"], "node name", where, MAX_NAME_CHARS)
    if SEP in name:
        raise InvalidInputError(f"{where}: node name '{name}' may not contain '{SEP}'.")
    try:
        weight = float(d.get("weight", 1.0))
    except (TypeError, ValueError, OverflowError):
        raise InvalidInputError(f"{where}: weight of '{name}' is not a number.") from None
    if not math.isfinite(weight) or weight < 0:
        raise InvalidInputError(f"{where}: weight of '{name}' must be a number >= 0.")
    children = d.get("children") or []
    if not isinstance(children, list):
        raise InvalidInputError(f"{where}: 'children' of '{name}' must be a list.")
    kids = [_node(c, f"{where} > {name}", depth + 1, count) for c in children]
    dup = {n for n, k in Counter(k.name for k in kids).items() if k > 1}
    if dup:
        raise InvalidInputError(f"{where} > {name}: duplicate child names {sorted(dup)[:10]}.")
    desc = d.get("description")
    return Node(name=name, description=_text(desc, f"description of '{name}'", where, MAX_DESCRIPTION_CHARS)
                if desc else None, weight=weight, children=kids)


def from_dict(data: Any, where: str = "taxonomy") -> Taxonomy:
    if not isinstance(data, dict):
        raise InvalidInputError(f"{where}: expected a mapping with 'nodes', 'task_types' and 'difficulty'.")
    raw_nodes = data.get("nodes", data.get("children"))
    if not isinstance(raw_nodes, list) or not raw_nodes:
        raise InvalidInputError(f"{where}: 'nodes' must be a non-empty list of subjects.")
    count = [0]
    nodes = [_node(n, where, 1, count) for n in raw_nodes]
    top = Counter(n.name for n in nodes)
    dup = sorted(n for n, k in top.items() if k > 1)
    if dup:
        raise InvalidInputError(f"{where}: duplicate top-level names {dup[:10]}.")
    desc = data.get("description")
    tax = Taxonomy(
        name=_text(data.get("name") or "taxonomy", "name", where, MAX_ITEM_CHARS),
        description=_text(desc, "description", where, MAX_DESCRIPTION_CHARS) if desc else None,
        nodes=nodes,
        task_types=_strings(data.get("task_types"), "task_types", where, required=True),
        difficulty=_strings(data.get("difficulty"), "difficulty", where, required=True),
        personas=_strings(data.get("personas"), "personas", where, required=False),
    )
    leaves = tax.leaves()
    if not any(w > 0 for _, _, w in leaves):
        raise InvalidInputError(f"{where}: every leaf has weight 0; nothing could be generated.")
    combos = len(leaves) * len(tax.task_types) * len(tax.difficulty) * max(1, len(tax.personas))
    if combos > MAX_COMBINATIONS:
        raise InvalidInputError(
            f"{where}: {len(leaves):,} leaves x {len(tax.task_types)} task types x {len(tax.difficulty)} difficulty "
            f"levels x {max(1, len(tax.personas))} personas make {combos:,} combinations, more than "
            f"{MAX_COMBINATIONS:,}; shorten the lists.")
    return tax


def load(path: str | Path) -> Taxonomy:
    from lumina.io.textfiles import read_text

    p = Path(path).expanduser()
    return loads(read_text(p, "Taxonomy file", MAX_BYTES), where=str(p))


# libyaml when present: the Python parser takes seconds on a few MB.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _check_expansion(text: str, where: str) -> None:
    """Refuse a document that would expand past MAX_YAML_NODES values or nest past a taxonomy's
    depth, from parser events alone, before any of it is built: each alias counts as everything
    its anchor holds (a few lines of nested aliases otherwise make millions of nodes)."""
    sizes: dict[str, int] = {}  # anchor -> values it stands for
    open_: list[list[Any]] = []  # collections being read: [anchor, values so far]
    aliases = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            open_.append([event.anchor, 1])
            if len(open_) > 2 * MAX_DEPTH + 4:  # a level is a node mapping and its children list
                raise InvalidInputError(f"{where}: nested more than {MAX_DEPTH} levels deep.")
            continue
        if isinstance(event, yaml.AliasEvent):
            if any(anchor == event.anchor for anchor, _ in open_):
                raise InvalidInputError(f"{where}: the alias *{event.anchor} refers to itself.")
            aliases, n = aliases + 1, sizes.get(event.anchor, 1)
        elif isinstance(event, yaml.ScalarEvent):
            n = 1
            if event.anchor:
                sizes[event.anchor] = 1
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            anchor, n = open_.pop()
            if anchor:
                sizes[anchor] = n
        else:
            continue
        if open_:
            open_[-1][1] += n
        if n > MAX_YAML_NODES or (open_ and open_[-1][1] > MAX_YAML_NODES):
            raise InvalidInputError(
                f"{where}: its {aliases:,} aliases (*name) expand to more than {MAX_YAML_NODES:,} values; "
                "write the repeated parts out." if aliases else
                f"{where}: holds more than {MAX_YAML_NODES:,} values.")


def loads(text: str, where: str = "taxonomy") -> Taxonomy:
    if len(text) > MAX_BYTES:
        raise InvalidInputError(f"{where} is larger than {MAX_BYTES // 1_000_000} MB.")
    try:
        _check_expansion(text, where)
        data = yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        why = " ".join(str(getattr(exc, "problem", None) or exc).split())[:200]
        raise InvalidInputError(f"{where} is not valid YAML{at}: {why}.") from None
    except RecursionError:
        raise InvalidInputError(f"{where}: nested too deeply.") from None
    except (ValueError, TypeError, OverflowError) as exc:  # a value YAML cannot build: 2001-13-45, 5000 digits
        raise InvalidInputError(f"{where} is not valid YAML: {first_line(exc, 120)}.") from None
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
