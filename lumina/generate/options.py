"""A mode's ``Options`` model, read generically: for the CLI (``--option KEY=VALUE``, the help
text) and for the Generate page's widgets. Nothing here knows a mode.

How a field is shown comes from its type and constraints; a field may refine it with
``json_schema_extra``:

- ``label``: the widget's label (default: the field name, humanised);
- ``key``: the widget key without the ``gen_`` prefix (default: the field name), kept stable so
  a browser session and the app tests find the widget across versions;
- ``choices``: the fixed values of a ``str`` or ``list[str]`` field (select / multiselect);
- ``allow_new``: a multiselect also accepts values typed in;
- ``none_label``: for an optional choice, the entry that stands for None (e.g. "all");
- ``placeholder``: the hint in an empty text box.
"""

from __future__ import annotations

import json
import types
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from lumina.errors import InvalidInputError


@dataclass(frozen=True)
class OptionField:
    name: str
    kind: str  # bool | int | float | text | choice | multi | int_list | json
    default: Any
    optional: bool
    label: str
    noun: str  # what messages call its values: the field's title, else its label
    help: str
    key: str
    choices: tuple = ()
    allow_new: bool = False
    none_label: str | None = None
    placeholder: str | None = None
    lo: float | None = None
    hi: float | None = None
    min_items: int | None = None


def _strip_optional(ann: Any) -> tuple[Any, bool]:
    if get_origin(ann) in (Union, types.UnionType):
        args = [a for a in get_args(ann) if a is not type(None)]
        if len(args) == 1:
            return args[0], len(args) < len(get_args(ann))
    return ann, False


def _kind(ann: Any, choices: tuple) -> tuple[str, tuple]:
    if ann is bool:
        return "bool", ()
    if ann in (int, float):
        return ann.__name__, ()
    if get_origin(ann) is Literal:
        return "choice", get_args(ann)
    if ann is str:
        return ("choice" if choices else "text"), choices
    if get_origin(ann) in (list, tuple, set):
        (arg, *_) = get_args(ann) or (Any,)
        if get_origin(arg) is Literal:
            return "multi", get_args(arg)
        if arg is str:
            return ("multi" if choices else "json"), choices
        if arg is int:
            return "int_list", ()
    return "json", ()


def fields(options: type[BaseModel]) -> list[OptionField]:
    """Every option of a mode, described for a renderer."""
    out = []
    for name, info in options.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        label = str(extra.get("label") or info.title or name.replace("_", " ").capitalize())
        ann, optional = _strip_optional(info.annotation)
        kind, choices = _kind(ann, tuple(extra.get("choices") or ()))
        bound = {b: next((getattr(m, b) for m in info.metadata if getattr(m, b, None) is not None), None)
                 for b in ("ge", "le", "min_length")}
        out.append(OptionField(
            name=name, kind=kind, default=info.get_default(call_default_factory=True), optional=optional,
            label=label, noun=info.title or label,
            help=info.description or "", key=str(extra.get("key") or name), choices=choices,
            allow_new=bool(extra.get("allow_new")), none_label=extra.get("none_label"),
            placeholder=extra.get("placeholder"), lo=bound["ge"], hi=bound["le"], min_items=bound["min_length"],
        ))
    return out


def value_of(info: FieldInfo, text: str) -> Any:
    """A command-line value for one field: JSON where it parses, else the text as typed; a list
    field also takes comma-separated values (``a,b``), a text field keeps digits as text."""
    ann, _ = _strip_optional(info.annotation)
    try:
        value = json.loads(text)
    except ValueError:
        value = None if text.strip() == "" else text
        if isinstance(value, str) and get_origin(ann) in (list, tuple, set):
            value = [v.strip() for v in value.split(",") if v.strip()]
    if ann is str and not isinstance(value, str) and value is not None:
        value = text
    return value


def parse_assignments(mode_name: str, options: type[BaseModel], items: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings (``--option``) as a dict for the mode's Options model."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise InvalidInputError(f"--option: '{item}' is not KEY=VALUE (e.g. --option max_turns=2).")
        if key not in options.model_fields:
            known = ", ".join(options.model_fields) or "none"
            raise InvalidInputError(f"--option: the mode '{mode_name}' has no option '{key}' (its options: {known}).")
        out[key] = value_of(options.model_fields[key], text)
    return out


def first_error(exc: ValidationError) -> tuple[str, str]:
    """(the option it is about, the message) of a validation error's first complaint."""
    e = exc.errors()[0]
    loc = [str(p) for p in e["loc"]]
    return (loc[0] if loc else ""), e["msg"]


def help_lines(mode) -> list[str]:
    """One line per option: name, type, default and help; for ``lumina generate --help``."""
    lines = []
    for f in fields(mode.Options):
        default = _shown(f.default)
        choices = f" (one or more of: {', '.join(map(str, f.choices))})" if f.kind == "multi" and f.choices \
            else f" (one of: {', '.join(map(str, f.choices))})" if f.choices else ""
        lines.append(f"{f.name}={_type_word(f)} (default {default}): {f.help}{choices}")
    return lines


def _shown(value: Any) -> str:
    # No brackets: help text may go through Rich, which reads [..] as markup.
    if isinstance(value, (list, tuple, set)):
        return ",".join(map(_shown, value)) or "empty"
    if value is None:
        return "none"
    return json.dumps(value) if isinstance(value, bool) else str(value)


def _type_word(f: OptionField) -> str:
    return {"bool": "true|false", "int": "N", "float": "X", "text": "TEXT", "choice": "CHOICE",
            "multi": "A,B,...", "int_list": "1,2,...", "json": "JSON"}[f.kind]
