"""Deliver a rendered configuration: the file target (atomic, one .bak kept)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from promoter.errors import Location, TargetError

if TYPE_CHECKING:
    from promoter.pipeline import Compiled

SECRET_MODE = 0o600
PUBLIC_MODE = 0o644


def write_atomic(
    path: Path, text: str, *, secret: bool, display: str | None = None, backup: bool = True
) -> None:
    """Write ``text`` so that a crash leaves the old file or the new one, never half.

    A temporary file in the same directory is written, fsynced and renamed over
    ``path``; the directory is fsynced. The previous content is kept as ``.bak``.
    """
    where = Location(display or str(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise TargetError(f"cannot write: {exc.strerror}", location=where) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), SECRET_MODE if secret else PUBLIC_MODE)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if backup and path.exists():
            _keep_backup(path)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise TargetError(f"cannot write: {exc.strerror}", location=where) from None


def _keep_backup(path: Path) -> None:
    backup = path.with_name(path.name + ".bak")
    staging = path.with_name(f".{path.name}.bak.tmp")
    shutil.copy2(path, staging)
    os.replace(staging, backup)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def deliver(compiled: Compiled) -> str:
    """Deliver a gated result to its environment's target (file or IDM) and read it back.

    Returns a one-line summary. IDM stores secrets encrypted, so its read-back
    compares the non-secret fields.
    """
    from promoter.project import FileTarget

    target, text, config = compiled.env.target, compiled.text, compiled.output
    if text is None or config is None:
        raise TargetError(f"{compiled.env.name}: nothing to deliver")
    if isinstance(target, FileTarget):
        write_atomic(target.path, text, secret=compiled.holds_secrets, display=target.display)
        if target.path.read_text(encoding="utf-8") != text:
            raise TargetError(
                "read-back differs from what was written", location=Location(target.display)
            )
        return f"wrote {target.display}"
    from promoter.idm import IdmClient

    client = IdmClient(target)
    client.put_config(config)
    mismatch = read_back_mismatch(config, client.get_config(), compiled.secret_pointers)
    if mismatch:
        raise TargetError(f"read-back from {target.url} differs at {', '.join(mismatch)}")
    return f"delivered to {target.url}/config/external.email (read back: non-secret fields match)"


def read_back_mismatch(sent: object, held: object, secret_pointers: set[str]) -> list[str]:
    """Pointers whose non-secret values differ (IDM stores secrets encrypted)."""
    from promoter.diff import diff

    changes = diff(held, sent, secret_pointers=secret_pointers, skip_secrets=True)
    return [c.pointer for c in changes]
