"""Generation modes behind one seam, and the shared resumable loop that runs them."""

from __future__ import annotations

import importlib

from lumina.errors import NotAvailableYetError

# name -> "module:Class"; built-ins register through the same table as anything added later.
MODES: dict[str, str] = {
    "taxonomy": "lumina.generate.taxonomy_mode:TaxonomyMode",
    "seeded": "lumina.generate.seeded_mode:SeededMode",
    "regenerate": "lumina.generate.regenerate_mode:RegenerateMode",
}
PLANNED_MODES = ("grounded", "evolve")

# What each mode does, and which prompt templates (mode, step) it uses: shown on the Generate page.
MODE_HELP: dict[str, str] = {
    "taxonomy": "For each leaf × task type × difficulty (× persona) of the taxonomy: an instruction, then its answer.",
    "seeded": "Self-instruct from imported seed tasks: new tasks in their domain and style (never a copy), then answers.",
    "regenerate": "Keep imported prompts (single- or multi-turn); the teacher writes every response anew, turn by turn.",
}
MODE_TEMPLATES: dict[str, list[tuple[str, str]]] = {
    "taxonomy": [("taxonomy", "instruction"), ("taxonomy", "answer")],
    "seeded": [("seeded", "instruction"), ("seeded", "answer")],
    "regenerate": [("regenerate", "system")],
}


def templates_for(mode: str):
    from lumina import prompts

    return [prompts.latest(m, step) for m, step in MODE_TEMPLATES.get(mode, [])]


def get_mode(name: str):
    if name not in MODES:
        if name in PLANNED_MODES:
            raise NotAvailableYetError(
                f"Generation mode '{name}' is not available in this build yet (available: {', '.join(MODES)})."
            )
        raise NotAvailableYetError(f"Unknown generation mode '{name}' (available: {', '.join(MODES)}).")
    module_name, _, cls = MODES[name].partition(":")
    return getattr(importlib.import_module(module_name), cls)()
