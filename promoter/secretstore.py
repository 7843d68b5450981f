"""Read secrets from a filesystem store, as IDM's FileSystemStore does.

A purpose names a file in the store directory; ``versionSuffix`` (``name.v1``,
``name.v2`` …) picks the highest version; Kubernetes ``..data`` symlink mounts
work as they are. Names that escape the directory and files over 64 KiB are
refused. Error messages never contain a secret value.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

MAX_SECRET_BYTES = 64 * 1024
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")


class SecretLookupError(Exception):
    """A reference that cannot be resolved; the message names no value."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True, slots=True)
class StoreSpec:
    directory: Path
    display: str
    format: Literal["plain", "base64"] = "plain"
    version_suffix: str | None = None


@dataclass(frozen=True, slots=True)
class SecretFile:
    """The raw content of one secret; ``repr`` never shows it."""

    purpose: str
    version: int | None
    content: str = field(repr=False)


class SecretStore:
    def __init__(self, spec: StoreSpec) -> None:
        self.spec = spec
        self._cache: dict[str, SecretFile] = {}

    def exists(self) -> bool:
        return self.spec.directory.is_dir()

    def read(self, purpose: str) -> SecretFile:
        cached = self._cache.get(purpose)
        if cached is None:
            cached = self._cache[purpose] = self._read(purpose)
        return cached

    def lookup(self, purpose: str, pointer: str | None) -> tuple[str, SecretFile]:
        """The value a ``$purpose`` reference names, and the file it came from."""
        secret = self.read(purpose)
        if pointer is None:
            return secret.content, secret
        return _at_pointer(secret, pointer), secret

    def _read(self, purpose: str) -> SecretFile:
        check_purpose_name(purpose)
        if not self.exists():
            raise SecretLookupError(f"secret store {self.spec.display}/ does not exist")
        path, version = self._locate(purpose)
        real = str(path)
        if os.path.islink(path):  # a plain name can only leave the store through a link
            root = os.path.realpath(self.spec.directory)
            real = os.path.realpath(path)
            if os.path.commonpath([root, real]) != root:
                raise SecretLookupError(f"secret '{purpose}' is a link that leaves the store")
        try:
            with open(real, "rb") as handle:
                if not os.path.isfile(real):
                    raise SecretLookupError(f"secret '{purpose}' is not a regular file")
                raw = handle.read(MAX_SECRET_BYTES + 1)
        except IsADirectoryError:
            raise SecretLookupError(f"secret '{purpose}' is not a regular file") from None
        except OSError as exc:
            raise SecretLookupError(f"cannot read secret '{purpose}': {exc.strerror}") from None
        if len(raw) > MAX_SECRET_BYTES:
            raise SecretLookupError(f"secret '{purpose}' is larger than 64 KiB")
        return SecretFile(purpose, version, self._decode(purpose, raw))

    def _locate(self, purpose: str) -> tuple[Path, int | None]:
        directory = self.spec.directory
        suffix = self.spec.version_suffix
        if suffix:
            versions = _versions(directory, purpose, suffix)
            if versions:
                best = max(versions)
                return directory / f"{purpose}{suffix}{best}", best
        path = directory / purpose
        if not path.exists():
            hint = f"create {self.spec.display}/{purpose}"
            raise SecretLookupError(f"secret '{purpose}' not found in {self.spec.display}/", hint)
        return path, None

    def _decode(self, purpose: str, raw: bytes) -> str:
        if self.spec.format == "base64":
            try:
                raw = base64.b64decode(raw.strip(), validate=True)
            except (binascii.Error, ValueError):
                raise SecretLookupError(f"secret '{purpose}' is not valid base64") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise SecretLookupError(f"secret '{purpose}' is not UTF-8 text") from None
        return text.removesuffix("\n").removesuffix("\r")


def check_purpose_name(purpose: str) -> None:
    if not _SAFE_NAME.match(purpose) or ".." in purpose:
        raise SecretLookupError(
            f"purpose name '{purpose}' is not a plain file name in the store",
            "use letters, digits, '.', '_' and '-' only; no '/' or '..'",
        )


def _versions(directory: Path, purpose: str, suffix: str) -> list[int]:
    prefix = f"{purpose}{suffix}"
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return [
        int(name[len(prefix) :])
        for name in names
        if name.startswith(prefix) and name[len(prefix) :].isdigit()
    ]


def _at_pointer(secret: SecretFile, pointer: str) -> str:
    import jsonpointer

    try:
        document: Any = json.loads(secret.content)
    except ValueError:
        raise SecretLookupError(
            f"secret '{secret.purpose}' is not a JSON object, but jsonPointer is set",
            "drop jsonPointer to use the whole value, or store a JSON object",
        ) from None
    if not isinstance(document, dict):
        raise SecretLookupError(f"secret '{secret.purpose}' is not a JSON object")
    normalised = pointer if pointer.startswith("/") else f"/{pointer}"
    try:
        value = jsonpointer.resolve_pointer(document, normalised)
    except (jsonpointer.JsonPointerException, TypeError):
        keys = ", ".join(sorted(document)) or "none"
        raise SecretLookupError(
            f"jsonPointer '{pointer}' does not resolve in secret '{secret.purpose}'",
            f"fields present: {keys}",
        ) from None
    if not isinstance(value, str):
        raise SecretLookupError(
            f"jsonPointer '{pointer}' in secret '{secret.purpose}' is not a string"
        )
    return value
