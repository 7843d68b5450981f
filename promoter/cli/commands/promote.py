"""``promote SRC DST`` and ``promoter rollback ENV``: gate, diff, write, record."""

from __future__ import annotations

import sys
from pathlib import Path

from promoter.check.compiler import Compiler
from promoter.check.report import plural, print_findings
from promoter.cli.commands.promote_aic import aic_pair, aic_promoted, finish_aic
from promoter.cli.commands.promote_io import (
    WriteOptions,
    confirm,
    print_json,
    print_unverified,
    refused,
    refused_early,
    store_missing,
)
from promoter.files.safeopen import read_local_text
from promoter.project.load import load_project
from promoter.project.pins import pin_path
from promoter.project.types import AicTarget, FileTarget, IdmTarget, Project
from promoter.promotion import journal
from promoter.promotion.ledger import is_verified
from promoter.promotion.prepare import (
    PinChange,
    adjacency,
    prepare_promotion,
    prepare_rollback,
    rendered_path,
)
from promoter.promotion.write import CommitFailed, recover, write_change


def run_promote(root: Path, src: str, dst: str, options: WriteOptions) -> int:
    project = load_project(root)
    refusal = adjacency(project, src, dst)
    if refusal is not None:
        print_findings([refusal])
        print(f"refused: {src} → {dst}", file=sys.stderr)
        return refused_early(project, src, dst, "not-next-stage", [refusal], options)
    with options.lock(root):
        _recover(project, options)
        # --apply delivers DST's secrets, so it needs DST's store; SRC's is never promoted
        strict = Compiler(project, store_optional=not options.apply)
        lenient = Compiler(project, store_optional=True)
        source, change = prepare_promotion(strict, src, dst, source_compiler=lenient)
        aic = aic_pair(project, source, change)
        if source.blocked:
            print_findings(source.findings)
            print(f"refused: {src} does not pass its own gates", file=sys.stderr)
            return refused_early(project, src, dst, "source-gates", source.findings, options)
        wanted = project.env(src)
        if wanted.require_verified and not is_verified(
            root, src, source.sha256, templates=wanted.require_templates
        ):
            print_unverified(src, templates=wanted.require_templates)
            return refused_early(project, src, dst, "not-verified", [], options)
        if aic:
            done = finish_aic(project, source, change, f"{src} → {dst}", options)
            if done is not None:
                return done
        return _finish(project, change, f"{src} → {dst}", f"promote {src} {dst}", options)


def run_rollback(root: Path, env: str, *, to: int | None, options: WriteOptions) -> int:
    project = load_project(root)
    project.env(env)
    with options.lock(root):
        _recover(project, options)
        change = prepare_rollback(Compiler(project, store_optional=not options.apply), env, to)
        if aic_promoted(project, env):
            done = finish_aic(project, None, change, f"rollback {env}", options)
            if done is not None:
                return done
        return _finish(project, change, f"rollback {env}", f"rollback {env}", options)


def _finish(
    project: Project, change: PinChange, title: str, command: str, options: WriteOptions
) -> int:
    """``command``: what was run (``promote dev staging``), named in a refusal."""
    compiled = change.compiled
    env = change.env
    action = command.split()[0]
    print_findings(compiled.findings)
    as_json = options.fmt == "json"
    if store_missing(change, options, f"promoter {command}"):
        if as_json:
            print_json(change, action, "refused")
        return 1
    if change.refused:
        return refused(change, action, as_json=as_json)
    if _already_holds(project, change):
        if as_json:
            print_json(change, action, "unchanged")
            return 0
        pin = change.pin_sha256[:12]
        what = "promote" if action == "promote" else "roll back"
        print(f"{env.name} already holds pin {pin}; nothing to {what}")
        if options.apply and not isinstance(env.target, FileTarget):
            print(
                f"not delivered: nothing changed (hint: promoter deliver {env.name} re-delivers)",
                file=sys.stderr,
            )
        return 0
    if not as_json:
        print(f"{title}: {plural(len(change.changes), 'change')} to {env.name}'s output")
        sys.stdout.write(change.diff_text())
    if options.dry_run:
        if as_json:
            print_json(change, action, "dry-run")
        else:
            print(f"dry run, nothing written (output sha256 {compiled.sha256})")
        return 0
    delivering = options.apply and isinstance(env.target, IdmTarget | AicTarget)
    if delivering and not options.yes and not confirm(env.name):
        print("cancelled, nothing written", file=sys.stderr)
        return 1
    verb = "promoted" if action == "promote" else "rolled back"
    title = title if action == "promote" else env.name
    out = project.display(rendered_path(project, env))
    try:
        entry = write_change(
            project, change, action=action, apply=options.apply, commit=options.commit
        )
    except CommitFailed as failed:
        pin = (failed.entry.pin_sha256 or "")[:12]
        print(f"{verb} {title}: {out} sha256 {compiled.sha256}, pin {pin} ({failed.entry.result})")
        print(f"not committed: {', '.join(failed.written)}")
        raise
    if as_json:
        print_json(change, action, entry.result, output=out)
        return 0
    pin = (entry.pin_sha256 or "")[:12]
    print(f"{verb} {title}: {out} sha256 {compiled.sha256}, pin {pin} ({entry.result})")
    return 0


def _already_holds(project: Project, change: PinChange) -> bool:
    """The pin and the rendered output are already exactly what this change would write."""

    try:
        pin = read_local_text(pin_path(project, change.env.name))
        rendered = read_local_text(rendered_path(project, change.env))
    except (OSError, UnicodeDecodeError):
        return False
    # compiled.sha256 hashes the masked output: compare the resolved text itself
    return pin == change.pin_text and rendered == change.compiled.text


def _recover(project: Project, options: WriteOptions) -> None:
    """A promotion a kill interrupted is finished first (a dry run only says so)."""

    if options.dry_run:
        if journal.pending(project.root):
            print(
                "note: an interrupted promotion is pending; the next promotion finishes it",
                file=sys.stderr,
            )
        return
    if recover(project):
        print(
            "note: finished a promotion that was interrupted (see promoter history)",
            file=sys.stderr,
        )
