"""Plan an import: imported configurations → base.yaml, one overlay per environment, store files.

Pure functions, no I/O: ``commands/import_.py`` reads the sources, checks the plan
compiles back to what was imported, and writes it.

- ``_id``/``_rev`` are dropped (IDM sets them), and so are keys whose value is
  ``null`` (an overlay's ``null`` deletes a key; IDM reads null as absent).
- ``smtpProperties`` become a mapping (merged by key); compile writes them back
  as IDM's list, sorted by key, key and value stripped of surrounding spaces.
- Literal secrets move to the environment's store and become ``$purpose``
  references; ``$crypto`` values and ``&{...}`` placeholders stay as they are.
- With several environments, what all share goes into the base and each overlay
  holds only its differences (``key: null`` for a base key the env lacks).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from promoter.compile.overlay import SMTP_PROPERTIES, is_atomic
from promoter.compile.render import IDM_KEYS, literal_secrets, to_idm
from promoter.errors import Location, RefusedError
from promoter.importing.yamlwrite import _SURROGATE
from promoter.model.placeholders import kind, normalise_esv, placeholders
from promoter.pointer import escape

SMTP_PURPOSE = "idm.email.smtp.password"
MSGRAPH_PURPOSE = "idm.email.msgraph.credentials"
PROXY_PURPOSE = "idm.email.proxy.password"
# pointer -> (purpose, field inside a JSON-object secret or None for a plain value)
SECRET_FIELDS: dict[tuple[str, str], tuple[str, str | None]] = {
    ("auth", "password"): (SMTP_PURPOSE, None),
    ("auth", "clientId"): (MSGRAPH_PURPOSE, "clientId"),
    ("auth", "clientSecret"): (MSGRAPH_PURPOSE, "clientSecret"),
    ("proxy", "password"): (PROXY_PURPOSE, None),
}


@dataclass(frozen=True, slots=True)
class MovedSecret:
    """One literal moved to the store; ``value`` is never shown."""

    pointer: str
    purpose: str
    json_pointer: str | None
    value: str = field(repr=False)

    @property
    def reference(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"name": self.purpose}
        if self.json_pointer is not None:
            spec["jsonPointer"] = self.json_pointer
        return {"$purpose": spec}

    @property
    def label(self) -> str:
        return self.pointer.strip("/").replace("/", ".")


@dataclass(slots=True)
class Imported:
    """One environment's configuration, normalised, with its literal secrets moved out."""

    env: str
    source: str
    config: dict[str, Any]  # as overlays hold it: references in place of literals
    expected: dict[str, Any] = field(repr=False)  # what compile must give back (values in)
    moved: list[MovedSecret] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def normalise(raw: dict[str, Any], env: str, source: str) -> Imported:
    """Drop what IDM sets, bring smtpProperties to mapping form, move literal secrets."""
    notes: list[str] = []
    config = {k: v for k, v in raw.items() if k not in IDM_KEYS}
    config = _drop_nulls(config, "", notes, source)
    if SMTP_PROPERTIES in config:
        config[SMTP_PROPERTIES] = _properties(config[SMTP_PROPERTIES], source)
    _check_text(config, "", source)
    expected = to_idm(config)
    moved = ensure_plain_round_trip(_literal_secrets(config))
    for secret in moved:
        parent, key = secret.pointer.strip("/").split("/")
        config[parent] = {**config[parent], key: secret.reference}
    return Imported(env, source, config, expected, moved, notes)


def _drop_nulls(value: Any, pointer: str, notes: list[str], source: str) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            here = f"{pointer}/{escape(key)}"
            if item is None:
                notes.append(f"{source}: {here} is null; left out (IDM reads null as absent)")
                continue
            out[key] = _drop_nulls(item, here, notes, source)
        return out
    if isinstance(value, list):
        return [_drop_nulls(v, f"{pointer}/{i}", notes, source) for i, v in enumerate(value)]
    return value


def _check_text(value: Any, pointer: str, source: str) -> None:
    """A lone surrogate (``"\\ud800"`` in JSON) is no Unicode text: YAML cannot hold it."""
    texts = [value] if isinstance(value, str) else []
    if isinstance(value, dict):
        for key, item in value.items():
            texts.append(key)
            _check_text(item, f"{pointer}/{escape(key)}", source)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_text(item, f"{pointer}/{index}", source)
    if any(_SURROGATE.search(t) for t in texts):
        raise _refused(source, pointer or "/", "holds a lone UTF-16 surrogate, not text")


