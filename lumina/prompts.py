"""Prompt templates: Jinja files under ``lumina/templates/<mode>/<step>.v<N>.jinja``.

A template's identity is ``<mode>/<step>@v<N>``; that string is recorded on every sample it
produced. A new wording is a new file with the next version number; old files stay so every
sample's template can still be shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from lumina.errors import NotFoundError

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
_NAME = re.compile(r"^(?P<step>[a-z_]+)\.v(?P<version>\d+)\.jinja$")


@dataclass(frozen=True)
class Template:
    mode: str
    step: str
    version: int
    source: str

    @property
    def ref(self) -> str:
        return f"{self.mode}/{self.step}@v{self.version}"

    def render(self, **context: Any) -> str:
        return _environment().from_string(self.source).render(**context).strip()


@lru_cache(maxsize=1)
def _environment():
    import jinja2

    # Prompts are plain text, not HTML: no autoescape, but undefined variables are errors.
    return jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False)


def versions(mode: str, step: str) -> list[Template]:
    folder = TEMPLATES_DIR / mode
    out = []
    for f in sorted(folder.glob(f"{step}.v*.jinja")):
        m = _NAME.match(f.name)
        if m:
            out.append(Template(mode, step, int(m.group("version")), f.read_text(encoding="utf-8")))
    return sorted(out, key=lambda t: t.version)


def latest(mode: str, step: str) -> Template:
    found = versions(mode, step)
    if not found:
        raise NotFoundError(f"No prompt template {mode}/{step} in {TEMPLATES_DIR}.")
    return found[-1]


def all_templates() -> list[Template]:
    out = []
    for folder in sorted(p for p in TEMPLATES_DIR.iterdir() if p.is_dir()):
        steps = {(_NAME.match(f.name) or [None, None])[1] for f in folder.glob("*.jinja")}
        for step in sorted(s for s in steps if s):
            out.extend(versions(folder.name, step))
    return out
