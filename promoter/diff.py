"""A redacted diff of two external.email configurations, value by value.

Secret values are compared but never shown: a changed secret reads
``secret changed``. Each change names the file:line that produced the new value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from promoter.errors import Location
from promoter.overlay import SMTP_PROPERTIES
from promoter.render import LITERAL_SECRET_POINTERS
from promoter.yamlfile import escape

ENCRYPTED = "<encrypted by IDM>"


@dataclass(frozen=True, slots=True)
class Change:
    kind: str  # "+" added, "-" removed, "~" changed
    pointer: str
    old: str | None
    new: str | None
    location: Location | None = None


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Leaf values by JSON Pointer; smtpProperties entries by key; $crypto as one leaf."""
    out: dict[str, Any] = {}
    if isinstance(data, dict) and "$crypto" in data:
        out[prefix] = ENCRYPTED
    elif isinstance(data, dict):
        for key, value in data.items():
            pointer = f"{prefix}/{escape(key)}"
            if pointer == f"/{SMTP_PROPERTIES}" and isinstance(value, list):
                value = dict(str(item).partition("=")[::2] for item in value)
            out.update(flatten(value, pointer))
    else:
        out[prefix] = data
    return out


def diff(
    old: Any,
    new: Any,
    *,
    secret_pointers: Iterable[str] = (),
    labels: dict[str, str] | None = None,
    locate: Callable[[str], Location | None] = lambda _: None,
    skip_secrets: bool = False,
) -> list[Change]:
    """Changes from ``old`` to ``new`` (either may be None: nothing)."""
    before, after = flatten(old or {}), flatten(new or {})
    secret = set(secret_pointers) | set(LITERAL_SECRET_POINTERS)
    labels = labels or {}
    changes = []
    for pointer in sorted(before.keys() | after.keys()):
        a, b = before.get(pointer, _MISSING), after.get(pointer, _MISSING)
        hidden = pointer in secret or ENCRYPTED in (a, b)
        if hidden and skip_secrets:
            continue
        if a == b:
            continue
        kind = "+" if a is _MISSING else "-" if b is _MISSING else "~"
        if hidden:
            shown_old = None if a is _MISSING else "<secret>"
            label = labels.get(pointer, "<secret>")
            shown_new = None if b is _MISSING else label + (" changed" if kind == "~" else "")
        else:
            shown_old = None if a is _MISSING else _show(a)
            shown_new = None if b is _MISSING else _show(b)
        changes.append(Change(kind, pointer, shown_old, shown_new, locate(pointer)))
    return changes


class _Missing:
    pass


_MISSING: Any = _Missing()


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def render(changes: list[Change], *, redact: Iterable[str] = ()) -> str:
    """Text lines; ``redact`` lists values that must not appear (a last safety net)."""
    lines = []
    for c in changes:
        if c.kind == "+":
            text = f"  + {c.pointer}: {c.new}"
        elif c.kind == "-":
            text = f"  - {c.pointer}: {c.old}"
        else:
            text = f"  ~ {c.pointer}: {c.old} → {c.new}"
        if c.location is not None and c.kind != "-":
            text += f"   ({c.location})"
        lines.append(text)
    out = "\n".join(lines) + ("\n" if lines else "")
    for value in redact:
        if value and len(value) >= 4:
            out = out.replace(value, "<redacted>")
    return out
