"""Staged and tracked files, for the pre-commit hook and the secret scan."""

from __future__ import annotations

import subprocess
from pathlib import Path

from promoter.errors import InputError


def _git(root: Path, *args: str) -> str:
    try:
        proc = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=False, timeout=60
        )
    except OSError:
        raise InputError("git is not installed", hint="install git, or pass file names") from None
    if proc.returncode != 0:
        raise InputError(f"git {args[0]} failed: {proc.stderr.strip()}", hint="is this a git repo?")
    return proc.stdout


def staged(root: Path) -> list[str]:
    """Paths added, copied, modified or renamed in the index."""
    out = _git(root, "diff", "--cached", "--name-only", "--diff-filter=ACMR", "-z")
    return [p for p in out.split("\0") if p]


def tracked(root: Path, under: str) -> list[str]:
    out = _git(root, "ls-files", "-z", "--cached", "--", under)
    return [p for p in out.split("\0") if p]


def staged_text(root: Path, path: str) -> str:
    """The staged content of ``path`` (what the commit will hold)."""
    return _git(root, "show", f":{path}")


def hooks_dir(root: Path) -> Path:
    return root / _git(root, "rev-parse", "--git-path", "hooks").strip()
