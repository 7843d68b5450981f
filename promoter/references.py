"""Resolve ``$purpose`` references and check ``&{esv.*}`` placeholders.

Returns the data with references replaced by their values, the list of values
resolved (so every output path can mask them), and the references that did not
resolve (the gates turn those into EMAIL009 findings).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from promoter.model import ESV_PATTERN
from promoter.secretstore import SecretLookupError, SecretStore, check_purpose_name
from promoter.yamlfile import escape


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


@dataclass(slots=True)
class Resolution:
    data: Any
    resolved: list[Resolved] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)


def resolve(data: Any, store: SecretStore, *, declared_esvs: Collection[str]) -> Resolution:
    result = Resolution(data=None)
    result.data = _walk(data, "", store, declared_esvs, result)
    return result


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


def normalise_esv(name: str) -> str:
    """``esv-email-password`` (the ESV's name) and ``esv.email.password`` are one ESV."""
    return name.strip().lower().replace("-", ".")


def _walk(
    value: Any, pointer: str, store: SecretStore, esvs: Collection[str], out: Resolution
) -> Any:
    if isinstance(value, dict):
        spec = value.get("$purpose")
        if isinstance(spec, dict):
            return _resolve_one(value, spec, pointer, store, out)
        return {k: _walk(v, f"{pointer}/{escape(k)}", store, esvs, out) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, f"{pointer}/{i}", store, esvs, out) for i, v in enumerate(value)]
    if isinstance(value, str) and "&{" in value:
        for match in ESV_PATTERN.finditer(value):
            name = match.group(1)
            if name.startswith("esv.") and normalise_esv(name) not in esvs:
                out.unresolved.append(
                    Unresolved(
                        pointer,
                        f"placeholder &{{{name}}} is not declared for this environment",
                        "list it under 'esvs' for the environment in promoter.yaml",
                        store_missing=False,
                    )
                )
    return value


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
        missing = not store.exists()
        out.unresolved.append(Unresolved(pointer, str(exc), exc.hint, store_missing=missing))
        return original
    out.resolved.append(Resolved(pointer, name, json_pointer, secret.version, value))
    return value
