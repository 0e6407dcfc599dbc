"""Prompt templates: Jinja files under ``lumina/templates/<mode>/<step>.v<N>.jinja`` (a plugin
mode's own under the ``templates_dir`` it declares, laid out the same way).

A template's identity is ``<mode>/<step>@v<N>``; that string is recorded on every sample it
produced. A new wording is a new file with the next version number; old files stay so every
sample's template can still be shown.

A project may override a template with its own wording (``save_override``): versions are kept
append-only in the store and named ``<mode>/<step>@p<K>`` (the project's K-th version), so a
sample's template can always be looked up. An override is checked before it is saved: it must
parse and render with the variables the step provides (``EXAMPLE_CONTEXT``).

Templates are user input: anyone who may edit a project's wording could otherwise run code in
the web server or a worker (``{{ cycler.__init__.__globals__.os.popen(...) }}``). Every template,
built-in or not, renders in Jinja's immutable sandbox with bounded loops, sizes and output.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Mapping

from lumina import access
from lumina.errors import InvalidInputError, NotFoundError

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
_NAME = re.compile(r"^(?P<step>[a-z_]+)\.v(?P<version>\d+)\.jinja$")


@dataclass(frozen=True)
class Template:
    mode: str
    step: str
    version: int
    source: str
    override: int | None = None  # the project's override version, when this is one

    @property
    def key(self) -> str:
        return f"{self.mode}/{self.step}"

    @property
    def ref(self) -> str:
        return f"{self.key}@p{self.override}" if self.override else f"{self.key}@v{self.version}"

    def render(self, **context: Any) -> str:
        import jinja2

        try:
            compiled = _environment().from_string(self.source)
        except jinja2.TemplateSyntaxError as exc:
            raise InvalidInputError(f"{self.ref}: template syntax error at line {exc.lineno}: {exc.message}") from None
        return _bounded_render(self.ref, compiled, context).strip()


# Limits of one render. A prompt holds at most a passage and a few examples: a megabyte of text
# is far beyond any real one, and a template that wants more is a runaway or an attack.
MAX_RENDERED_CHARS = 1_000_000
MAX_LOOP_ITEMS = 100_000        # all range() calls of one render together
MAX_RENDER_SECONDS = 5.0
# Filters whose arguments size an allocation or a loop (center(10**9), slice(10**9)).
_SIZED_FILTERS = ("center", "indent", "wordwrap", "slice", "batch")


class _Budget:
    def __init__(self) -> None:
        import time

        self.loop_items = MAX_LOOP_ITEMS
        self.deadline = time.monotonic() + MAX_RENDER_SECONDS

    def spend(self, n: int) -> None:
        import time

        self.loop_items -= n
        if self.loop_items < 0:
            raise _TooBig(f"loops over more than {MAX_LOOP_ITEMS:,} items in all")
        if time.monotonic() > self.deadline:
            raise _TooBig(f"takes longer than {MAX_RENDER_SECONDS:g} s to render")


class _TooBig(Exception):
    pass


# The budget of the render in progress, per thread: the web server renders in several at once.
_budget: ContextVar["_Budget | None"] = ContextVar("prompt_budget", default=None)


def _bounded_range(*args: int) -> range:
    r = range(*args)
    (_budget.get() or _Budget()).spend(len(r))
    return r


def _checked_size(n: int) -> None:
    if n > MAX_RENDERED_CHARS:
        raise _TooBig(f"builds a value of {n:,} items (the limit is {MAX_RENDERED_CHARS:,})")


@lru_cache(maxsize=1)
def _environment():
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class PromptSandbox(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**"})

        def call_binop(self, context, operator, left, right):
            if operator == "**":
                if isinstance(right, (int, float)) and abs(right) > 64:
                    raise _TooBig("raises a number to a power above 64")
                result = self.binop_table[operator](left, right)
                if isinstance(result, int) and result.bit_length() > 4096:
                    raise _TooBig("computes a number over 4096 bits")
                return result
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(n, int):
                    _checked_size(len(seq) * n)
            return self.binop_table[operator](left, right)

    # Prompts are plain text, not HTML: no autoescape, but undefined variables are errors.
    env = PromptSandbox(undefined=jinja2.StrictUndefined, keep_trailing_newline=False)
    env.globals["range"] = _bounded_range
    for name in _SIZED_FILTERS:
        env.filters.pop(name, None)
    return env


def _bounded_render(ref: str, compiled, context: dict[str, Any]) -> str:
    """Render in the sandbox, stopping at the size, loop and time limits with a clear message."""
    import jinja2
    from jinja2.exceptions import SecurityError

    budget = _Budget()
    token = _budget.set(budget)
    parts: list[str] = []
    size = 0
    try:
        for chunk in compiled.generate(**context):
            size += len(chunk)
            _checked_size(size)
            budget.spend(0)
            parts.append(chunk)
    except SecurityError as exc:
        raise InvalidInputError(f"{ref}: not allowed in a prompt template ({_first(exc)}); templates may "
                                "only use the step's variables, filters and plain expressions.") from None
    except _TooBig as exc:
        raise InvalidInputError(f"{ref}: the template {exc}; a prompt must stay under "
                                f"{MAX_RENDERED_CHARS:,} characters.") from None
    except RecursionError:
        raise InvalidInputError(f"{ref}: the template recurses without end.") from None
    except jinja2.TemplateSyntaxError as exc:  # an unknown (removed) filter is found when compiling
        raise InvalidInputError(f"{ref}: template syntax error at line {exc.lineno}: {exc.message}") from None
    finally:
        _budget.reset(token)
    return "".join(parts)


def _first(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:160]


def _folders(group: str) -> list[Path]:
    """Where a template group's files are: ``lumina/templates/<group>``, else the templates folder
    a plugin mode declares (``GenerationMode.templates_dir``); a plugin cannot shadow a built-in."""
    builtin = TEMPLATES_DIR / group
    if builtin.is_dir():
        return [builtin]
    return [root / group for root in _plugin_roots() if (root / group).is_dir()]


def _plugin_roots() -> list[Path]:
    from lumina.generate import MODES  # here, not above: the modes import this module

    return list(dict.fromkeys(Path(m.templates_dir) for m in MODES if getattr(m, "templates_dir", None)))


def versions(mode: str, step: str) -> list[Template]:
    out = []
    for folder in _folders(mode)[:1]:
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
    groups = [p.name for p in TEMPLATES_DIR.iterdir() if p.is_dir()]
    groups += [p.name for root in _plugin_roots() if root.is_dir() for p in root.iterdir() if p.is_dir()]
    out = []
    for group in sorted(set(groups)):
        folder = _folders(group)[0]
        steps = {(_NAME.match(f.name) or [None, None])[1] for f in folder.glob("*.jinja")}
        for step in sorted(s for s in steps if s):
            out.extend(versions(group, step))
    return out


# The variables each step renders its template with, as an example (or several, where a value
# may be missing): overrides are checked against each before they are saved; the Generate page
# shows the variable names. A generation mode declares its own templates' examples
# (``GenerationMode.examples``); the templates of other steps are listed here.
_EXAMPLES: dict[str, dict[str, Any] | list[dict[str, Any]]] = {
    "expand/subtopics": [{"taxonomy": "Everyday science", "path": "Physics", "topic": "Physics",
                          "description": "how the world moves", "n": 5, "existing": ["Optics"]},
                         {"taxonomy": "Everyday science", "path": None, "topic": None,  # top-level subjects
                          "description": None, "n": 5, "existing": []}],
    "judge/rubric": {"instruction": "Explain photosynthesis.", "response": "Plants turn light into sugar."},
    "judge/contamination": {"sample": "How long is the Nile river?", "eval_item": "What is the length of the Nile?"},
    "judge_pairwise/verdict": {"question": "Why is the sky blue?", "response_1": "Rayleigh scattering.",
                               "response_2": "Because of the ocean."},
}


class _ExampleContext(Mapping):
    """``_EXAMPLES`` plus every generation mode's own, read when asked (plugins may load late)."""

    def _merged(self) -> dict[str, Any]:
        from lumina.generate import MODES

        merged = dict(_EXAMPLES)
        for mode in MODES:
            merged.update(getattr(mode, "examples", None) or {})
        return merged

    def __getitem__(self, key: str):
        if key in _EXAMPLES:  # no need to load the modes for a judge's template
            return _EXAMPLES[key]
        return self._merged()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._merged())

    def __len__(self) -> int:
        return len(self._merged())