def _properties(value: Any, source: str) -> dict[str, str]:
    base = f"/{SMTP_PROPERTIES}"
    if isinstance(value, dict):
        return {
            key: _property_value(item, f"{base}/{escape(key)}", source)
            for key, item in value.items()
        }
    if not isinstance(value, list):
        raise _refused(source, base, "smtpProperties must be a list of 'key=value' strings")
    out: dict[str, str] = {}
    for index, item in enumerate(value):
        if not isinstance(item, str) or "=" not in item:
            raise _refused(source, f"{base}/{index}", "smtpProperties items must be 'key=value'")
        key, _, text = item.partition("=")
        if key.strip() in out:
            raise _refused(source, f"{base}/{index}", f"smtpProperties sets '{key.strip()}' twice")
        out[key.strip()] = text.strip()
    return out


def _property_value(value: Any, pointer: str, source: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value).strip()
    raise _refused(source, pointer, "smtpProperties values must be strings")


def _refused(source: str, pointer: str, message: str) -> RefusedError:

    return RefusedError(f"{pointer}: {message}; nothing written", location=Location(source))


def _literal_secrets(config: dict[str, Any]) -> list[MovedSecret]:
    """A blank value stays in the overlay: the store refuses blank content, the gates judge it."""
    fields = {f"/{parent}/{key}": target for (parent, key), target in SECRET_FIELDS.items()}
    return [
        MovedSecret(pointer, *fields[pointer], value)
        for pointer, value in literal_secrets(config, fields).items()
        if value.strip()
    ]


def placeholder_names(value: Any, *, required: bool = False) -> tuple[list[str], list[str]]:
    """The ``esv.*`` names and the IDM property names ``value``'s placeholders use.

    AIC's own ``aic.*`` names need no declaration; with ``required``, neither does a
    property used only with a default (``&{smtp.host|smtp.example.com}``), as checks judge it.
    """

    esvs: dict[str, None] = {}
    properties: dict[str, None] = {}
    stack = [value]
    while stack:
        item = stack.pop(0)
        if isinstance(item, dict):
            stack[:0] = list(item.values())
        elif isinstance(item, list):
            stack[:0] = item
        elif isinstance(item, str):
            for name, default in placeholders(item):
                if kind(name) == "esv":
                    esvs[normalise_esv(name)] = None
                elif kind(name) == "property" and not (required and default is not None):
                    properties[name] = None
    return list(esvs), list(properties)


def store_files(moved: list[MovedSecret], fmt: str) -> dict[str, str]:
    """purpose -> file content; a plain value falls back to a JSON object when it must."""
    grouped: dict[str, dict[str | None, str]] = {}
    for secret in moved:
        grouped.setdefault(secret.purpose, {})[secret.json_pointer] = secret.value
    out = {}
    for purpose, fields in grouped.items():
        if None in fields:
            text = fields[None] + "\n"
        else:
            text = json.dumps(fields, indent=2, ensure_ascii=False) + "\n"
        if fmt == "base64":
            text = base64.b64encode(text.encode("utf-8")).decode("ascii") + "\n"
        out[purpose] = text
    return out


def plain_round_trips(value: str) -> bool:
    """The store strips one trailing newline, then one carriage return."""
    return (value + "\n").removesuffix("\n").removesuffix("\r") == value


def ensure_plain_round_trip(moved: list[MovedSecret]) -> list[MovedSecret]:
    """A plain secret the store could not give back exactly goes into a JSON object."""
    return [
        MovedSecret(s.pointer, s.purpose, s.pointer.rsplit("/", 1)[1], s.value)
        if s.json_pointer is None and not plain_round_trips(s.value)
        else s
        for s in moved
    ]


def split(configs: list[dict[str, Any]]) -> dict[str, Any]:
    """The base: each value more than half of the configurations hold.

    With two environments that is what both share; with more, a value most of
    them hold goes into the base and the others override it (``null`` deletes).
    """
    out: dict[str, Any] = {}
    keys = list(dict.fromkeys(key for config in configs for key in config))
    for key in keys:
        values = [config[key] for config in configs if key in config]
        nested = [value for value in values if _mergeable(value)]
        if len(nested) * 2 > len(configs):
            out[key] = split(nested)
            continue
        best, count = None, 0
        for value in values:
            held = sum(1 for other in values if same(value, other))
            if held > count:
                best, count = value, held
        if count * 2 > len(configs):
            out[key] = best
    return out


def difference(base: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """The overlay that turns ``base`` into ``config`` under promoter's merge."""
    out: dict[str, Any] = {key: None for key in base if key not in config}
    for key, value in config.items():
        if key not in base:
            out[key] = value
        elif _mergeable(base[key]) and _mergeable(value):
            sub = difference(base[key], value)
            if sub:
                out[key] = sub
        elif not same(base[key], value):
            out[key] = value
    return out


def _mergeable(value: Any) -> bool:
    return isinstance(value, dict) and not is_atomic(value)


def same(a: Any, b: Any) -> bool:
    """Equal as JSON values: ``1``, ``1.0`` and ``true`` are three different values."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)
