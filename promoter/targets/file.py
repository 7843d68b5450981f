"""The file target: atomic writes, one .bak kept."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from promoter.errors import Location, TargetError

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
