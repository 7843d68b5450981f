"""JSON Schemas generated from the pydantic models (never written by hand).

- ``external.email.schema.json``: a compiled file, as IDM reads it.
- ``overlay.schema.json``: one overlay (every property optional, ``null`` deletes,
  smtpProperties as a mapping or a list).
- ``promoter.schema.json``: promoter.yaml.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from promoter.files.atomic import write_atomic

SCHEMA_DIR = "schemas"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
_PROPERTY_LIST = {
    "type": "array",
    "items": {"type": "string", "pattern": "^[^=]+=.*$"},
    "description": "JavaMail properties as 'key=value' strings",
}

_PROPERTY_MAP = {
    "type": "object",
    "additionalProperties": {"type": ["string", "boolean", "number", "null"]},
    "description": "JavaMail properties as a mapping; merged by key, null deletes",
}


def generate() -> dict[str, dict[str, Any]]:
    from pydantic import TypeAdapter  # lazy: pydantic only for the commands that use it

    from promoter.model.email import EmailConfig  # lazy: loads pydantic, which check does not need

    # lazy: loads pydantic, which check does not need
    from promoter.model.settings import ProjectSettings

    email = TypeAdapter(EmailConfig).json_schema(by_alias=True)
    output = _with_properties(email, _PROPERTY_LIST)
    overlay = _partial(_with_properties(email, {"anyOf": [_PROPERTY_MAP, _PROPERTY_LIST]}))
    project = TypeAdapter(ProjectSettings).json_schema(by_alias=True)
    return {
        "external.email.schema.json": _header(output, "IDM external.email.json"),
        "overlay.schema.json": _header(overlay, "promoter overlay (environments/*.yaml)"),
        "promoter.schema.json": _header(project, "promoter.yaml"),
    }


def _header(schema: dict[str, Any], title: str) -> dict[str, Any]:
    body = _whole_string({k: v for k, v in schema.items() if k != "title"})
    return {"$schema": DRAFT, "title": title, **body}


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def texts() -> dict[str, str]:
    """File name -> the text ``schemas/`` should hold."""
    return {name: render(schema) for name, schema in generate().items()}


def stale(root: Path, wanted: dict[str, str]) -> dict[str, str]:
    """The schemas under ``root`` that are missing, unreadable or out of date."""
    return {name: text for name, text in wanted.items() if _read(root / SCHEMA_DIR / name) != text}


def write(root: Path, chosen: dict[str, str]) -> list[str]:
    """Write ``chosen`` schemas under ``root``; their display paths."""
    written = []
    for name, text in chosen.items():
        display = f"{SCHEMA_DIR}/{name}"
        write_atomic(root / SCHEMA_DIR / name, text, secret=False, display=display, backup=False)
        written.append(display)
    return written


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _with_properties(schema: dict[str, Any], replacement: dict[str, Any]) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(schema))
    for name in ("SmtpConfig", "MsGraphConfig"):
        copy["$defs"][name]["properties"]["smtpProperties"] = replacement
    return copy


# Values an overlay writes whole ({$purpose: ...}, {$crypto: ...}, {$int: ...}): never
# merged key by key in practice, so they keep their required keys. Without that,
# {$purpse: ...} would pass as a $crypto value with its one key left out.
_WHOLE_VALUES = frozenset(
    {
        "PurposeRef",
        "CryptoValue",
        "IntExpr",
        "NumberExpr",
        "BoolExpr",
        "ListExpr",
        "ArrayExpr",
        "ObjectExpr",
    }
)


def _partial(schema: Any) -> Any:
    """Relax a schema for overlays: nothing required, null allowed (deletes), anyOf for oneOf.

    ``type`` takes no null: an editor would offer it as a third provider.
    """
    if isinstance(schema, list):
        return [_partial(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _partial(v) for k, v in schema.items() if k not in ("required", "default")}
    if isinstance(out.get("$defs"), dict):
        out["$defs"] = {
            name: schema["$defs"][name] if name in _WHOLE_VALUES else value
            for name, value in out["$defs"].items()
        }
    if "oneOf" in out:
        out["anyOf"] = out.pop("oneOf")
        out.pop("discriminator", None)
    if isinstance(out.get("properties"), dict):
        out["properties"] = {
            name: prop if name == "type" else {"anyOf": [prop, {"type": "null"}]}
            for name, prop in out["properties"].items()
        }
    return out  # minItems stays: lists replace, so an overlay's [] is the value


def _whole_string(schema: Any) -> Any:
    """End every anchored pattern at the very end of the text.

    JSON Schema patterns are ECMA-262, where ``$`` is the end; Python-based validators
    (jsonschema, check-jsonschema) use ``re.search``, where ``$`` also matches before a
    final newline and would let ``"587\n"`` pass as a port.
    """
    if isinstance(schema, list):
        return [_whole_string(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _whole_string(v) for k, v in schema.items()}
    pattern = out.get("pattern")
    if isinstance(pattern, str):
        out["pattern"] = _END.sub(r"$(?![\\s\\S])", pattern)
    return out


_END = re.compile(r"(?<!\\)\$(?=$|[|)])")  # an anchor: unescaped, ending a branch
