"""``promoter install-hook`` / ``uninstall-hook``: a git pre-commit hook without the framework."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from promoter.errors import RefusedError
from promoter.files import git

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
    if path.exists():
        current = path.read_text(encoding="utf-8", errors="replace")
        if current == script:
            print(f"{path}: already installed")
            return 0
        if MARKER not in current and not force:
            raise RefusedError(
                f"{path} exists and is not promoter's hook",
                hint="chain it yourself, or pass --force to replace it",
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(script, encoding="utf-8")
    path.chmod(0o755)
    print(f"installed {path}")
    return 0


def run_uninstall(root: Path) -> int:
    path = git.hooks_dir(root) / "pre-commit"
    if not path.exists():
        print(f"{path}: no hook installed")
        return 0
    if MARKER not in path.read_text(encoding="utf-8", errors="replace"):
        raise RefusedError(f"{path} is not promoter's hook; left alone")
    path.unlink()
    print(f"removed {path}")
    return 0