EXAMPLE_CONTEXT: Mapping[str, dict[str, Any] | list[dict[str, Any]]] = _ExampleContext()


def check(mode: str, step: str, source: str) -> None:
    """Raise ``InvalidInputError`` unless ``source`` parses and renders for this step."""
    import jinja2

    key = f"{mode}/{step}"
    if not source.strip():
        raise InvalidInputError(f"The template {key} is empty.")
    try:
        compiled = _environment().from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise InvalidInputError(f"{key}: template syntax error at line {exc.lineno}: {exc.message}") from None
    known = ", ".join(variables(key)) or "none"
    for context in example_contexts(key):
        try:
            text = _bounded_render(key, compiled, context)
        except InvalidInputError:
            raise
        except jinja2.UndefinedError as exc:
            raise InvalidInputError(f"{key}: {exc.message} (variables this step provides: {known})") from None
        except Exception as exc:  # a filter or expression failing on real values (a missing one too)
            shown = ", ".join(f"{k}={v!r}" for k, v in context.items())[:200]
            raise InvalidInputError(f"{key}: the template fails to render with {shown} "
                                    f"({type(exc).__name__}: {exc})") from None
        if not text.strip():
            raise InvalidInputError(f"{key}: the template renders to empty text.")


def example_contexts(key: str) -> list[dict[str, Any]]:
    found = EXAMPLE_CONTEXT.get(key, {})
    return found if isinstance(found, list) else [found]


