"""Merge overlays (base, then the environment's) keeping each value's provenance.

Mappings merge key by key, a key set to ``null`` is deleted, lists and scalars
replace. ``{"$purpose": ...}`` and ``{"$crypto": ...}`` objects are values, not
mappings to merge. ``smtpProperties`` may be a mapping (merged by key) or IDM's
list of ``"key=value"`` strings (replaces); it is held as a mapping until render.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from promoter.errors import InputError, Location, RefusedError
from promoter.files.yamlfile import Doc
from promoter.pointer import escape

SMTP_PROPERTIES = "smtpProperties"
_ATOMIC_KEYS = ("$purpose", "$crypto")


class _ListProperties(dict[str, Any]):
    """smtpProperties authored as a list: replaces rather than merges."""


def compose(docs: Sequence[Doc]) -> Doc:
    """Merge ``docs`` in order (later wins) into one document."""
    result = Doc(data={}, file=docs[-1].file if docs else "")
    for doc in docs:
        result = merge(result, _normalised(doc))
    return result


def merge(base: Doc, over: Doc) -> Doc:
    replaced: list[str] = []
    deleted: list[str] = []
    data = _merge(base.data, over.data, "", replaced, deleted)
    locs = {p: loc for p, loc in base.locs.items() if not _under(p, replaced)}
    locs.update((p, loc) for p, loc in over.locs.items() if not _under(p, deleted))
    return Doc(data=data, locs=locs, file=over.file)


def _under(pointer: str, prefixes: list[str]) -> bool:
    return any(pointer == p or pointer.startswith(p + "/") for p in prefixes)


def is_atomic(value: Any) -> bool:
    return isinstance(value, dict) and any(key in value for key in _ATOMIC_KEYS)


def _merge(
    dst: dict[str, Any], src: dict[str, Any], ptr: str, replaced: list[str], deleted: list[str]
) -> dict[str, Any]:
    out = dict(dst)
    for key, value in src.items():
        pointer = f"{ptr}/{escape(key)}"
        old = out.get(key)
        if value is None:
            deleted.append(pointer)
            if key in out:
                del out[key]
                replaced.append(pointer)
        elif isinstance(old, dict) and _mergeable(old) and _mergeable(value):
            out[key] = _merge(old, value, pointer, replaced, deleted)
        else:
            if key in out:
                replaced.append(pointer)
            out[key] = _fresh(value, pointer, deleted)
    return out


def _fresh(value: Any, pointer: str, deleted: list[str]) -> Any:
    """A value that replaces: plain dict for list-form properties, nulls dropped."""
    if isinstance(value, _ListProperties):
        return dict(value)
    return _merge({}, value, pointer, [], deleted) if _mergeable(value) else value


def _mergeable(value: Any) -> bool:
    return (
        isinstance(value, dict) and not is_atomic(value) and not isinstance(value, _ListProperties)
    )


def _normalised(doc: Doc) -> Doc:
    """Check the overlay is a mapping and bring smtpProperties to mapping form."""
    if doc.data is None:
        return Doc(data={}, locs=doc.locs, file=doc.file)
    if not isinstance(doc.data, dict):
        raise InputError(
            "an overlay must be a mapping of external.email properties",
            location=Location(doc.file, 1, 1),
        )
    props = doc.data.get(SMTP_PROPERTIES)
    if props is None:
        return doc
    data = dict(doc.data)
    locs = dict(doc.locs)
    base = f"/{SMTP_PROPERTIES}"
    if isinstance(props, list):
        data[SMTP_PROPERTIES] = _from_list(props, doc, locs)
    elif isinstance(props, dict):
        data[SMTP_PROPERTIES] = {
            _property_key(key, doc.loc(f"{base}/{escape(str(key))}")): _property_value(
                value, doc.loc(f"{base}/{escape(str(key))}")
            )
            for key, value in props.items()
        }
    else:
        raise RefusedError(
            "smtpProperties must be a mapping or a list of 'key=value' strings",
            location=doc.loc(base),
        )
    return Doc(data=data, locs=locs, file=doc.file)


def _from_list(items: list[Any], doc: Doc, locs: dict[str, Location]) -> _ListProperties:
    out = _ListProperties()
    base = f"/{SMTP_PROPERTIES}"
    for index, item in enumerate(items):
        loc = doc.loc(f"{base}/{index}")
        locs.pop(f"{base}/{index}", None)
        if not isinstance(item, str) or "=" not in item:
            raise RefusedError(
                "smtpProperties items must be 'key=value' strings",
                location=loc,
                hint="or write smtpProperties as a mapping: 'mail.smtp.ssl.protocols: TLSv1.2'",
            )
        key, _, value = item.partition("=")
        key = _property_key(key.strip(), loc)
        if key in out:
            raise RefusedError(f"smtpProperties sets '{key}' twice", location=loc)
        out[key] = value.strip()
        locs[f"{base}/{escape(key)}"] = loc
    return out


def _property_key(key: Any, loc: Location) -> str:
    """A key IDM reads back as written: ``key=value`` splits at the first ``=``."""
    if not isinstance(key, str) or not key:
        raise RefusedError("smtpProperties keys must be non-empty strings", location=loc)
    if "=" in key:
        raise RefusedError(
            "an smtpProperties key may not contain '=': IDM splits 'key=value' at the first '='",
            location=loc,
            hint=f"write the key and its value separately: '{key.partition('=')[0]}: ...'",
        )
    if key != key.strip() or any(ord(c) < 32 or ord(c) == 127 for c in key):
        raise RefusedError(
            "an smtpProperties key may not hold spaces at its ends or control characters",
            location=loc,
        )
    return key


def _property_value(value: Any, loc: Location) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        text = str(value)
        if any(c in text for c in "\r\n\0"):
            raise RefusedError(
                "an smtpProperties value may not hold a line break or NUL", location=loc
            )
        return text
    raise RefusedError("smtpProperties values must be scalars", location=loc)


def read_back(rendered: Any) -> dict[str, str]:
    """smtpProperties as IDM reads the rendered list: split at the first '=', trimmed."""
    if not isinstance(rendered, list):
        return {}
    out: dict[str, str] = {}
    for item in rendered:
        key, _, value = str(item).partition("=")
        out[key.strip()] = value.strip()
    return out
