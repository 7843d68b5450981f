"""``promote SRC DST`` and ``promoter rollback ENV``: gate, diff, write, record."""

from __future__ import annotations

import contextlib
import sys
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from promoter.check.compiler import Compiled, Compiler
from promoter.check.report import plural, print_findings
from promoter.findings import Finding
from promoter.project.load import load_project
from promoter.project.types import AicTarget, Environment, FileTarget, IdmTarget, Project
from promoter.promotion.ledger import is_verified
from promoter.promotion.lock import repo_lock
from promoter.promotion.prepare import (
    CommitFailed,
    PinChange,
    adjacency,
    prepare_promotion,
    prepare_rollback,
    recover,
    rendered_path,
    write_change,
)


@dataclass(frozen=True, slots=True)
class WriteOptions:
    dry_run: bool = False
    apply: bool = False
    commit: bool = False
    yes: bool = False
    lock_wait: float = 10.0
    allow_other_changes: bool = False  # AIC promotion: also promote the lower tenant's others
    fmt: str = "text"  # text | json (one JSON document on stdout)

    def lock(self, root: Path) -> AbstractContextManager[None]:
        """A dry run writes nothing at all, not even the lock file."""
        return contextlib.nullcontext() if self.dry_run else repo_lock(root, wait=self.lock_wait)


def run_promote(root: Path, src: str, dst: str, options: WriteOptions) -> int:
    project = load_project(root)
    refusal = adjacency(project, src, dst)
    if refusal is not None:
        print_findings([refusal])
        print(f"refused: {src} → {dst}", file=sys.stderr)
        return _refused_early(project, src, dst, "not-next-stage", [refusal], options)
    with options.lock(root):
        _recover(project, options)
        source, change = prepare_promotion(Compiler(project), src, dst)
        aic = _aic_pair(project, source, change)
        if source.blocked:
            print_findings(source.findings)
            print(f"refused: {src} does not pass its own gates", file=sys.stderr)
            return _refused_early(project, src, dst, "source-gates", source.findings, options)
        if project.env(src).require_verified and not is_verified(root, src, source.sha256):
            print_unverified(src)
            return _refused_early(project, src, dst, "not-verified", [], options)
        if aic:
            return _finish_aic(project, source, change, f"{src} → {dst}", options)
        return _finish(project, change, f"{src} → {dst}", "promote", options)


def run_rollback(root: Path, env: str, *, to: int | None, options: WriteOptions) -> int:
    project = load_project(root)
    project.env(env)
    with options.lock(root):
        _recover(project, options)
        change = prepare_rollback(Compiler(project), env, to)
        if _aic_promoted(project, env):
            return _finish_aic(project, None, change, f"rollback {env}", options)
        return _finish(project, change, f"rollback {env}", "rollback", options)


def _finish(
    project: Project, change: PinChange, title: str, action: str, options: WriteOptions
) -> int:
    compiled = change.compiled
    env = change.env
    print_findings(compiled.findings)
    as_json = options.fmt == "json"
    if change.refused:
        return _refused(change, action, as_json=as_json)
    if _already_holds(project, change):
        if as_json:
            _print_json(change, action, "unchanged")
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
            _print_json(change, action, "dry-run")
        else:
            print(f"dry run, nothing written (output sha256 {compiled.sha256})")
        return 0
    delivering = options.apply and isinstance(env.target, IdmTarget | AicTarget)
    if delivering and not options.yes and not _confirm(env.name):
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
        _print_json(change, action, entry.result, output=out)
        return 0
    pin = (entry.pin_sha256 or "")[:12]
    print(f"{verb} {title}: {out} sha256 {compiled.sha256}, pin {pin} ({entry.result})")
    return 0


def _print_json(
    change: PinChange,
    action: str,
    result: str,
    *,
    output: str | None = None,
    aic: dict[str, object] | None = None,
    extra_findings: list[Finding] | None = None,
) -> None:
    """``--format json``: what happened, the redacted changes and the findings."""
    from promoter.check.report import change_dicts

    redact = change.compiled.secret_values()
    if change.previous is not None:
        redact += change.previous.secret_values()
    document = _document(
        action,
        change.env,
        change.source,
        result,
        change.compiled.findings + (extra_findings or []),
        output=output,
        output_sha256=change.compiled.sha256,
        pin_sha256=change.pin_sha256,
        changes=change_dicts(change.changes, redact=redact),
    )
    if aic is not None:
        document["aic"] = aic  # AIC's promotion and report ids
    _write_json(document)


def _document(
    action: str,
    env: Environment,
    source: str | None,
    result: str,
    findings: list[Finding],
    **fields: object,
) -> dict[str, object]:
    """The ``--format json`` document's shape (README: Output formats)."""
    from promoter.check.report import sorted_findings

    return {
        "action": action,
        "env": env.name,
        "tier": env.tier,
        "source": source,
        "result": result,
        "written": result not in ("refused", "unchanged", "dry-run"),
        "output": None,
        "output_sha256": None,
        "pin_sha256": None,
        "changes": [],
        **fields,
        "findings": [f.as_dict() for f in sorted_findings(findings)],
    }


def _write_json(document: dict[str, object]) -> None:
    import json

    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def _already_holds(project: Project, change: PinChange) -> bool:
    """The pin and the rendered output are already exactly what this change would write."""
    from promoter.project.pins import pin_path

    try:
        pin = pin_path(project, change.env.name).read_text(encoding="utf-8")
        rendered = rendered_path(project, change.env).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    # compiled.sha256 hashes the masked output: compare the resolved text itself
    return pin == change.pin_text and rendered == change.compiled.text


def _recover(project: Project, options: WriteOptions) -> None:
    """A promotion a kill interrupted is finished first (a dry run only says so)."""
    from promoter.promotion import journal

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


def _confirm(env: str) -> bool:
    if not sys.stdin.isatty():
        return True  # CI: --apply is the decision
    answer = input(f"deliver to {env}'s IDM now? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def _aic_promoted(project: Project, env: str) -> bool:
    from promoter.promotion.aic import lower_tenant

    return lower_tenant(project, project.env(env)) is not None


def _aic_pair(project: Project, source: Compiled, change: PinChange) -> bool:
    """An AIC-to-AIC promotion: EMAIL016 joins DST's findings (the flow is aic_promotion's)."""
    if not isinstance(change.env.target, AicTarget):
        return False
    from promoter.promotion.aic import check_pair, email016

    if check_pair(project, source.env.name, change.env.name) is None:
        return False
    change.compiled.findings += email016(source, change.compiled, project)
    return True


def _finish_aic(
    project: Project, source: Compiled | None, change: PinChange, title: str, options: WriteOptions
) -> int:
    """Promotion or rollback of an immutable AIC tenant: AIC's own flow, then pin and ledger."""
    from promoter.promotion import aic as aic_promotion

    compiled, env = change.compiled, change.env
    action = "promote" if source is not None else "rollback"
    if not (options.apply or options.dry_run):
        return _finish(project, change, title, action, options)  # the repo only
    as_json = options.fmt == "json"
    # With --format json, stdout carries one JSON document; progress goes to stderr.
    say = _to_stderr if as_json else print
    print_findings(compiled.findings)
    if change.refused:
        return _refused(change, action, as_json=as_json)
    if not as_json:
        print(f"{title}: {plural(len(change.changes), 'change')} to {env.name}'s output")
        sys.stdout.write(change.diff_text())
    if options.apply and not options.dry_run and not options.yes and not _confirm(env.name):
        print("cancelled, nothing written", file=sys.stderr)
        return 1
    try:
        if source is None:
            outcome = aic_promotion.rollback(project, env, out=say, dry_run=options.dry_run)
        else:
            flow = aic_promotion.Flow(
                project, source, compiled, allow_other_changes=options.allow_other_changes, out=say
            )
            outcome = flow.run(dry_run=options.dry_run)
    except aic_promotion.DryRunRefused as refused:
        print_findings(refused.findings)
        print(f"refused: {title}: {refused.message}; unlocked, nothing promoted", file=sys.stderr)
        if as_json:
            _print_json(change, action, "refused", extra_findings=refused.findings)
        return 1
    if options.dry_run:
        if as_json:
            _print_json(change, action, "dry-run", aic=outcome.detail()["aic"])
        else:
            print(f"dry run, nothing written (output sha256 {compiled.sha256})")
        return 0
    entry = write_change(
        project,
        change,
        action=action,
        apply=False,
        commit=options.commit,
        result=outcome.result,
        detail=outcome.detail(),
    )
    out = project.display(rendered_path(project, env))
    if as_json:
        _print_json(change, action, entry.result, output=out, aic=outcome.detail()["aic"])
        return 0
    verb = "promoted" if action == "promote" else "rolled back"
    pin = (entry.pin_sha256 or "")[:12]
    print(f"{verb} {title} through AIC: sha256 {compiled.sha256}, pin {pin} ({entry.result})")
    return 0


def _refused(change: PinChange, action: str, *, as_json: bool) -> int:
    env = change.env
    print(
        f"refused: {env.name} ({env.tier}) does not pass its gates; nothing written",
        file=sys.stderr,
    )
    if as_json:
        _print_json(change, action, "refused")
    return 1


def _refused_early(
    project: Project,
    src: str,
    dst: str,
    reason: str,
    findings: list[Finding],
    options: WriteOptions,
) -> int:
    """A promotion refused before anything was compiled for ``dst``: exit 1, and with
    ``--format json`` the usual document, its ``reason`` saying which check refused."""
    if options.fmt == "json":
        document = _document("promote", project.env(dst), src, "refused", findings)
        _write_json({**document, "reason": reason})
    return 1


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr)


def print_unverified(env: str) -> None:
    print(
        f"refused: {env}'s current output has no successful verification "
        f"(hint: promoter verify {env} --to you@example.com)",
        file=sys.stderr,
    )
