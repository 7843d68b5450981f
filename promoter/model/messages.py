"""Validate plain data against a pydantic model; errors become located messages."""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from promoter.model.expected import EXPECTED_HINTS, SECRET_SHAPES
from promoter.model.problem import Problem
from promoter.pointer import escape
from promoter.suggest import did_you_mean

__all__ = ["Problem", "describe", "validate"]


def validate(
    adapter: TypeAdapter[Any], data: Any, root: type[BaseModel] | dict[str, type[BaseModel]]
) -> tuple[Any, list[Problem]]:
    """Validate ``data``; return the model, or ``None`` and every problem found."""
    try:
        return adapter.validate_python(data), []
    except ValidationError as exc:
        return None, [_problem(err, root) for err in exc.errors(include_url=False)]


def _problem(err: Any, root: type[BaseModel] | dict[str, type[BaseModel]]) -> Problem:
    loc = list(err["loc"])
    cls: type[BaseModel] | None
    if isinstance(root, dict):
        cls = root.get(str(loc.pop(0))) if loc and str(loc[0]) in root else None
    else:
        cls = root
    # Discriminated unions inside a field add their tag ("<literal>") to loc; drop it, and
    # only it: a key such as "<<" (YAML's merge-key name, quoted) is the user's own.
    loc = [part for part in loc if not (isinstance(part, str) and _TAG.fullmatch(part))]
    # A plain union (an ESV's literal value: str | int | float | bool) names each member in
    # loc; the user wrote none of them: drop them and say every type the union takes.
    union = len(loc) > 1 and any(part in _MEMBERS for part in loc[1:])
    loc = [loc[0], *(part for part in loc[1:] if part not in _MEMBERS)] if union else loc
    pointer = "".join(f"/{escape(str(part))}" for part in loc)
    kind = err["type"]
    if kind == "expected":
        return _expected(pointer, loc, err)
    if kind == "extra_forbidden":
        key = str(loc[-1])
        if len(loc) == 1 and key.startswith("mail.") and isinstance(root, dict):
            return Problem(
                pointer,
                f"'{key}' is a top-level JavaMail key: this is the pre-2015 flat format, "
                "which IDM no longer reads",
                "write host, port, auth, starttls and ssl as properties "
                "(see docs/real-world.md); other JavaMail keys go under smtpProperties",
            )
        fields = _fields_at(cls, loc[:-1]) if cls else set()
        return Problem(pointer, f"unknown property '{key}'", did_you_mean(key, fields))
    if kind == "invalid_type" and not loc:  # the root discriminator: bad 'type'
        found = err["input"].get("type") if isinstance(err["input"], dict) else None
        hint = did_you_mean(found, ("smtp", "msgraph")) if isinstance(found, str) else None
        return Problem("/type", _message(err) + f"; found {describe(found)}", hint)
    name = _name(loc)
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        shape = _shape(_fields_at(cls, loc) if cls else set())
        hint = f"expected {shape}" if shape else None
        return Problem(pointer, f"{name} must be a mapping; found {describe(err['input'])}", hint)
    if kind == "list_type" and loc and loc[-1] in _LIST_OR_MAPPING:
        return Problem(
            pointer,
            f"{name} must be a list of names or a mapping of name -> value; "
            f"found {describe(err['input'])}",
        )
    if kind == "list_type":
        shape = _shape(_fields_at(cls, loc) if cls else set())
        hint = f"expected a list of {shape}" if shape else None
        return Problem(pointer, f"{name} must be a list; found {describe(err['input'])}", hint)
    if kind in _TYPES:
        found = describe(err["input"], reveal=str(loc[-1]) not in _SECRET_NAMES if loc else True)
        wanted = "a string, a number or a boolean" if union else _TYPES[kind]
        return Problem(pointer, f"{name} must be {wanted}; found {found}")
    if kind == "string_pattern_mismatch":
        pattern = err.get("ctx", {}).get("pattern", "")
        found = describe(err["input"])
        return Problem(pointer, f"{name} must match {pattern}; found {found}")
    if kind == "missing":
        return Problem(pointer.rsplit("/", 1)[0], f"missing required property '{loc[-1]}'")
    return Problem(pointer, _message(err))


