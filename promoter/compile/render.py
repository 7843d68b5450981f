"""Render a configuration as IDM reads it: canonical JSON, sha256, and a masked copy."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from promoter.compile.overlay import SMTP_PROPERTIES
from promoter.model.placeholders import placeholders, plaintext_in
from promoter.pointer import escape
from promoter.secretnames import is_secret_key

LITERAL_SECRET_POINTERS = ("/auth/password", "/auth/clientSecret", "/proxy/password")


IDM_KEYS = ("_id", "_rev")  # IDM sets them; an export holds them, the output does not


def to_idm(data: Mapping[str, Any]) -> dict[str, Any]:
    """smtpProperties as IDM's sorted list of ``key=value`` strings; no ``_id``/``_rev``."""
    out = {key: value for key, value in data.items() if key not in IDM_KEYS}
    props = out.get(SMTP_PROPERTIES)
    if isinstance(props, dict):
        out[SMTP_PROPERTIES] = [f"{key}={props[key]}" for key in sorted(props)]
    return out


def output_pointer(pointer: str, data: Mapping[str, Any]) -> str:
    """Map ``/smtpProperties/<key>`` (how values are located) to the list index IDM sees."""
    prefix = f"/{SMTP_PROPERTIES}/"
    props = data.get(SMTP_PROPERTIES)
    if not pointer.startswith(prefix) or not isinstance(props, dict):
        return pointer
    key = pointer[len(prefix) :].split("/", 1)[0]
    for index, name in enumerate(sorted(props)):
        if escape(name) == key:
            return f"{prefix}{index}"
    return pointer


def canonical_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def replace_at(data: Any, replacements: Mapping[str, Any]) -> Any:
    """A copy of ``data`` with the values at the given JSON Pointers replaced."""
    if not replacements:
        return data
    return _replace(data, "", replacements)


def _replace(value: Any, pointer: str, replacements: Mapping[str, Any]) -> Any:
    if pointer in replacements:
        return replacements[pointer]
    if isinstance(value, dict):
        return {k: _replace(v, f"{pointer}/{escape(k)}", replacements) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, f"{pointer}/{i}", replacements) for i, v in enumerate(value)]
    return value


def literal_secrets(data: Any, pointers: Iterable[str] = LITERAL_SECRET_POINTERS) -> dict[str, str]:
    """Literal (plaintext) values at secret fields (``pointers``): pointer -> value."""
    found = {}
    for pointer in pointers:
        node: Any = data
        for part in pointer.strip("/").split("/"):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, str) and plaintext_in(node) == "literal":
            found[pointer] = node  # "x&{y}" or a lone "&{" is no placeholder: a literal
    return found


def secret_properties(data: Any) -> dict[str, str]:
    """smtpProperties whose key names a secret (``mail.smtp.proxy.password``) and whose
    value is literal, or a placeholder with a default: pointer -> value."""
    props = data.get("smtpProperties") if isinstance(data, dict) else None
    found = {}
    for key, value in props.items() if isinstance(props, dict) else ():
        if not (isinstance(value, str) and value.strip() and is_secret_key(str(key))):
            continue
        if plaintext_in(value) is not None:
            found[f"/smtpProperties/{escape(str(key))}"] = value
    return found


def defaulted_secrets(data: Any) -> dict[str, str]:
    """Secret fields whose placeholder carries a ``|default``: the default is plaintext."""

    found = {}
    for pointer in LITERAL_SECRET_POINTERS:
        node: Any = data
        for part in pointer.strip("/").split("/"):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, str) and any(d for _, d in placeholders(node)):
            found[pointer] = node
    return found
