"""The one git runner: staged and tracked files (hook, scan), HEAD and commits (promotion)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from promoter.errors import InputError, RefusedError
from promoter.untrusted import escape_control


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``git ARGS`` in ``root``; the caller judges its exit status."""
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=False, timeout=60
    )


def _git(root: Path, *args: str) -> str:
    """git's output, or an InputError when git is missing or fails."""
    try:
        proc = run(root, *args)
    except OSError:
        raise InputError("git is not installed", hint="install git, or pass file names") from None
    if proc.returncode != 0:
        raise InputError(f"git {args[0]} failed: {proc.stderr.strip()}", hint="is this a git repo?")
    return proc.stdout


def staged(root: Path) -> list[str]:
    """Paths under ``root`` (relative to it) that the index adds, copies or modifies,
    a rename's new name included."""
    return _cached(root, "ACM")


def removed(root: Path) -> list[str]:
    """Paths under ``root`` (relative to it) that the index deletes, a rename's old name
    included: hooks are never passed these, yet a commit that removes an overlay
    promoter.yaml still names must be judged."""
    return _cached(root, "D")


def _cached(root: Path, kinds: str) -> list[str]:
    # --relative: root may be a subfolder of the work tree (a monorepo's mail/)
    out = _git(
        root,
        "diff",
        "--cached",
        "--name-only",
        "--relative",
        "--no-renames",
        f"--diff-filter={kinds}",
        "-z",
    )
    return [p for p in out.split("\0") if p]


def removed_if_git(root: Path) -> list[str]:
    """:func:`removed`, or nothing outside a git work tree (or without git)."""
    try:
        return removed(root)
    except (InputError, subprocess.SubprocessError):
        return []


def inside_work_tree(root: Path) -> bool:
    try:
        proc = run(root, "rev-parse", "--is-inside-work-tree")
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0 and proc.stdout.strip() == "true"


def prefix(root: Path) -> str:
    """``root`` relative to the work tree's top (``mail/``; empty at the top)."""
    return _git(root, "rev-parse", "--show-prefix").strip()


def tracked(root: Path, under: str) -> list[str]:
    out = _git(root, "ls-files", "-z", "--cached", "--", under)
    return [p for p in out.split("\0") if p]


def staged_text(root: Path, path: str) -> str:
    """The staged content of ``path`` (what the commit will hold)."""
    return _git(root, "show", f":./{path}")  # ./: relative to root, not the top


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
    # from a subfolder git answers ../.git/hooks
    return Path(os.path.normpath(root / _git(root, "rev-parse", "--git-path", "hooks").strip()))


def head(root: Path) -> str | None:
    try:
        proc = run(root, "rev-parse", "--verify", "-q", "HEAD")
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    return proc.stdout.strip() or None


def user_name(root: Path) -> str | None:
    """``git config user.name`` in ``root``, or None."""
    try:
        proc = run(root, "config", "user.name")
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def preflight(root: Path) -> None:
    """Refuse ``--commit`` before anything is written when git could not commit at all."""
    try:
        inside = run(root, "rev-parse", "--is-inside-work-tree")
        ident = run(root, "var", "GIT_COMMITTER_IDENT")
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
    add = run(root, "add", "--", *names)
    if add.returncode != 0:
        raise RefusedError(f"git add failed: {_reason(add)}", hint="is this a git repo?")
    done = run(root, "commit", "-q", "-m", message, "--", *names)
    if done.returncode != 0:
        raise RefusedError(f"git commit failed: {_reason(done)}")
    return head(root) or ""