_TAG = re.compile(r"<[^<>]+>")
_MEMBERS = frozenset({"str", "int", "float", "bool"})
_LIST_OR_MAPPING = frozenset({"esvs", "properties"})

_TYPES = {
    "string_type": "a string",
    "int_type": "an integer",
    "bool_type": "true or false",
    "float_type": "a number",
    "date_type": "a date (YYYY-MM-DD)",
}
_SECRET_NAMES = frozenset({"password", "clientSecret", "clientId", "username", "userName"})


def _name(loc: list[Any]) -> str:
    """How a message names the value: ``port``, ``allow[0]``."""
    parts = [str(p) if isinstance(p, str) else f"[{p}]" for p in loc[-2:]]
    if len(parts) == 2 and not parts[1].startswith("["):
        parts = parts[1:]
    return "".join(parts) if parts and not parts[0].startswith("[") else "value"


def _shape(fields: set[str]) -> str:
    return "{" + ", ".join(f"{f}: ..." for f in sorted(fields)) + "}" if fields else ""


def _expected(pointer: str, loc: list[Any], err: Any) -> Problem:

    expected = str(err["msg"])
    name = _name(loc)
    found = describe(err["input"], reveal=expected not in SECRET_SHAPES)
    hint = EXPECTED_HINTS.get(expected)
    return Problem(pointer, f"{name} must be {expected}; found {found}", hint)


def describe(value: Any, *, reveal: bool = True) -> str:
    """What a value is, for 'found ...' in messages; ``reveal=False`` names only its kind."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}" if reveal else "a boolean"
    if isinstance(value, int | float):
        return f"the number {value}" if reveal else "a number"
    if isinstance(value, str):
        if not reveal:
            return "a string"
        shown = value if len(value) <= 40 else value[:40] + "..."
        return f"the string '{shown}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        keys = ", ".join(sorted(str(k) for k in value)[:4])
        return f"a mapping with {keys}" if keys else "an empty mapping"
    return type(value).__name__


def _message(err: Any) -> str:
    message = str(err["msg"])
    message = message.removeprefix("Value error, ")
    if err["type"] in ("literal_error", "enum"):
        return message.replace("Input should be", "must be")
    return message.replace("Input should be", "should be")


def _fields_at(cls: type[BaseModel], path: list[Any]) -> set[str]:
    current: Any = cls
    for part in path:
        if isinstance(part, int):
            continue
        field = _model_fields(current).get(str(part))
        if field is None:
            field = _mapping_value(current)  # a key of dict[str, Model]
        if field is None:
            return set()
        current = field
    return set(_model_fields(current))


def _mapping_value(annotation: Any) -> Any:
    if type(annotation).__name__ == "TypeAliasType":
        annotation = annotation.__value__
    origin = typing.get_origin(annotation)
    if origin is dict:
        return typing.get_args(annotation)[1]
    if origin in (typing.Union, types.UnionType, typing.Annotated):
        for arg in typing.get_args(annotation):
            found = _mapping_value(arg)
            if found is not None:
                return found
    return None


def _model_fields(annotation: Any) -> dict[str, Any]:
    """Property name -> annotation, for every model class ``annotation`` may hold."""
    out: dict[str, Any] = {}
    for model in _models_in(annotation):
        for name, info in model.model_fields.items():
            out[info.alias or name] = info.annotation
    return out


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if type(annotation).__name__ == "TypeAliasType":  # a named alias: look through it
        annotation = annotation.__value__
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        yield from _models_in(typing.get_args(annotation)[0])
    elif origin in (typing.Union, types.UnionType, list, dict):
        for arg in typing.get_args(annotation):
            yield from _models_in(arg)
