"""A redacted diff of two external.email configurations, value by value.

Secret values are compared but never shown: a changed secret reads
``secret changed``. Each change names the file:line that produced the new value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from promoter.compile.overlay import SMTP_PROPERTIES
from promoter.compile.render import LITERAL_SECRET_POINTERS
from promoter.errors import Location
from promoter.pointer import escape
from promoter.untrusted import escape_control

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
    elif _is_reference(data):
        out[prefix] = data  # a $purpose kept for IDM: one value, and no secret
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
    old_secret_pointers: Iterable[str] | None = None,
    labels: dict[str, str] | None = None,
    locate: Callable[[str], Location | None] = lambda _: None,
    skip_secrets: bool = False,
) -> list[Change]:
    """Changes from ``old`` to ``new`` (either may be None: nothing).

    Each side is masked by its own secret pointers: ``old_secret_pointers`` are
    those the old side was compiled with (default: the same as the new side's).
    A pointer masks everything below it (a whole secret JSON object).
    """
    before, after = flatten(old or {}), flatten(new or {})
    secret_new = set(secret_pointers) | set(LITERAL_SECRET_POINTERS)
    secret_old = secret_new if old_secret_pointers is None else set(old_secret_pointers)
    secret_old |= set(LITERAL_SECRET_POINTERS)
    labels = labels or {}
    changes = []
    for pointer in sorted(before.keys() | after.keys()):
        a, b = before.get(pointer, _MISSING), after.get(pointer, _MISSING)
        hide_old = a is not _MISSING and _masked(pointer, a, secret_old)
        hide_new = b is not _MISSING and _masked(pointer, b, secret_new)
        if (hide_old or hide_new) and skip_secrets:
            continue
        if a == b:
            continue
        kind = "+" if a is _MISSING else "-" if b is _MISSING else "~"
        shown_old = None if a is _MISSING else "<secret>" if hide_old else _show(a)
        if b is _MISSING:
            shown_new = None
        elif hide_new:
            shown_new = labels.get(pointer, "<secret>") + (" changed" if kind == "~" else "")
        else:
            shown_new = _show(b)
        changes.append(Change(kind, pointer, shown_old, shown_new, locate(pointer)))
    return changes


def _masked(pointer: str, value: Any, secret: set[str]) -> bool:
    if value == ENCRYPTED:
        return True
    if _is_reference(value):
        return False
    return any(pointer == s or pointer.startswith(s + "/") for s in secret)


def _is_reference(value: Any) -> bool:
    return isinstance(value, dict) and "$purpose" in value


class _Missing:
    pass


_MISSING: Any = _Missing()


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def render(changes: list[Change], *, redact: Iterable[str] = ()) -> str:
    """Text lines, control characters escaped.

    Secrets are masked by pointer when the changes are built. ``redact`` is a last safety
    net applied to whole values only: a shown value that is, or holds as a leaf, one of
    these strings is replaced by ``<redacted>``. Never by substring: a password
    ``staging`` must not turn ``environments/staging.yaml`` into ``<redacted>.yaml``.
    """

    secrets = {v for v in redact if v}
    lines = []
    for c in changes:
        old, new = net(c.old, secrets), net(c.new, secrets)
        if c.kind == "+":
            text = f"  + {c.pointer}: {new}"
        elif c.kind == "-":
            text = f"  - {c.pointer}: {old}"
        else:
            text = f"  ~ {c.pointer}: {old} → {new}"
        if c.location is not None and c.kind != "-":
            text += f"   ({c.location})"
        lines.append(escape_control(text))
    return "\n".join(lines) + ("\n" if lines else "")


def net(shown: str | None, secrets: set[str]) -> str | None:
    """``shown`` (a value's JSON text), or ``<redacted>`` when it holds a secret value whole."""
    if shown is None or not secrets:
        return shown
    try:
        value: Any = json.loads(shown)
    except ValueError:  # a label such as <secret ...>: not a value
        return shown
    return "<redacted>" if _leaves(value) & secrets else shown


def _leaves(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_leaves(v) for v in value.values()), set(value))
    if isinstance(value, list):
        return set().union(*(_leaves(v) for v in value))
    return set()
