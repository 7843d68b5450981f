"""Resolve ``$purpose`` references and check ``&{esv.*}`` placeholders.

Returns the data with references replaced by their values, the list of values
resolved (so every output path can mask them), and the references that did not
resolve (the gates turn those into EMAIL009 findings).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from promoter.compile.secretstore import SecretLookupError, SecretStore, check_purpose_name
from promoter.model.placeholders import kind, normalise_esv, placeholders
from promoter.pointer import escape


@dataclass(frozen=True, slots=True)
class Resolved:
    pointer: str
    purpose: str
    json_pointer: str | None
    version: int | None
    value: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Unresolved:
    pointer: str
    message: str
    hint: str | None
    store_missing: bool
    check: str = "EMAIL009"  # EMAIL009/property: an IDM property (warn)


@dataclass(slots=True)
class Resolution:
    data: Any
    resolved: list[Resolved] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)


def resolve(
    data: Any,
    store: SecretStore,
    *,
    declared_esvs: Collection[str],
    declared_properties: Collection[str] = (),
) -> Resolution:
    result = Resolution(data=None)
    declared = _Declared(declared_esvs, declared_properties)
    result.data = _walk(data, "", store, declared, result)
    return result


@dataclass(frozen=True, slots=True)
class _Declared:
    esvs: Collection[str]
    properties: Collection[str]


def purposes(data: Any, pointer: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every ``$purpose`` reference in ``data`` with its pointer."""
    if isinstance(data, dict):
        spec = data.get("$purpose")
        if isinstance(spec, dict):
            yield pointer, spec
            return
        for key, value in data.items():
            yield from purposes(value, f"{pointer}/{escape(key)}")
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from purposes(value, f"{pointer}/{index}")


def _walk(
    value: Any, pointer: str, store: SecretStore, declared: _Declared, out: Resolution
) -> Any:
    if isinstance(value, dict):
        spec = value.get("$purpose")
        if isinstance(spec, dict):
            return _resolve_one(value, spec, pointer, store, out)
        return {
            k: _walk(v, f"{pointer}/{escape(k)}", store, declared, out) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_walk(v, f"{pointer}/{i}", store, declared, out) for i, v in enumerate(value)]
    if isinstance(value, str):
        for name, default in placeholders(value):
            found = _undeclared(name, default, declared)
            if found is not None:
                message, hint, check = found
                out.unresolved.append(Unresolved(pointer, message, hint, False, check))
    return value


def _undeclared(name: str, default: str | None, declared: _Declared) -> tuple[str, str, str] | None:
    """(message, hint, check) for a placeholder the environment lacks."""
    where = kind(name)
    if where == "esv" and normalise_esv(name) not in declared.esvs:
        return (
            f"placeholder &{{{name}}} is not declared for this environment",
            "list it under 'esvs' for the environment in promoter.yaml",
            "EMAIL009",
        )
    if where == "property" and default is None and name not in declared.properties:
        return (
            f"placeholder &{{{name}}} is an IDM property this environment does not declare: "
            "IDM keeps it literally and the first send fails",
            "list it under 'properties' for the environment in promoter.yaml, "
            f"or give it a default: &{{{name}|...}}",
            "EMAIL009/property",
        )
    return None


def not_provisioned(purpose: str, store: str) -> tuple[str, str]:
    """(message, hint) for a reference into a store this machine does not hold."""
    return (
        f"secret '{purpose}' is not here: secret store {store}/ is not provisioned on this "
        "machine (missing, empty, or only a README)",
        f"provision {store}/ (see its README.md): deliver, promote --apply, watch "
        "and --require-secrets need it",
    )


def _resolve_one(
    original: dict[str, Any],
    spec: dict[str, Any],
    pointer: str,
    store: SecretStore,
    out: Resolution,
) -> Any:
    name = str(spec.get("name", ""))
    json_pointer = spec.get("jsonPointer")
    try:
        check_purpose_name(name)
    except SecretLookupError as exc:
        out.unresolved.append(Unresolved(pointer, str(exc), exc.hint, store_missing=False))
        return original
    try:
        value, secret = store.lookup(name, json_pointer)
    except SecretLookupError as exc:
        if store.provisioned():
            out.unresolved.append(Unresolved(pointer, str(exc), exc.hint, store_missing=False))
        else:
            message, hint = not_provisioned(name, store.spec.display)
            out.unresolved.append(Unresolved(pointer, message, hint, store_missing=True))
        return original
    out.resolved.append(Resolved(pointer, name, json_pointer, secret.version, value))
    return value
