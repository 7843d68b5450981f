"""The little of git that promotion needs: HEAD, and a commit of named paths."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from promoter.errors import RefusedError


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=False, timeout=60
    )


def head(root: Path) -> str | None:
    try:
        proc = _git(root, "rev-parse", "--verify", "-q", "HEAD")
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    return proc.stdout.strip() or None


def commit(root: Path, paths: Sequence[Path], message: str) -> str:
    """Commit exactly ``paths`` (nothing else staged) and return the new HEAD."""
    names = [str(p) for p in paths]
    add = _git(root, "add", "--", *names)
    if add.returncode != 0:
        raise RefusedError(f"git add failed: {add.stderr.strip()}", hint="is this a git repo?")
    done = _git(root, "commit", "-q", "-m", message, "--", *names)
    if done.returncode != 0:
        raise RefusedError(f"git commit failed: {done.stderr.strip() or done.stdout.strip()}")
    return head(root) or ""
