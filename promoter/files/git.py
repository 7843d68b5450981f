"""Staged and tracked files, for the pre-commit hook and the secret scan."""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Iterator
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


CONFIG_SUFFIXES = (".yaml", ".yml")


@contextlib.contextmanager
def staged_tree(root: Path) -> Iterator[Path]:
    """A temporary copy of what the index holds of the config (promoter.yaml, every YAML file).

    The pre-commit hook compiles this, not the working tree: a commit holds what is
    staged. Secret stores are not copied (they are rarely in git); callers read them
    from the working tree.
    """
    listing = _git(root, "ls-files", "-s", "-z")
    blobs: list[tuple[str, str]] = []
    for record in listing.split("\0"):
        if not record:
            continue
        meta, _, path = record.partition("\t")
        mode, sha = meta.split()[:2]
        if mode in ("100644", "100755") and path.endswith(CONFIG_SUFFIXES):
            blobs.append((sha, path))
    with tempfile.TemporaryDirectory(prefix="promoter-index-") as tmp:
        tree = Path(tmp)
        for (_sha, path), data in zip(
            blobs, _blob_contents(root, [b for b, _ in blobs]), strict=True
        ):
            dest = tree / path
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        yield tree


def _blob_contents(root: Path, shas: list[str]) -> list[bytes]:
    """Every blob's bytes through one ``git cat-file --batch``."""
    if not shas:
        return []
    try:
        proc = subprocess.run(
            ["git", "cat-file", "--batch"],
            cwd=root,
            input=("\n".join(shas) + "\n").encode(),
            capture_output=True,
            check=False,
            timeout=60,
        )
    except OSError:
        raise InputError("git is not installed", hint="install git, or pass file names") from None
    if proc.returncode != 0:
        raise InputError("git cat-file failed", hint="is this a git repo?")
    out, at = [], 0
    data = proc.stdout
    for _ in shas:
        end = data.index(b"\n", at)
        size = int(data[at:end].split()[2])
        out.append(data[end + 1 : end + 1 + size])
        at = end + 1 + size + 1
    return out


def hooks_dir(root: Path) -> Path:
    return root / _git(root, "rev-parse", "--git-path", "hooks").strip()
