"""One promotion at a time per repo: an advisory lock on ``build/.promoter/lock``."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from promoter.errors import RefusedError

LOCK_FILE = Path("build") / ".promoter" / "lock"


@contextlib.contextmanager
def repo_lock(root: Path, *, wait: float) -> Iterator[None]:
    """Hold the repo's lock; wait up to ``wait`` seconds for another holder."""
    path = root / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
                    raise RefusedError(
                        f"another promotion holds the repo lock ({holder})",
                        hint=f"wait for it, or check {LOCK_FILE}; --lock-wait SECONDS",
                    ) from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock
