"""Read the configuration an import starts from: a file, an export directory, or a target.

Recognised shapes (each as real exports write them):
- ``external.email.json``: the object IDM serves at ``config/external.email``;
- fr-config-manager (``fr-config-pull email-provider``, ``frodo config-manager pull``):
  ``<dir>/email-provider/external.email.json``, that same object;
- frodo ``idm export`` (``-N external.email`` or ``-a``): ``{"idm": {"external.email": {...}}}``;
- frodo ``config export`` (``-a``): ``{"global": {"idm": {"external.email": {...}}}, ...}``,
  and ``-A`` (one file per object): ``<dir>/global/idm/external.email.idm.json``;
- ``idm:ENV`` / ``aic:ENV``: GET from ENV's target in promoter.yaml.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from promoter.errors import InputError, Location, TargetError
from promoter.files.safeopen import NotRegular, TooLarge, read_file
from promoter.files.yamlnodes import MAX_DEPTH
from promoter.project.load import load_project
from promoter.project.types import IdmTarget
from promoter.targets.aic import read_config
from promoter.targets.idm import IdmClient

MAX_SOURCE_BYTES = 64 * 1024 * 1024  # a frodo full export holds every script and journey
CONFIG_ID = "external.email"
# Where each kind of export directory keeps the email provider, most specific first.
DIRECTORY_LAYOUTS = (
    "email-provider/external.email.json",
    "global/idm/external.email.idm.json",
    "idm/external.email.idm.json",
    "external.email.idm.json",
    "external.email.json",
)
_MAX_DEPTH = 4  # export root, host or tenant folder, realm folder


def read_source(spec: str, root: Path) -> tuple[dict[str, Any], str]:
    """The raw configuration ``spec`` names and a label for messages."""
    kind, _, env = spec.partition(":")
    if kind in ("idm", "aic") and env and not Path(spec).exists():
        config, display = _from_target(kind, env, root), spec
    else:
        path = Path(spec)
        if path.is_dir():
            path = _in_directory(path, spec)
        display = path.as_posix()
        config = _unwrap(_load_json(path, display), display)
    if _deeper_than(config, MAX_DEPTH):  # the email config only: the rest of an export is not read
        raise _too_deep(display)
    return config, display


def _in_directory(directory: Path, display: str) -> Path:
    found: list[Path] = []
    for base, dirs, _files in os.walk(directory):
        depth = Path(base).relative_to(directory).parts
        if len(depth) >= _MAX_DEPTH:
            dirs.clear()
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for layout in DIRECTORY_LAYOUTS:
            candidate = Path(base) / layout
            if candidate.is_file() and candidate not in found:
                found.append(candidate)
                break
    if not found:
        raise InputError(
            "no email provider configuration in this directory",
            location=Location(display),
            hint="expected email-provider/external.email.json (fr-config-manager) or "
            "global/idm/external.email.idm.json (frodo config export -A)",
        )
    if len(found) > 1:
        names = ", ".join(p.as_posix() for p in found[:5])
        raise InputError(
            f"{len(found)} email provider configurations in this directory: {names}",
            location=Location(display),
            hint="import each one with its own environment: ENV=PATH",
        )
    return found[0]


def _load_json(path: Path, display: str) -> Any:

    try:
        raw = read_file(path, MAX_SOURCE_BYTES)
    except FileNotFoundError:
        raise InputError(
            "no such file or directory",
            location=Location(display),
            hint="give an external.email.json, an export directory, idm:ENV or aic:ENV",
        ) from None
    except NotRegular:
        raise InputError("not a regular file", location=Location(display)) from None
    except TooLarge:
        raise InputError("file is larger than 64 MiB", location=Location(display)) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", location=Location(display)) from None
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise InputError("not valid UTF-8", location=Location(display)) from None
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        where = Location(display, exc.lineno, exc.colno)
        raise InputError(f"invalid JSON: {exc.msg}", location=where) from None
    except _DuplicateKey as exc:
        raise InputError(
            f"invalid JSON: key '{exc.key}' appears twice", location=Location(display)
        ) from None
    except RecursionError:
        raise _too_deep(display) from None


def _too_deep(display: str) -> InputError:
    return InputError(f"JSON nested deeper than {MAX_DEPTH} levels", location=Location(display))


def _deeper_than(data: Any, limit: int) -> bool:
    """More than ``limit`` objects and arrays nested (as yamlfile counts them)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return True
            items = value.values() if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
    return False


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key[:80])
        out[key] = value
    return out


def _unwrap(data: Any, display: str) -> dict[str, Any]:
    """The email configuration inside a frodo export, or the file itself."""
    if not isinstance(data, dict):
        raise InputError("expected a JSON object", location=Location(display))
    for path in (("idm",), ("global", "idm")):
        node: Any = data
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            config = node.get(CONFIG_ID)
            if not isinstance(config, dict):
                raise InputError(
                    f"this frodo export holds no {CONFIG_ID} object",
                    location=Location(display),
                    hint=f"export it with: frodo idm export -N {CONFIG_ID}",
                )
            return config
    return data


def _from_target(kind: str, name: str, root: Path) -> dict[str, Any]:

    project = load_project(root)
    env = project.env(name)
    if kind == "aic":
        return _from_aic(env, name)
    if not isinstance(env.target, IdmTarget):
        raise InputError(
            f"idm:{name}: {name}'s target is not IDM's REST API",
            hint=f"set target: {{idm: URL, bearerEnv: VAR}} for {name} in promoter.yaml",
        )

    config = IdmClient(env.target).get_config()
    if config is None:
        raise TargetError(f"IDM at {env.target.url} holds no {CONFIG_ID} configuration (404)")
    return config


def _from_aic(env: Any, name: str) -> dict[str, Any]:

    config = read_config(env)
    if config is None:
        raise TargetError(f"aic:{name}: the tenant holds no {CONFIG_ID} configuration (404)")
    return config
