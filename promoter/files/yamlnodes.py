"""ruamel's node tree turned into plain data plus the location of every value (YAML 1.2 scalars)."""

from __future__ import annotations

import math
from typing import Any

from promoter.errors import InputError, Location
from promoter.pointer import escape

MAX_INT_CHARS = 100
MAX_NODES = 10_000  # after alias expansion: stops "billion laughs" documents
MAX_DEPTH = 64  # external.email is a few levels deep; this stops recursion bombs
_TAG = "tag:yaml.org,2002:"


class NodeBuilder:
    def __init__(self, display: str, locs: dict[str, Location]) -> None:
        self.display = display
        self.locs = locs
        self.count = 0
        self.active: set[int] = set()

    def where(self, node: Any) -> Location:
        mark = node.start_mark
        return Location(self.display, mark.line + 1, mark.column + 1)

    def fail(self, node: Any, message: str, hint: str | None = None) -> InputError:
        return InputError(message, location=self.where(node), hint=hint)

    def build(self, node: Any, pointer: str) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            # An alias node carries its anchor's position; the key being built shows the use.
            top = "/" + pointer.split("/")[1] if pointer else ""
            raise InputError(
                "YAML aliases expand beyond 10,000 values",
                location=self.locs.get(top) or self.where(node),
                hint="write the values out instead of nesting anchors",
            )
        if id(node) in self.active:
            raise self.fail(node, "recursive YAML alias")
        kind = node.id
        if kind == "scalar":
            return self.scalar(node)
        if len(self.active) >= MAX_DEPTH:
            raise self.fail(node, f"YAML nested deeper than {MAX_DEPTH} levels")
        if node.tag != _TAG + ("map" if kind == "mapping" else "seq"):
            raise self.fail(node, f"unsupported YAML tag '{_short(node.tag)}'")
        self.active.add(id(node))
        try:
            if kind == "mapping":
                return self.mapping(node, pointer)
            return self.sequence(node, pointer)
        finally:
            self.active.discard(id(node))

    def mapping(self, node: Any, pointer: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                raise self.fail(key_node, "YAML merge keys ('<<') are not supported")
            if key_node.id != "scalar" or key_node.tag == _TAG + "null":
                raise self.fail(key_node, "mapping keys must be strings")
            key = str(key_node.value)
            if key in out:
                first = self.locs.get(f"{pointer}/{escape(key)}")
                raise self.fail(
                    key_node,
                    f"duplicate key '{key}'",
                    f"first defined at line {first.line}" if first else None,
                )
            child = f"{pointer}/{escape(key)}"
            self.locs[child] = self.where(key_node)
            out[key] = self.build(value_node, child)
        return out

    def sequence(self, node: Any, pointer: str) -> list[Any]:
        out = []
        for index, item in enumerate(node.value):
            child = f"{pointer}/{index}"
            self.locs[child] = self.where(item)
            out.append(self.build(item, child))
        return out

    def scalar(self, node: Any) -> Any:
        tag, value = node.tag, node.value
        if not tag.startswith(_TAG):
            raise self.fail(node, f"unsupported YAML tag '{_short(tag)}'")
        kind = tag[len(_TAG) :]
        if kind in ("str", "timestamp"):
            return value
        if kind == "null":
            return None
        if kind == "bool":
            return value.lower() == "true"
        if kind == "int":
            if len(value) > MAX_INT_CHARS:  # int() refuses > 4300 digits; none is meaningful
                raise self.fail(node, f"integer with more than {MAX_INT_CHARS} digits")
            return _to_int(value)
        if kind == "float":
            number = _to_float(value)
            if not math.isfinite(number):  # JSON has no NaN or Infinity (1e999 is inf)
                raise self.fail(node, f"'{value[:40]}' is not a finite number", "use a number")
            return number
        raise self.fail(node, f"unsupported YAML tag '!!{kind}'")


def _short(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag


def _to_int(text: str) -> int:
    digits = text.replace("_", "")
    try:
        return int(digits, 0)
    except ValueError:
        return int(digits, 10)


def _to_float(text: str) -> float:
    lowered = text.replace("_", "").lower()
    if lowered.endswith(".inf"):
        return -math.inf if lowered.startswith("-") else math.inf
    if lowered.endswith(".nan"):
        return math.nan
    return float(lowered)
