"""Generation modes behind one seam, and the shared resumable loop that runs them.

``MODES`` holds every mode: the modules of ``lumina.generate.modes`` and any plugin (see
``lumina.plugins``). Each declares itself on a ``GenerationMode`` subclass (``base.py``).
"""

from __future__ import annotations

from lumina.plugins import Registry


# Lists modes by their ``position`` (the built-ins in the order the docs introduce them).
MODES: Registry = Registry("generation mode", "lumina.generate.modes")


def get_mode(name: str):
    """The registered mode (``InvalidInputError`` naming the available ones if unknown)."""
    return MODES.get(name)


def find_mode(name: object):
    """The registered mode, or None for an unknown name (a plugin that fails to import still raises)."""
    return MODES.get(name) if isinstance(name, str) and name in MODES else None


def templates_for(mode: str, project_id: int | None = None):
    """The templates a mode's jobs would use for this project (its overrides included)."""
    from lumina import prompts

    found = find_mode(mode)
    return [prompts.for_project(project_id, m, step) for m, step in (found.templates if found else [])]
