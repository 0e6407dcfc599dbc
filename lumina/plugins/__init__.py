"""Where the kinds come from: one small registry per kind, filled by built-ins and by plugins.

A kind (a generation mode, a scorer, a teacher backend, a job kind) is one object declared in
one file. The built-ins are the modules of the kind's package (``lumina/generate/modes/``,
``lumina/quality/scorers/``, ...): the registry imports each of them the first time it is asked
for a name, and importing a module registers what it declares. Plugins register the same way:

- modules named in ``LUMINA_PLUGINS`` (comma-separated, importable, e.g. ``my_pkg.my_mode``);
  job workers inherit the variable, so a plugin's jobs run in them too;
- modules of installed distributions under the entry-point group ``lumina.plugins``.

Nothing here imports a heavy library; a kind keeps its heavy imports inside the calls that
need them, so listing the kinds (``lumina generate --help``, the Generate page) stays cheap.
"""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil
import threading
from typing import Callable, Generic, Iterator, TypeVar

from lumina.errors import InvalidInputError

log = logging.getLogger(__name__)

T = TypeVar("T")
ENTRY_POINT_GROUP = "lumina.plugins"

_plugins_lock = threading.RLock()
_plugins_loaded: set[str] = set()


def plugin_modules() -> list[str]:
    """The plugin modules named in ``LUMINA_PLUGINS`` and by installed entry points."""
    names = [m.strip() for m in os.environ.get("LUMINA_PLUGINS", "").split(",") if m.strip()]
    try:
        from importlib.metadata import entry_points

        names += [ep.value.partition(":")[0] for ep in entry_points(group=ENTRY_POINT_GROUP)]
    except Exception:  # a broken distribution's metadata must not stop Lumina
        log.exception("could not read the %s entry points", ENTRY_POINT_GROUP)
    return list(dict.fromkeys(names))


def load_plugins() -> None:
    """Import every plugin module once per process (a module named later is imported then).

    No lock is held while a module imports: the module registers into a registry, which takes
    that registry's lock, and a thread importing the same module directly would otherwise wait
    on us while we wait on its import lock. A plugin that fails to import is not remembered as
    loaded, so every later lookup reports it again instead of quietly missing its kinds.
    """
    with _plugins_lock:
        todo = [n for n in plugin_modules() if n not in _plugins_loaded]
    for name in todo:
        try:
            importlib.import_module(name)
        except Exception as e:
            raise InvalidInputError(
                f"The Lumina plugin '{name}' (LUMINA_PLUGINS or an entry point) could not be "
                f"imported: {type(e).__name__}: {e}") from e
        with _plugins_lock:
            _plugins_loaded.add(name)


class Registry(Generic[T]):
    """Named objects of one kind. ``name_of`` reads an object's name (default: ``.name``)."""

    def __init__(self, kind: str, package: str, name_of: Callable[[T], str] = lambda o: o.name,
                 listing: str = "available"):
        self.kind = kind
        self._listing = listing  # the word before the names in "Unknown ... (available: a, b)"
        self.package = package
        self._name_of = name_of
        self._items: dict[str, T] = {}
        self._lock = threading.RLock()
        self._builtins_loaded = False

    def register(self, item: T) -> T:
        """Add one object (usable as a class or function decorator); the same name twice is a bug."""
        name = self._name_of(item)
        if not name or not isinstance(name, str):
            raise ValueError(f"A {self.kind} needs a non-empty name.")
        with self._lock:
            old = self._items.get(name)
            if old is not None and old is not item and _qualname(old) != _qualname(item):
                raise ValueError(f"Two {self.kind}s are named '{name}': {_qualname(old)} and {_qualname(item)}.")
            self._items[name] = item
        return item

    def unregister(self, name: str) -> None:
        with self._lock:
            self._items.pop(name, None)

    def _load(self) -> None:
        if not self._builtins_loaded:
            # Python's import lock makes concurrent imports of one module safe; holding our own
            # lock here would deadlock against a thread importing a built-in that registers.
            pkg = importlib.import_module(self.package)
            for info in pkgutil.iter_modules(pkg.__path__, self.package + "."):
                if not info.name.rpartition(".")[2].startswith("_"):
                    importlib.import_module(info.name)
            self._builtins_loaded = True
        load_plugins()

    def get(self, name: str) -> T:
        self._load()
        try:
            return self._items[name]
        except KeyError:
            raise InvalidInputError(
                f"Unknown {self.kind} '{name}' ({self._listing}: {', '.join(self.names())}).") from None

    def names(self) -> list[str]:
        return [self._name_of(item) for item in self]

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._items

    def __iter__(self) -> Iterator[T]:
        """In each object's ``position`` (lists show the built-ins in a chosen order), then as registered."""
        self._load()
        with self._lock:
            items = list(self._items.values())
        return iter(sorted(items, key=lambda o: getattr(o, "position", 1000)))


def _qualname(obj: object) -> str:
    target = obj if isinstance(obj, type) or callable(obj) and hasattr(obj, "__qualname__") else type(obj)
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', '?')}"
