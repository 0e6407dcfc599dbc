"""What a mode works from: each kind of input, how many a project has, how it is imported.

A mode names one of these in ``GenerationMode.inputs``; the Generate page shows the count and
the matching import box, and the launcher never needs to know which mode wants what.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from lumina.records import Project


@dataclass(frozen=True)
class InputKind:
    name: str
    words: str  # how the page counts them: "3 seed tasks"
    import_as: str | None  # the `lumina import --as` kind that adds them, if an import does
    count: Callable[[object, Project, list[dict]], int]  # (connection, project, taxonomy nodes)


def _leaves(con, project: Project, nodes: list[dict]) -> int:
    from lumina.taxonomy import tree as tx

    return len(tx.from_store(project.taxonomy, nodes).leaves()) if nodes else 0


def _inputs_of(kind: str):
    def count(con, project: Project, nodes: list[dict]) -> int:
        from lumina.store import inputs as store_inputs

        return store_inputs.count(con, project.id, kind)
    return count


def _samples(con, project: Project, nodes: list[dict]) -> int:
    from lumina.store import samples as store_samples

    return store_samples.count(con, project.id)


INPUTS: dict[str, InputKind] = {k.name: k for k in (
    InputKind("taxonomy", "taxonomy leaves", None, _leaves),
    InputKind("seeds", "seed tasks", "seeds", _inputs_of("seed")),
    InputKind("prompts", "prompts", "prompts", _inputs_of("prompt")),
    InputKind("passages", "passages", "documents", _inputs_of("chunk")),
    InputKind("samples", "samples", None, _samples),
)}


def input_kind(mode) -> InputKind:
    """The kind of input a mode declares (a name in ``INPUTS``, or an ``InputKind`` of its own)."""
    kind = mode.inputs
    return kind if isinstance(kind, InputKind) else INPUTS[kind]
