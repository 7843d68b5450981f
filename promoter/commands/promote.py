"""``promote SRC DST`` and ``promoter rollback ENV``: gate, diff, write, record."""

from __future__ import annotations

import contextlib
import sys
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from promoter.commands.verify import is_verified, print_unverified
from promoter.lock import repo_lock
from promoter.pipeline import Compiler
from promoter.project import IdmTarget, Project, load_project
from promoter.promote import (
    PinChange,
    adjacency,
    prepare_promotion,
    prepare_rollback,
    rendered_path,
    write_change,
)
from promoter.report import plural, print_findings


@dataclass(frozen=True, slots=True)
class WriteOptions:
    dry_run: bool = False
    apply: bool = False
    commit: bool = False
    yes: bool = False
    lock_wait: float = 10.0

    def lock(self, root: Path) -> AbstractContextManager[None]:
        """A dry run writes nothing at all, not even the lock file."""
        return contextlib.nullcontext() if self.dry_run else repo_lock(root, wait=self.lock_wait)


def run_promote(root: Path, src: str, dst: str, options: WriteOptions) -> int:
    project = load_project(root)
    refusal = adjacency(project, src, dst)
    if refusal is not None:
        print_findings([refusal])
        print(f"refused: {src} → {dst}", file=sys.stderr)
        return 1
    with options.lock(root):
        source, change = prepare_promotion(Compiler(project), src, dst)
        if source.blocked:
            print_findings(source.findings)
            print(f"refused: {src} does not pass its own gates", file=sys.stderr)
            return 1
        if project.env(src).require_verified and not is_verified(root, src, source.sha256):
            print_unverified(src)
            return 1
        return _finish(project, change, f"{src} → {dst}", "promote", options)


def run_rollback(root: Path, env: str, *, to: int | None, options: WriteOptions) -> int:
    project = load_project(root)
    project.env(env)
    with options.lock(root):
        change = prepare_rollback(Compiler(project), env, to)
        return _finish(project, change, f"rollback {env}", "rollback", options)


def _finish(
    project: Project, change: PinChange, title: str, action: str, options: WriteOptions
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
    if _already_holds(project, change):
        pin = change.pin_sha256[:12]
        what = "promote" if action == "promote" else "roll back"
        print(f"{env.name} already holds pin {pin}; nothing to {what}")
        return 0
    print(f"{title}: {plural(len(change.changes), 'change')} to {env.name}'s output")
    sys.stdout.write(change.diff_text())
    if options.dry_run:
        print(f"dry run, nothing written (output sha256 {compiled.sha256})")
        return 0
    delivering = options.apply and isinstance(env.target, IdmTarget)
    if delivering and not options.yes and not _confirm(env.name):
        print("cancelled, nothing written", file=sys.stderr)
        return 1
    entry = write_change(project, change, action=action, apply=options.apply, commit=options.commit)
    verb = "promoted" if action == "promote" else "rolled back"
    title = title if action == "promote" else env.name
    out = project.display(rendered_path(project, env))
    pin = (entry.pin_sha256 or "")[:12]
    print(f"{verb} {title}: {out} sha256 {compiled.sha256}, pin {pin} ({entry.result})")
    return 0


def _already_holds(project: Project, change: PinChange) -> bool:
    """The pin and the rendered output are already exactly what this change would write."""
    from promoter.pins import pin_path
    from promoter.render import sha256_hex

    try:
        pin = pin_path(project, change.env.name).read_text(encoding="utf-8")
        rendered = rendered_path(project, change.env).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return pin == change.pin_text and sha256_hex(rendered) == change.compiled.sha256


def _confirm(env: str) -> bool:
    if not sys.stdin.isatty():
        return True  # CI: --apply is the decision
    answer = input(f"deliver to {env}'s IDM now? [y/N] ")
    return answer.strip().lower() in ("y", "yes")
