"""Find plaintext secrets before they enter git history.

SECRET001: a literal value at a secret field (``password``, ``clientSecret``; and
``clientId`` for staging and production) in an overlay, base or pin.
SECRET002: a credential-shaped string in an overlay, promoter.yaml or a JSON/YAML file
named on the command line (heuristics: ``secretlike``).
SECRET003: a file of a staging or production secret store that git tracks or
stages (unless promoter.yaml lists it under ``scan.examples``).

A finding names file:line and a fingerprint (an HMAC keyed by the file path,
never a plain hash) that ``scan.allow`` can list with a reason. It never shows
the value.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from promoter.errors import Location, PromoterError
from promoter.files.yamlfile import Doc, parse_yaml
from promoter.findings import Finding
from promoter.model.placeholders import plaintext_in
from promoter.pointer import escape
from promoter.project.types import PROJECT_FILE, Project
from promoter.scan.secretlike import looks_like_secret
from promoter.secretnames import is_secret_key

CONFIG_SUFFIXES = (".json", ".yaml", ".yml")
_PROPERTY_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_.-]*)\s*=(.*)$", re.DOTALL)
Reader = Callable[[str], str]


def fingerprint(path: str, value: str) -> str:
    digest = hmac.new(f"promoter-scan:{path}".encode(), value.encode(), hashlib.sha256)
    return "fp:" + digest.hexdigest()[:16]


def kind(project: Project, path: str, *, explicit: bool = False) -> str | None:
    """What ``scan`` makes of a repo-relative path: store, overlay, project, config or None.

    ``config`` is any other JSON/YAML file, scanned only when named explicitly.
    """
    if _store_of(project, path) is not None:
        return "store"
    if path == PROJECT_FILE:
        return "project"
    if path in project_inputs(project):
        return "overlay"
    if path.startswith("environments/") and path.endswith((".yaml", ".yml")):
        return "overlay"
    if explicit and path.lower().endswith(CONFIG_SUFFIXES):
        return "config"
    return None


def scan(
    project: Project,
    paths: list[str],
    read: Reader,
    tracked: set[str],
    *,
    explicit: Collection[str] = (),
) -> list[Finding]:
    """Scan ``paths`` (repo-relative); ``tracked`` are those git tracks or stages.

    ``explicit``: paths the user named; any JSON/YAML among them is scanned too.
    """

    allowed = dict(project.scan_allow)
    findings: list[Finding] = []
    for path in sorted(set(paths)):
        what = kind(project, path, explicit=path in explicit)
        for finding, fp in _scan_one(project, path, what, read, tracked):
            reason = allowed.get(fp) if fp else None
            findings.append(finding if reason is None else replace(finding, waived=reason))
    return findings


def _scan_one(
    project: Project, path: str, what: str | None, read: Reader, tracked: set[str]
) -> Iterator[tuple[Finding, str | None]]:
    store_env = _store_of(project, path)
    if store_env is not None:
        if path in tracked and not _is_example(project, path):
            tier = project.environments[store_env].tier
            yield (
                Finding(
                    "SECRET003",
                    "deny",
                    store_env,
                    "",
                    Location(path),
                    f"a {tier} secret store file is tracked by git",
                    "keep stores out of git (mount them), or list fake ones under scan.examples",
                ),
                None,
            )
        return
    if what is None:
        return
    is_overlay = what == "overlay"
    secret_fields = what in ("overlay", "config", "project")
    try:
        doc = _parse(read(path), path)
    except PromoterError:
        if what == "config":
            raise  # named on the command line: say it cannot be read
        return  # `check` reports files that do not parse
    strict_ids = is_overlay and _tier_of(project, path) in ("staging", "production")
    for pointer, key, value in _strings(doc.data, ""):
        named = is_secret_key(key) or (strict_ids and key == "clientId")
        prop = _PROPERTY_LINE.match(value)  # "mail.smtp.proxy.password=..." (IDM's list form)
        if secret_fields and prop and is_secret_key(prop.group(1)):
            named, value = True, prop.group(2)
        literal = _literal_in_secret_field(value) if secret_fields and named else None
        if literal:
            yield _finding(
                "SECRET001",
                path,
                pointer,
                doc,
                value,
                f"plaintext secret: {literal} at {pointer[1:].replace('/', '.')}",
            )
        elif looks_like_secret(value, key):
            yield _finding(
                "SECRET002",
                path,
                pointer,
                doc,
                value,
                "high-entropy string: looks like a credential",
            )


_SAID = {"literal": "a literal value", "default": "a literal default inside the placeholder"}


def _literal_in_secret_field(value: str) -> str | None:
    """What makes a secret field's value plaintext, or None: a key that names a credential
    holds one whatever the value looks like (``@``, spaces), and a placeholder's
    ``|default`` is as plain as a literal (as ``check``'s EMAIL002 says)."""
    plain = plaintext_in(value) if value.strip() else None
    return _SAID.get(plain) if plain else None


def _parse(text: str, path: str) -> Doc:
    """YAML (which gives line numbers), or a JSON file's text with its tabs made spaces.

    Valid JSON holds a tab only as whitespace between tokens, where YAML refuses it.
    """
    try:
        return parse_yaml(text, path)
    except PromoterError as exc:
        if not path.lower().endswith(".json"):
            raise
        try:
            json.loads(text)
        except (ValueError, RecursionError):
            raise exc from None  # the YAML error: it has a line and column
        return parse_yaml(text.replace("\t", " "), path)


def _finding(
    rule: str, path: str, pointer: str, doc: Doc, value: str, message: str
) -> tuple[Finding, str]:
    fp = fingerprint(path, value)
    return Finding(
        rule,
        "deny",
        "scan",
        pointer,
        doc.loc(pointer),
        message,
        f"use a $purpose reference; if it is not a secret, allowlist fingerprint {fp} "
        "with a reason under scan.allow",
    ), fp


def _strings(data: Any, pointer: str, parent: str = "") -> Iterator[tuple[str, str, str]]:
    """(pointer, key, string) for every string; a list's items carry the list's key."""
    if isinstance(data, dict):
        if "$purpose" in data or "$crypto" in data:
            return
        for key, value in data.items():
            child = f"{pointer}/{escape(key)}"
            if isinstance(value, str):
                yield child, key, value
            else:
                yield from _strings(value, child, key)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            if isinstance(value, str):
                yield f"{pointer}/{index}", parent, value
            else:
                yield from _strings(value, f"{pointer}/{index}", parent)


STORE_NOTES = frozenset({"README.md", "README", ".gitkeep", ".gitignore"})


def _store_of(project: Project, path: str) -> str | None:
    if path.rsplit("/", 1)[-1] in STORE_NOTES:
        return None  # a store's own notes are not secrets (``promoter init`` writes a README)
    stores = _paths(project).stores
    folder = path
    while "/" in folder:  # each folder the path is in, nearest first
        folder = folder.rsplit("/", 1)[0]
        if folder in stores:
            return stores[folder]
    return None


def project_inputs(project: Project) -> dict[str, str | None]:
    """What the project reads, wherever promoter.yaml puts it: every overlay (-> its
    environment) and the base (-> None), by repo-relative path."""
    return _paths(project).inputs


@dataclass(frozen=True, slots=True)
class _Paths:
    """Where a project's files are, by repo-relative path: built once per project, not
    once per file scanned (a scan of a thousand environments looks up thousands of paths)."""

    stores: dict[str, str]  # a staging or production store's folder -> its environment
    inputs: dict[str, str | None]  # an overlay -> its environment; the base -> None


_last: tuple[Project, _Paths] | None = None


def _paths(project: Project) -> _Paths:
    global _last
    if _last is None or _last[0] is not project:
        stores: dict[str, str] = {}
        for name, env in project.environments.items():
            if env.tier != "development":
                stores.setdefault(env.store.display.rstrip("/"), name)
        inputs: dict[str, str | None] = {
            env.overlay_display: env.name for env in project.environments.values()
        }
        if project.base is not None:
            inputs[project.base_display] = None
        _last = (project, _Paths(stores, inputs))
    return _last[1]


def _tier_of(project: Project, path: str) -> str | None:
    name = project_inputs(project).get(path) or Path(path).name.split(".")[0]
    env = project.environments.get(name)
    return env.tier if env else None


def _is_example(project: Project, path: str) -> bool:
    return any(path == e or path.startswith(e.rstrip("/") + "/") for e in project.scan_examples)
