"""The little of git that promotion needs: HEAD, and a commit of named paths."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from promoter.errors import RefusedError
from promoter.untrusted import escape_control


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


def preflight(root: Path) -> None:
    """Refuse ``--commit`` before anything is written when git could not commit at all."""
    try:
        inside = _git(root, "rev-parse", "--is-inside-work-tree")
        ident = _git(root, "var", "GIT_COMMITTER_IDENT")
    except (OSError, subprocess.SubprocessError):
        raise RefusedError("--commit needs git, which is not installed") from None
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        raise RefusedError(
            "--commit: this is not a git work tree; nothing written",
            hint="git init, or drop --commit",
        )
    if ident.returncode != 0:
        raise RefusedError(
            "--commit: git has no committer identity; nothing written",
            hint="git config user.name NAME and git config user.email ADDRESS",
        )


def _reason(proc: subprocess.CompletedProcess[str]) -> str:
    """git's own words on one line (a hook may print several)."""
    text = (proc.stderr.strip() or proc.stdout.strip() or f"exit {proc.returncode}").splitlines()
    joined = "; ".join(line.strip() for line in text if line.strip())
    joined = joined if len(joined) <= 300 else joined[:297] + "..."
    return escape_control(joined)  # a hook's output must not drive the terminal


def commit(root: Path, paths: Sequence[Path], message: str) -> str:
    """Commit exactly ``paths`` (nothing else staged) and return the new HEAD."""
    names = [str(p) for p in paths]
    add = _git(root, "add", "--", *names)
    if add.returncode != 0:
        raise RefusedError(f"git add failed: {_reason(add)}", hint="is this a git repo?")
    done = _git(root, "commit", "-q", "-m", message, "--", *names)
    if done.returncode != 0:
        raise RefusedError(f"git commit failed: {_reason(done)}")
    return head(root) or ""
