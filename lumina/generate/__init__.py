"""Generation modes behind one seam, and the shared resumable loop that runs them."""

from __future__ import annotations

import importlib

from lumina.errors import NotAvailableYetError

# name -> "module:Class"; built-ins register through the same table as anything added later.
MODES: dict[str, str] = {
    "taxonomy": "lumina.generate.taxonomy_mode:TaxonomyMode",
}
PLANNED_MODES = ("seeded", "regenerate", "grounded", "evolve")


def get_mode(name: str):
    if name not in MODES:
        if name in PLANNED_MODES:
            raise NotAvailableYetError(
                f"Generation mode '{name}' is not available in this build yet (available: {', '.join(MODES)})."
            )
        raise NotAvailableYetError(f"Unknown generation mode '{name}' (available: {', '.join(MODES)}).")
    module_name, _, cls = MODES[name].partition(":")
    return getattr(importlib.import_module(module_name), cls)()
