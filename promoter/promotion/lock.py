"""One writer at a time per repo: an advisory lock on ``build/.promoter/lock``.

``promote``, ``rollback``, ``deliver`` and the watcher take it for every write to a
target or to the repo's records (pins, outputs, their records, the ledger).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from promoter.errors import Location, RefusedError
from promoter.untrusted import escape_control

LOCK_FILE = Path("build") / ".promoter" / "lock"


@contextlib.contextmanager
def repo_lock(root: Path, *, wait: float, what: str = "") -> Iterator[None]:
    """Hold the repo's lock; wait up to ``wait`` seconds for another holder.

    ``what`` (``deliver dev``) is written beside the pid, so a waiter can name the holder.
    """
    path = root / LOCK_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise RefusedError(
            f"cannot open the repo lock: {exc.strerror}", location=Location(str(LOCK_FILE))
        ) from None
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    said = os.pread(fd, 64, 0).decode(errors="replace").strip()
                    holder = escape_control(said) or "unknown"  # a file anyone may write
                    raise RefusedError(
                        f"another promoter command holds the repo lock ({holder})",
                        hint=f"wait for it, or check {LOCK_FILE}; --lock-wait SECONDS",
                    ) from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        label = f"pid {os.getpid()}" + (f": {what}" if what else "")
        os.pwrite(fd, label.encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock
