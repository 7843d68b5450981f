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
from typing import Any

import jsonpointer

from promoter.files.safeopen import (
    Escapes,
    NotRegular,
    TooLarge,
    open_beneath,
    open_directory,
    read_fd,
)
from promoter.project.types import StoreSpec

MAX_SECRET_BYTES = 64 * 1024
_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")
_VERSION = re.compile(r"[0-9]{1,18}")


class SecretLookupError(Exception):
    """A reference that cannot be resolved; the message names no value."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True, slots=True)
class SecretFile:
    """The raw content of one secret; ``repr`` never shows it."""

    purpose: str
    version: int | None
    content: str = field(repr=False)
    # which file, unchanged since when: "<name>:<dev>:<ino>:<size>:<mtime_ns>:<ctime_ns>"
    # (never the value, nor anything computed from it); changed_ns = max(mtime, ctime)
    stamp: str = ""
    changed_ns: int = 0


class SecretStore:
    def __init__(self, spec: StoreSpec) -> None:
        self.spec = spec
        self._cache: dict[str, SecretFile] = {}

    def exists(self) -> bool:
        return self.spec.directory.is_dir()

    def provisioned(self) -> bool:
        """The store holds something on this machine: not missing, empty, or only a README
        and dotfiles (what a clone of the repo holds when the store is git-ignored)."""
        try:
            names = os.listdir(self.spec.directory)
        except FileNotFoundError:
            return False
        except OSError:
            return True  # there but unreadable, or not a directory: reading says why
        return any(not _placeholder_file(name) for name in names)

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
        try:
            with open_directory(self.spec.directory) as store:
                name, version = self._locate(store, purpose)
                raw, info = self._read_beneath(store, name, purpose)
        except NotADirectoryError:
            raise SecretLookupError(
                f"secret store {self.spec.display}/ is not a directory"
            ) from None
        except FileNotFoundError:
            raise SecretLookupError(f"secret store {self.spec.display}/ does not exist") from None
        except OSError as exc:
            raise SecretLookupError(
                f"cannot open secret store {self.spec.display}/: {exc.strerror}"
            ) from None
        content = self._decode(purpose, raw)
        if not content.strip():
            raise SecretLookupError(
                f"secret '{purpose}' is empty", f"write the value into {self.spec.display}/{name}"
            )
        identity = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
        stamp = ":".join(map(str, (name, *identity)))
        changed = max(info.st_mtime_ns, info.st_ctime_ns)
        return SecretFile(purpose, version, content, stamp, changed)

    def _read_beneath(self, store: int, name: str, purpose: str) -> tuple[bytes, os.stat_result]:
        """The file's bytes, opened beneath the store's fd: no symlink swap can lead out."""
        try:
            fd = open_beneath(store, name, root_path=os.path.realpath(self.spec.directory))
        except FileNotFoundError:
            hint = f"create {self.spec.display}/{purpose}"
            raise SecretLookupError(
                f"secret '{purpose}' not found in {self.spec.display}/", hint
            ) from None
        except Escapes:
            raise SecretLookupError(f"secret '{purpose}' is a link that leaves the store") from None
        except NotRegular:
            raise SecretLookupError(f"secret '{purpose}' is not a regular file") from None
        except OSError as exc:
            raise SecretLookupError(f"cannot read secret '{purpose}': {exc.strerror}") from None
        try:
            info = os.fstat(fd)  # before the read: a write during it changes the stamp
            return read_fd(fd, MAX_SECRET_BYTES), info
        except TooLarge:
            raise SecretLookupError(f"secret '{purpose}' is larger than 64 KiB") from None
        except OSError as exc:
            raise SecretLookupError(f"cannot read secret '{purpose}': {exc.strerror}") from None
        finally:
            os.close(fd)

    def _locate(self, store: int, purpose: str) -> tuple[str, int | None]:
        suffix = self.spec.version_suffix
        if suffix:
            found = versions(store, purpose, suffix)
            if found:
                best = max(found)
                return f"{purpose}{suffix}{best}", best
        return purpose, None

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


def _placeholder_file(name: str) -> bool:
    """A file a store holds to explain itself, never a secret (``..data`` is a dotfile but
    a Kubernetes mount also holds the secrets' own names)."""
    return name.startswith(".") or name.split(".", 1)[0].upper() == "README"


def check_purpose_name(purpose: str) -> None:
    if not _SAFE_NAME.fullmatch(purpose) or ".." in purpose:
        raise SecretLookupError(
            f"purpose name '{purpose}' is not a plain file name in the store",
            "use letters, digits, '.', '_' and '-' only; no '/' or '..'",
        )


def versions(store: int | Path, purpose: str, suffix: str) -> list[int]:
    """Versions of ``purpose`` in the store: ASCII digits only (``str.isdigit`` takes
    ``²``), and at most 18 of them (``int`` refuses thousands)."""
    prefix = f"{purpose}{suffix}"
    try:
        names = os.listdir(store)
    except OSError:
        return []
    return [
        int(name[len(prefix) :])
        for name in names
        if name.startswith(prefix) and _VERSION.fullmatch(name[len(prefix) :])
    ]


def _at_pointer(secret: SecretFile, pointer: str) -> str:

    try:
        document: Any = json.loads(secret.content)
    except (ValueError, RecursionError):  # RecursionError: thousands of nested brackets
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
        # never list the document's keys: a key can be a value pasted in the wrong place
        raise SecretLookupError(
            f"jsonPointer '{pointer}' does not resolve in secret '{secret.purpose}'",
            "check the pointer against the secret's layout (names are case-sensitive)",
        ) from None
    if not isinstance(value, str):
        raise SecretLookupError(
            f"jsonPointer '{pointer}' in secret '{secret.purpose}' is not a string"
        )
    return value
