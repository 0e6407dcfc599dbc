"""Generation modes behind one seam, and the shared resumable loop that runs them."""

from __future__ import annotations

import importlib

from lumina.errors import InvalidInputError

# name -> "module:Class"; built-ins register through the same table as anything added later.
MODES: dict[str, str] = {
    "taxonomy": "lumina.generate.modes.taxonomy:TaxonomyMode",
    "seeded": "lumina.generate.modes.seeded:SeededMode",
    "regenerate": "lumina.generate.modes.regenerate:RegenerateMode",
    "grounded": "lumina.generate.modes.grounded:GroundedMode",
    "evolve": "lumina.generate.modes.evolve:EvolveMode",
}

# What each mode does, and which prompt templates (mode, step) it uses: shown on the Generate page.
MODE_HELP: dict[str, str] = {
    "taxonomy": "For each leaf × task type × difficulty (× persona) of the taxonomy: an instruction, then its answer.",
    "seeded": "Self-instruct from imported seed tasks: new tasks in their domain and style (never a copy), then answers.",
    "regenerate": "Keep imported prompts (single- or multi-turn); the teacher writes every response anew, turn by turn.",
    "grounded": "Questions about passages of imported documents, answered from the passage with the reasoning "
                "and a quoted piece of evidence shown; the passage stays as context.",
    "evolve": "Evol-Instruct: rewrite chosen samples into harder or broader variants (deepen, add constraints, "
              "concretise, more reasoning, broaden), then answer them; failed evolutions are dropped with a reason.",
}
MODE_TEMPLATES: dict[str, list[tuple[str, str]]] = {
    "taxonomy": [("taxonomy", "instruction"), ("taxonomy", "answer")],
    "seeded": [("seeded", "instruction"), ("seeded", "answer")],
    "regenerate": [("regenerate", "system")],
    "grounded": [("grounded", "question"), ("grounded", "answer"), ("grounded", "user"), ("grounded", "response")],
    "evolve": [("evolve", "instruction")],
}


def templates_for(mode: str, project_id: int | None = None):
    """The templates a mode's jobs would use for this project (its overrides included)."""
    from lumina import prompts

    return [prompts.for_project(project_id, m, step) for m, step in MODE_TEMPLATES.get(mode, [])]


def get_mode(name: str):
    if name not in MODES:
        raise InvalidInputError(f"Unknown generation mode '{name}' (available: {', '.join(MODES)}).")
    module_name, _, cls = MODES[name].partition(":")
    return getattr(importlib.import_module(module_name), cls)()
