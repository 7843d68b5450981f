"""Atomic file writes: a new file appears whole or not at all, one .bak kept.

Every temporary file is created ``O_CREAT | O_EXCL`` with its final mode at open (0600 for
a secret: no window in which another user can read it, and a crash never leaves it
readable), under a unique name carrying the writer's pid, so parallel runs never collide;
a temporary file whose writer is gone (killed mid-write) is removed by the next write.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path

from promoter.errors import Location, TargetError

SECRET_MODE = 0o600
PUBLIC_MODE = 0o644
_TMP_SUFFIX = ".tmp"
_TEMP = re.compile(r"\.(.+)\.([0-9]{1,9})\.[0-9a-f]{12}\.tmp")  # see _temp_name


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
        remove_orphans(path)
        fd, tmp = _create_temp(path, SECRET_MODE if secret else PUBLIC_MODE)
    except OSError as exc:
        raise TargetError(f"cannot write: {exc.strerror}", location=where) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if backup and path.exists():
            keep_backup(path)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise TargetError(f"cannot write: {exc.strerror}", location=where) from None


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}{_TMP_SUFFIX}")


def _create_temp(path: Path, mode: int) -> tuple[int, Path]:
    """A new file next to ``path``, created with ``mode`` (see ``create_new``)."""
    while True:
        tmp = _temp_name(path)
        try:
            return create_new(tmp, mode), tmp
        except FileExistsError:
            continue


def create_new(path: Path, mode: int) -> int:
    """Create ``path`` (it must not exist) with exactly ``mode``, whatever the umask would
    allow or deny: owner-only at open, then fchmod on the file only we have open."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, mode & SECRET_MODE)
    try:
        os.fchmod(fd, mode)
    except OSError:
        os.close(fd)
        os.unlink(path)
        raise
    return fd


def keep_backup(path: Path) -> None:
    """``path.bak`` becomes the current file: a hard link to it (same inode, so the same
    mode, no copy readable by others in between), renamed over the old ``.bak``."""
    backup = path.with_name(path.name + ".bak")
    while True:
        staging = _temp_name(path)
        try:
            os.link(path, staging, follow_symlinks=False)
            break
        except FileExistsError:
            continue
        except OSError:  # a filesystem without hard links: copy into a 0600 file
            _copy_private(path, staging)
            break
    try:
        os.replace(staging, backup)
    finally:
        # rename() between two links to one inode does nothing and leaves the source
        with contextlib.suppress(OSError):
            os.unlink(staging)


def _copy_private(path: Path, staging: Path) -> None:
    mode = os.stat(path).st_mode & 0o777
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, SECRET_MODE)
    try:
        with os.fdopen(fd, "wb") as out, path.open("rb") as source:
            out.write(source.read())
            out.flush()
            os.fsync(out.fileno())
            os.fchmod(out.fileno(), mode & PUBLIC_MODE)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(staging)
        raise


def remove_orphans(path: Path) -> list[Path]:
    """Remove temporary files of ``path`` left by a writer that no longer runs."""
    return remove_dead_temps(path.parent, only=path.name)


def remove_dead_temps(directory: Path, *, only: str | None = None) -> list[Path]:
    """Remove this module's temporary files in ``directory`` (of file ``only``, if given)
    whose writer no longer runs. Other files, a journal's staged ones included, stay."""
    removed: list[Path] = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        match = _TEMP.fullmatch(name)
        if match is None or (only is not None and match.group(1) != only):
            continue
        if _alive(int(match.group(2))):
            continue  # a parallel run is writing it
        with contextlib.suppress(OSError):
            os.unlink(directory / name)
            removed.append(directory / name)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    except (OverflowError, OSError):
        return False
    return True


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
