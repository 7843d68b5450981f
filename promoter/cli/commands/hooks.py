"""``promoter install-hook`` / ``uninstall-hook``: a git pre-commit hook without the framework."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from promoter.errors import RefusedError
from promoter.files import git
from promoter.files.atomic import write_atomic
from promoter.files.safeopen import read_local_text

MARKER = "# promoter pre-commit hook"


def hook_script(prefix: str = "") -> str:
    """The hook; ``prefix`` is the config repo's folder in the work tree (``mail/``):
    git runs hooks at the top of the work tree."""
    python = shlex.quote(sys.executable)
    command = f"{python} -m promoter.cli.main"
    if prefix:
        command += f" -C {shlex.quote(prefix.rstrip('/'))}"
    return (
        "#!/bin/sh\n"
        f"{MARKER} (installed by `promoter install-hook`; remove with `promoter uninstall-hook`)\n"
        f"{command} check --staged || exit $?\n"
        f"exec {command} scan --staged\n"
    )


def run_install(root: Path, *, force: bool) -> int:
    path = git.hooks_dir(root) / "pre-commit"
    script = hook_script(git.prefix(root))
    if _there(path):
        current = _held(path)
        if current == script:
            print(f"{path}: already installed")
            return 0
        if MARKER not in current and not force:
            raise RefusedError(
                f"{path} exists and is not promoter's hook",
                hint="chain it yourself, or pass --force to replace it",
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, script, secret=False, backup=False)  # replaces, never writes into, it
    path.chmod(0o755)
    print(f"installed {path}")
    return 0


def run_uninstall(root: Path) -> int:
    path = git.hooks_dir(root) / "pre-commit"
    if not _there(path):
        print(f"{path}: no hook installed")
        return 0
    if MARKER not in _held(path):
        raise RefusedError(f"{path} is not promoter's hook; left alone")
    path.unlink()
    print(f"removed {path}")
    return 0


def _held(path: Path) -> str:
    """What the hook file holds; "" when it is not a readable regular file (a FIFO, a
    device, a dangling link): not promoter's hook, so left alone without --force."""
    try:
        return read_local_text(path, errors="replace")
    except OSError:
        return ""


def _there(path: Path) -> bool:
    """Anything at the hook's name, a dangling link included."""
    return path.exists() or path.is_symlink()
