"""``promote SRC DST`` and ``promoter rollback ENV``: gate, diff, write, record."""

from __future__ import annotations

import contextlib
import sys
from contextlib import AbstractContextManager
from pathlib import Path

from promoter.commands.compile import print_findings
from promoter.commands.verify import is_verified, print_unverified
from promoter.lock import repo_lock
from promoter.pipeline import Compiler
from promoter.project import IdmTarget, Project, load_project
from promoter.promote import (
    Change,
    adjacency,
    prepare_promotion,
    prepare_rollback,
    write_change,
)


def run_promote(
    root: Path,
    src: str,
    dst: str,
    *,
    dry_run: bool,
    apply: bool = False,
    commit: bool = False,
    yes: bool = False,
    lock_wait: float = 10.0,
) -> int:
    project = load_project(root)
    refusal = adjacency(project, src, dst)
    if refusal is not None:
        print_findings([refusal])
        print(f"refused: {src} → {dst}", file=sys.stderr)
        return 1
    with _lock(root, dry_run, lock_wait):
        compiler = Compiler(project)
        source, change = prepare_promotion(compiler, src, dst)
        if source.blocked:
            print_findings(source.findings)
            print(f"refused: {src} does not pass its own gates", file=sys.stderr)
            return 1
        if project.env(src).require_verified and not is_verified(root, src, source.sha256):
            print_unverified(src)
            return 1
        flags = {"dry_run": dry_run, "apply": apply, "commit": commit, "yes": yes}
        return _finish(project, change, f"{src} → {dst}", "promote", **flags)


def run_rollback(
    root: Path,
    env: str,
    *,
    to: int | None,
    dry_run: bool,
    apply: bool = False,
    commit: bool = False,
    yes: bool = False,
    lock_wait: float = 10.0,
) -> int:
    project = load_project(root)
    project.env(env)
    with _lock(root, dry_run, lock_wait):
        change = prepare_rollback(Compiler(project), env, to)
        flags = {"dry_run": dry_run, "apply": apply, "commit": commit, "yes": yes}
        return _finish(project, change, f"rollback {env}", "rollback", **flags)


def _finish(
    project: Project,
    change: Change,
    title: str,
    action: str,
    *,
    dry_run: bool,
    apply: bool,
    commit: bool,
    yes: bool,
) -> int:
    compiled = change.compiled
    env = change.env
    print_findings(compiled.findings)
    if change.refused:
        print(
            f"refused: {env.name} ({env.tier}) does not pass its gates; nothing written",
            file=sys.stderr,
        )
        return 1
    print(f"{title}: {len(change.changes)} change(s) to {env.name}'s output")
    sys.stdout.write(change.diff_text())
    if dry_run:
        print(f"dry run, nothing written (output sha256 {compiled.sha256})")
        return 0
    if apply and isinstance(env.target, IdmTarget) and not yes and not _confirm(env.name):
        print("cancelled, nothing written", file=sys.stderr)
        return 1
    entry = write_change(project, change, action=action, apply=apply, commit=commit)
    from promoter.promote import rendered_path

    verb = "promoted" if action == "promote" else "rolled back"
    out = project.display(rendered_path(project, env))
    pin = (entry.pin_sha256 or "")[:12]
    print(f"{verb} {title}: {out} sha256 {compiled.sha256}, pin {pin} ({entry.result})")
    return 0


def _lock(root: Path, dry_run: bool, wait: float) -> AbstractContextManager[None]:
    """A dry run writes nothing at all, not even the lock file."""
    return contextlib.nullcontext() if dry_run else repo_lock(root, wait=wait)


def _confirm(env: str) -> bool:
    if not sys.stdin.isatty():
        return True  # CI: --apply is the decision
    answer = input(f"deliver to {env}'s IDM now? [y/N] ")
    return answer.strip().lower() in ("y", "yes")
