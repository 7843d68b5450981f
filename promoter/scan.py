"""Find plaintext secrets before they enter git history.

SECRET001: a literal value at a secret field (``password``, ``clientSecret``; and
``clientId`` for staging and production) in an overlay, base or pin.
SECRET002: a high-entropy string in an overlay or promoter.yaml.
SECRET003: a file of a staging or production secret store that git tracks or
stages (unless promoter.yaml lists it under ``scan.examples``).

A finding names file:line and a fingerprint (an HMAC keyed by the file path,
never a plain hash) that ``scan.allow`` can list with a reason. It never shows
the value.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from promoter.errors import Location, PromoterError
from promoter.findings import Finding
from promoter.project import PROJECT_FILE, Project
from promoter.yamlfile import Doc, escape, parse_yaml

SECRET_KEYS = frozenset({"password", "clientSecret"})
_UUID = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")
_PLACEHOLDER = re.compile(r"&\{[^}]+\}")
_NOT_SECRETS = re.compile(r"://|@|\s|^[./~]|^[A-Za-z]+([._-][A-Za-z]+)*$")
Reader = Callable[[str], str]


def fingerprint(path: str, value: str) -> str:
    digest = hmac.new(f"promoter-scan:{path}".encode(), value.encode(), hashlib.sha256)
    return "fp:" + digest.hexdigest()[:16]


def entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def looks_random(text: str) -> bool:
    if len(text) < 20 or _UUID.match(text) or _NOT_SECRETS.search(text):
        return False
    if _PLACEHOLDER.search(text):
        return False
    has_digit = any(c.isdigit() for c in text)
    has_alpha = any(c.isalpha() for c in text)
    return has_digit and has_alpha and entropy(text) >= 3.5


def scan(project: Project, paths: list[str], read: Reader, tracked: set[str]) -> list[Finding]:
    """Scan ``paths`` (repo-relative); ``tracked`` are those git tracks or stages."""
    from dataclasses import replace

    allowed = dict(project.scan_allow)
    findings: list[Finding] = []
    for path in sorted(set(paths)):
        for finding, fp in _scan_one(project, path, read, tracked):
            reason = allowed.get(fp) if fp else None
            findings.append(finding if reason is None else replace(finding, waived=reason))
    return findings


def _scan_one(
    project: Project, path: str, read: Reader, tracked: set[str]
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
    is_overlay = path.startswith("environments/") and path.endswith((".yaml", ".yml"))
    if not is_overlay and path != PROJECT_FILE:
        return
    try:
        doc = parse_yaml(read(path), path)
    except PromoterError:
        return  # `check` reports files that do not parse
    strict_ids = is_overlay and _tier_of(project, path) in ("staging", "production")
    for pointer, key, value in _strings(doc.data, ""):
        secret_field = is_overlay and (key in SECRET_KEYS or (strict_ids and key == "clientId"))
        if secret_field and value and not _PLACEHOLDER.fullmatch(value.strip()):
            yield _finding(
                "SECRET001",
                path,
                pointer,
                doc,
                value,
                f"plaintext secret: a literal value at {pointer[1:].replace('/', '.')}",
            )
        elif looks_random(value):
            yield _finding(
                "SECRET002",
                path,
                pointer,
                doc,
                value,
                "high-entropy string: looks like a credential",
            )


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


def _strings(data: Any, pointer: str) -> Iterator[tuple[str, str, str]]:
    if isinstance(data, dict):
        if "$purpose" in data or "$crypto" in data:
            return
        for key, value in data.items():
            child = f"{pointer}/{escape(key)}"
            if isinstance(value, str):
                yield child, key, value
            else:
                yield from _strings(value, child)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            if isinstance(value, str):
                yield f"{pointer}/{index}", "", value
            else:
                yield from _strings(value, f"{pointer}/{index}")


def _store_of(project: Project, path: str) -> str | None:
    for name, env in project.environments.items():
        if env.tier != "development" and path.startswith(env.store.display.rstrip("/") + "/"):
            return name
    return None


def _tier_of(project: Project, path: str) -> str | None:
    name = Path(path).name.split(".")[0]
    env = project.environments.get(name)
    return env.tier if env else None


def _is_example(project: Project, path: str) -> bool:
    return any(path == e or path.startswith(e.rstrip("/") + "/") for e in project.scan_examples)
