"""Write plain data as YAML a person reads: block style, short values in flow, safe quoting."""

from __future__ import annotations

import json
import re
from typing import Any

from promoter.compile.overlay import is_atomic

_PLAIN = re.compile(r"^[A-Za-z_$][A-Za-z0-9_.$@/+-]*$")


_SURROGATE = re.compile("[\ud800-\udfff]")


_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


def to_yaml(data: dict[str, Any], indent: int = 0) -> str:
    """Block YAML that promoter's loader reads back as exactly ``data``."""
    lines: list[str] = []
    pad = " " * indent
    for key, value in data.items():
        name = _scalar(key)
        if isinstance(value, dict) and value and not (is_atomic(value) and _short(value)):
            lines.append(f"{pad}{name}:\n{to_yaml(value, indent + 2)}")
        elif isinstance(value, list) and value:
            items = "".join(f"{pad}  - {_flow(item)}\n" for item in value)
            lines.append(f"{pad}{name}:\n{items}")
        else:
            lines.append(f"{pad}{name}: {_flow(value)}\n")
    return "".join(lines)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _short(value: Any) -> bool:
    return len(_flow(value)) <= 90


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _scalar(value)


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        if _PLAIN.fullmatch(value) and value.lower() not in _RESERVED:
            return value
        return "".join(
            c if c.isprintable() else _escape(c) for c in json.dumps(value, ensure_ascii=False)
        )
    if value is None:
        return "null"
    return json.dumps(value)