def variables(key: str) -> list[str]:
    """The variable names a step's template may use."""
    return list(dict.fromkeys(k for c in example_contexts(key) for k in c))


def for_project(project_id: int | None, mode: str, step: str) -> Template:
    """The template a project's jobs use: its newest override, else the built-in latest."""
    builtin = latest(mode, step)
    if project_id is None:
        return builtin
    from lumina.store import connect
    from lumina.store import prompts as store_prompts

    with connect() as con:
        found = store_prompts.latest(con, project_id, builtin.key)
    if not found or found[1] is None:
        return builtin
    version, source = found
    return Template(mode, step, builtin.version, source, override=version)


@access.requires("owner")
def save_override(project: str, mode: str, step: str, source: str) -> Template:
    latest(mode, step)  # an unknown template fails here
    check(mode, step, source)
    from lumina.store import connect
    from lumina.store import projects as store_projects
    from lumina.store import prompts as store_prompts

    with connect() as con:
        p = store_projects.get(con, project)
        version = store_prompts.add(con, p.id, f"{mode}/{step}", source)
    return Template(mode, step, latest(mode, step).version, source, override=version)


@access.requires("owner")
def reset_override(project: str, mode: str, step: str) -> Template:
    """Go back to the built-in template (recorded as a version, so history stays complete)."""
    from lumina.store import connect
    from lumina.store import projects as store_projects
    from lumina.store import prompts as store_prompts

    builtin = latest(mode, step)
    with connect() as con:
        p = store_projects.get(con, project)
        found = store_prompts.latest(con, p.id, builtin.key)
        if found and found[1] is not None:
            store_prompts.add(con, p.id, builtin.key, None)
    return builtin


def override_history(project: str, mode: str, step: str) -> list[tuple[int, str | None, Any]]:
    """(version, source or None for 'built-in', saved at), newest first."""
    from lumina.store import connect
    from lumina.store import projects as store_projects
    from lumina.store import prompts as store_prompts

    with connect() as con:
        p = store_projects.get(con, project)
        return store_prompts.history(con, p.id, f"{mode}/{step}")


def resolve_ref(project_id: int | None, ref: str) -> Template | None:
    """The template a sample's ref names (``mode/step@vN`` or ``mode/step@pK``), if it still exists."""
    key, _, version = ref.partition("@")
    mode, _, step = key.partition("/")
    if version.startswith("v") and version[1:].isdigit():
        return next((t for t in versions(mode, step) if t.version == int(version[1:])), None)
    if version.startswith("p") and version[1:].isdigit() and project_id is not None:
        from lumina.store import connect
        from lumina.store import prompts as store_prompts

        with connect() as con:
            source = store_prompts.get(con, project_id, key, int(version[1:]))
        if source is not None:
            return Template(mode, step, 0, source, override=int(version[1:]))
    return None
