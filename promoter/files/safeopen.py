"""Open and read files that someone else may control, without hanging or escaping.

``read_file(path, limit)``: one regular file, at most ``limit + 1`` bytes read. It is opened
``O_NONBLOCK`` (a FIFO does not wait for a writer) and ``fstat`` decides what it is (a
device, FIFO, socket or directory is refused), so the check is on the object that was
opened, not on a name that may have changed since.

``open_beneath(directory_fd, name)``: resolve ``name`` inside a directory the way
``openat2(RESOLVE_BENEATH)`` does, in user space: each component is opened ``O_NOFOLLOW``
relative to the fd of the one before; a symlink is read and expanded by us, and ``..``
pops our own stack, so nothing reached can lie outside the directory, whatever is renamed
or swapped meanwhile. A relative link that stays inside (Kubernetes ``..data`` mounts) is
followed; an absolute one, or one that climbs out, is refused.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MAX_LINKS = 40  # as the kernel's ELOOP limit
_READ = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


class NotRegular(OSError):
    """The name is a directory, FIFO, device or socket."""


class Escapes(OSError):
    """A symlink leads outside the directory."""


class TooLarge(OSError):
    """More than ``limit`` bytes."""


def read_fd(fd: int, limit: int) -> bytes:
    """At most ``limit`` bytes of an open regular file; ``TooLarge`` beyond."""
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise NotRegular(errno.EINVAL, "not a regular file")
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = os.read(fd, limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise TooLarge(errno.EFBIG, "file too large")
    return b"".join(chunks)


def read_file(path: Path | str, limit: int) -> bytes:
    """``read_fd`` of ``path`` (symlinks followed: the caller decides where paths may lead)."""
    try:
        fd = os.open(path, _READ)
    except IsADirectoryError:
        raise NotRegular(errno.EISDIR, "not a regular file") from None
    try:
        return read_fd(fd, limit)
    finally:
        os.close(fd)


MAX_STATE_BYTES = 256 * 1024 * 1024


def read_local_text(
    path: Path | str, *, limit: int = MAX_STATE_BYTES, errors: str = "strict"
) -> str:
    """A file the repo or promoter keeps (ledger, pins, caches, records, journal, hooks) as
    UTF-8, read as ``read_file`` reads: a FIFO, device or directory put in its place is
    ``NotRegular`` (an OSError) at once, never a hang. Not UTF-8: ``UnicodeDecodeError``."""
    return read_file(path, limit).decode("utf-8", errors)


class Unreadable(Exception):
    """A file named by a setting that cannot be used; ``reason`` says why in a few words
    (``not a regular file``, ``larger than 64 KiB``, ``not UTF-8 text``...)."""

    def __init__(self, reason: str, *, missing: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.missing = missing


def read_text_file(path: Path | str, limit: int) -> str:
    """``read_file`` decoded as UTF-8; every failure is ``Unreadable`` with its reason.

    For files a setting names (a key, a CA bundle, a file target's content): the caller
    words the one-line error around ``reason``.
    """
    try:
        return read_local_text(path, limit=limit)
    except NotRegular:
        raise Unreadable("not a regular file") from None
    except TooLarge:
        raise Unreadable(f"larger than {_size(limit)}") from None
    except FileNotFoundError:
        raise Unreadable("no such file", missing=True) from None
    except OSError as exc:
        raise Unreadable(f"not readable: {exc.strerror or type(exc).__name__}") from None
    except UnicodeDecodeError:
        raise Unreadable("not UTF-8 text") from None


def _size(limit: int) -> str:
    if limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MiB"
    return f"{limit // 1024} KiB" if limit % 1024 == 0 else f"{limit} bytes"


@contextmanager
def open_directory(directory: Path | str) -> Iterator[int]:
    fd = os.open(directory, _DIR)
    try:
        yield fd
    finally:
        os.close(fd)


def open_beneath(root_fd: int, name: str, *, root_path: str | None = None) -> int:
    """An fd for the regular file ``name`` inside the directory ``root_fd``; the caller closes.

    An absolute link is followed only if it names a place under ``root_path`` (the
    directory's real path): the rest of it is walked from ``root_fd`` like any other name.

    Raises ``FileNotFoundError``, ``Escapes``, ``NotRegular`` or another ``OSError``.
    """
    stack = [os.dup(root_fd)]  # the directories walked down, each an fd
    pending = _components(name)
    links = 0
    try:
        while pending:
            part = pending.pop(0)
            if part == "..":
                if len(stack) == 1:
                    raise Escapes(errno.EXDEV, "leaves the directory")
                os.close(stack.pop())
                continue
            last = not pending
            try:
                fd = os.open(part, (_READ if last else _DIR) | os.O_NOFOLLOW, dir_fd=stack[-1])
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR) or isinstance(exc, NotRegular):
                    raise
                links += 1
                if links > MAX_LINKS:
                    raise OSError(errno.ELOOP, "too many symlinks") from None
                target = _readlink(part, stack[-1], exc)
                if target is None:  # a link swapped back for a file: look again
                    pending.insert(0, part)
                    continue
                if target.startswith("/"):
                    inside = _under(target, root_path)
                    if inside is None:
                        raise Escapes(errno.EXDEV, "an absolute link") from None
                    while len(stack) > 1:
                        os.close(stack.pop())
                    target = inside
                pending[:0] = _components(target)
                continue
            if last:
                return _regular(fd)
            stack.append(fd)
        raise NotRegular(errno.EISDIR, "not a regular file")
    finally:
        for fd in stack:
            os.close(fd)


def _under(target: str, root_path: str | None) -> str | None:
    """``target`` relative to ``root_path`` if it lies under it, else None."""
    if root_path is None:
        return None
    root = root_path.rstrip("/") + "/"
    return target[len(root) :] if target.startswith(root) else None


def _components(name: str) -> list[str]:
    return [p for p in name.split("/") if p not in ("", ".")]


def _readlink(part: str, dir_fd: int, original: OSError) -> str | None:
    """The link's text; None if ``part`` is no longer a link after an ELOOP; otherwise the
    original error stands (ENOTDIR: a file used as a directory)."""
    try:
        return os.readlink(part, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.EINVAL and original.errno == errno.ELOOP:
            return None
        raise original from None


def _regular(fd: int) -> int:
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise NotRegular(errno.EINVAL, "not a regular file")
    return fd
