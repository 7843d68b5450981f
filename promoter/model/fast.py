"""The fast validator: the models' plans (``_plans.py``) walked without pydantic.

Importing pydantic and building its validators is most of a cold ``promoter
check``. The plans are generated from the pydantic models (``plangen.py``), and
the functions they name are the ones pydantic calls (``promoter.shapes``), so the
models stay the single source of truth.

The fast validator is sound, not complete: it accepts only what it is sure
pydantic accepts, and builds the same values. Anything else (an error, an odd
but maybe valid input) gets ``None``, and the caller asks pydantic, which decides
and words the messages. ``tests/unit/model/test_fast.py`` holds it to that against
pydantic on generated inputs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from functools import cache
from typing import Any

from promoter.model import shapes

_PRINTABLE = re.compile(r"[ -~]*")  # where Python's re and pydantic's Rust regex agree
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class Rejected(Exception):
    """Not sure: let pydantic decide."""


class Validated:
    """What the fast validator builds for a model: the model's fields as attributes.

    Each class also inherits the model's kinds (``shapes``), so callers that ask
    ``isinstance(config, SmtpKind)`` treat it as the pydantic object it stands for.
    """

    model_extra: dict[str, Any] | None = None

    def model_copy(self, *, update: dict[str, Any] | None = None) -> Any:
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.__dict__.update(update or {})
        return copy

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items() if k != "model_extra")
        return f"{type(self).__name__}({fields})"


def validate(plan: dict[str, Any], data: Any) -> Any | None:
    """The validated value of ``data``, or ``None``: ask pydantic."""
    try:
        return _Walker(plan["defs"]).value(plan["root"], data)
    except Rejected:
        return None


def default_of(plan: dict[str, Any], ref: str) -> Any:
    """A model of ``plan`` built from no input (the model class called without arguments)."""
    return _Walker(plan["defs"]).value({"t": "ref", "name": ref}, {})


class _Walker:
    def __init__(self, defs: dict[str, Any]) -> None:
        self.defs = defs

    def value(self, node: dict[str, Any], data: Any) -> Any:
        return _VALIDATORS[node["t"]](self, node, data)[0]

    def exact(self, node: dict[str, Any], data: Any) -> tuple[Any, bool]:
        """The value, and whether ``data`` had exactly the type asked for (for unions)."""
        return _VALIDATORS[node["t"]](self, node, data)


def _ref(w: _Walker, node: dict[str, Any], data: Any) -> tuple[Any, bool]:
    return w.exact(w.defs[node["name"]], data)


def _model(w: _Walker, node: dict[str, Any], data: Any) -> tuple[Any, bool]:
    if type(data) is not dict or any(type(key) is not str for key in data):
        raise Rejected
    values: dict[str, Any] = {}
    used = 0
    for field in node["fields"]:
        name, alias = field["name"], field["alias"]
        if alias is None:
            present, key = name in data, name
        else:
            by_alias = node["by_alias"] and alias in data
            by_name = node["by_name"] and name in data
            if by_alias and by_name:
                raise Rejected
            present, key = by_alias or by_name, alias if by_alias else name
        if present:
            values[name] = w.value(field["schema"], data[key])
            used += 1
        else:
            values[name] = _default(w, field)
    extra = None
    if used != len(data):
        if node["extra"] == "forbid":
            raise Rejected
        if node["extra"] == "allow":
            known = {f["alias"] or f["name"] for f in node["fields"]}
            known |= {f["name"] for f in node["fields"]} if node["by_name"] else set()
            extra = {k: v for k, v in data.items() if k not in known}
    obj = object.__new__(_class(node["name"], tuple(node["kinds"])))
    obj.__dict__.update(values)
    if node["extra"] == "allow":
        obj.__dict__["model_extra"] = extra or {}
    return obj, True


def _default(w: _Walker, field: dict[str, Any]) -> Any:
    if "default" in field:
        return field["default"]
    if "factory" in field:
        return {} if field["factory"] == "dict" else []
    if "factory_value" in field:
        return list(field["factory_value"])
    if "factory_model" in field:
        return w.value({"t": "ref", "name": field["factory_model"]}, {})
    raise Rejected  # required and missing


@cache
def _class(name: str, kinds: tuple[str, ...]) -> type[Validated]:
    bases = tuple(getattr(shapes, kind) for kind in kinds)
    return type(name, (*bases, Validated), {"__module__": __name__})


def _nullable(w: _Walker, node: dict[str, Any], data: Any) -> tuple[Any, bool]:
    return (None, True) if data is None else w.exact(node["schema"], data)


def _str(w: _Walker, node: dict[str, Any], data: Any) -> tuple[Any, bool]:
    if type(data) is not str:
        raise Rejected
    if not node.get("min_length", 0) <= len(data) <= node.get("max_length", len(data)):
        raise Rejected
    pattern = node.get("pattern")
    if pattern is not None and not (_PRINTABLE.fullmatch(data) and _compiled(pattern).search(data)):
        raise Rejected
    return data, True


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _int(w: _Walker, node: dict[str, Any], data: Any) -> tuple[Any, bool]:
    if type(data) is not int:
        raise Rejected
    _bounds(node, data)
    return data, True


def _float(w: _Walker, node: dict[str, Any], data: Any) -> tuple[Any, bool]:
    if type(data) not in (float, int):
        raise Rejected
    _bounds(node, data)
    return float(data), type(data) is float


def _bounds(node: dict[str, Any], number: float) -> None:
    if (
        ("ge" in node and not number >= node["ge"])
        or ("le" in node and not number <= node["le"])
        or ("gt" in node and not number > node["gt"])
        or ("lt" in node and not number < node["lt"])
    ):
        raise Rejected


def _bool(w: _Walker, node: dict[str, Any], data: Any) -> tuple[Any, bool]:
    if type(data) is not bool:
        raise Rejected
    return data, True


def _none(w: _Walker, node: dict[str, Any], data: Any) -> tuple[Any, bool]:
    if data is not None:
        raise Rejected
    return None, True


def _any(w: _Walker, node: dict[str, Any], data: Any) -> tuple[Any, bool]:
    return data, True


def _date(w: _Walker, node: dict[str, Any], data: Any) -> tuple[Any, bool]:
    if type(data) is date:
        return data, True
    if not node["strict"] and type(data) is str and _DATE.fullmatch(data):
        try:
            return date.fromisoformat(data), False
        except ValueError:
            raise Rejected from None
    raise Rejected


def _literal(w: _Walker, node: dict[str, Any], data: Any) -> tuple[Any, bool]:
    for expected in node["expected"]:
        if type(data) is type(expected) and data == expected:
            return expected, True
    raise Rejected


def _list(w: _Walker, node: dict[str, Any], data: Any) -> tuple[Any, bool]:
    if type(data) is not list:
        raise Rejected
    if not node.get("min_length", 0) <= len(data) <= node.get("max_length", len(data)):
        raise Rejected
    return [w.value(node["items"], item) for item in data], True


def _dict(w: _Walker, node: dict[str, Any], data: Any) -> tuple[Any, bool]:
    if type(data) is not dict:
        raise Rejected
    keys, values = node["keys"], node["values"]
    return {w.value(keys, k): w.value(values, v) for k, v in data.items()}, True


def _tagged(w: _Walker, node: dict[str, Any], data: Any) -> tuple[Any, bool]:
    try:
        tag = getattr(shapes, node["by"])(data)
    except Exception:
        raise Rejected from None
    choice = node["choices"].get(tag) if isinstance(tag, str) else None
    if choice is None:
        raise Rejected
    return w.exact(choice, data)


def _union(w: _Walker, node: dict[str, Any], data: Any) -> tuple[Any, bool]:
    """Pydantic's smart union, where it is unambiguous: the one choice that accepts, or
    the one that accepts the type exactly (an int for ``int | float``)."""
    found = []
    for choice in node["choices"]:
        try:
            found.append(w.exact(choice, data))
        except Rejected:
            continue
    exact = [value for value, is_exact in found if is_exact]
    if len(found) == 1:
        return found[0]
    if len(exact) == 1:
        return exact[0], True
    raise Rejected


def _after(w: _Walker, node: dict[str, Any], data: Any) -> tuple[Any, bool]:
    value, is_exact = w.exact(node["schema"], data)
    try:
        return getattr(shapes, node["check"])(value), is_exact
    except Exception:  # pydantic decides what the check's failure means
        raise Rejected from None


_VALIDATORS: dict[str, Callable[[_Walker, dict[str, Any], Any], tuple[Any, bool]]] = {
    "ref": _ref,
    "model": _model,
    "nullable": _nullable,
    "str": _str,
    "int": _int,
    "float": _float,
    "bool": _bool,
    "none": _none,
    "any": _any,
    "date": _date,
    "literal": _literal,
    "list": _list,
    "dict": _dict,
    "tagged": _tagged,
    "union": _union,
    "after": _after,
}
