"""A prepared promotion written: journal, then pin, output and ledger, and an optional commit."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from promoter.errors import RefusedError
from promoter.files import git
from promoter.files.atomic import PUBLIC_MODE, SECRET_MODE
from promoter.findings import Finding
from promoter.project import pins
from promoter.project.types import AicTarget, IdmTarget, Project
from promoter.promotion import journal, ledger
from promoter.promotion.prepare import PinChange, rendered_path
from promoter.targets import record as outputrecord
from promoter.targets.deliver import deliver


class CommitFailed(RefusedError):
    """The promotion is written and recorded, but ``git commit`` failed."""

    def __init__(self, message: str, *, written: list[str], entry: ledger.Entry) -> None:
        super().__init__(
            message,
            hint=f"the promotion took effect and is in the ledger as {entry.result}; "
            f"{', '.join(written)} are not committed: fix the cause and commit them yourself",
        )
        self.written = written
        self.entry = entry


def recover(project: Project) -> bool:
    """Finish a promotion a kill interrupted, delete its orphans (under the repo lock)."""

    return journal.recover(project.root, written_dirs(project))


def written_dirs(project: Project) -> list[Path]:
    """Every directory a promotion stages files in."""

    dirs = [project.root / "environments", project.root / ledger.PIN_ARCHIVE]
    dirs += [rendered_path(project, env).parent for env in project.environments.values()]
    dirs.append((project.root / journal.JOURNAL).parent)
    dirs.append(project.root / outputrecord.RECORDS)  # the secret-pointer records
    return dirs


def write_change(
    project: Project,
    change: PinChange,
    *,
    action: str,
    apply: bool,
    commit: bool,
    result: str | None = None,
    detail: dict[str, Any] | None = None,
) -> ledger.Entry:
    """Deliver (with ``apply``), then write pin, output and ledger entry as one transaction.

    ``result`` and ``detail`` come from a delivery done before (AIC's promotion flow).
    """

    compiled = change.compiled
    if compiled.blocked or compiled.text is None or compiled.output is None:
        raise RefusedError(f"{change.env.name} does not pass its gates")
    ledger.read(project.root)  # a damaged ledger stops us before anything is delivered
    if commit:
        git.preflight(project.root)  # no repo or no identity: refuse before any write
    result = result or ("promoted" if action == "promote" else "rolled-back")
    delivered: dict[str, Any] = {}
    if apply and isinstance(change.env.target, IdmTarget | AicTarget):
        deliver(compiled, detail=delivered, root=project.root)
        result = "applied"
    root = project.root
    pin_file = pins.pin_path(project, change.env.name)
    archived = root / ledger.PIN_ARCHIVE / f"{change.pin_sha256}.yaml"
    out = rendered_path(project, change.env)
    pointers = compiled.secret_pointers
    txn = journal.Transaction(root)
    txn.writes.append(journal.Write(pin_file, change.pin_text))
    if not archived.exists():
        txn.writes.append(journal.Write(archived, change.pin_text))
    record = outputrecord.text(outputrecord.before_write(root, out, pointers))
    txn.writes.append(journal.Write(outputrecord.record_path(root, out), record))
    mode = SECRET_MODE if compiled.holds_secrets else PUBLIC_MODE
    txn.writes.append(journal.Write(out, compiled.text, mode=mode, backup=True))
    entry = ledger.stamped(
        root,
        action=action,
        env=change.env.name,
        result=result,
        source=change.source,
        pin_sha256=change.pin_sha256,
        output_sha256=compiled.sha256,
        gates=gate_summary(compiled.findings),
        detail={
            "changed": [c.pointer for c in change.changes],
            **(detail or {}),
            **delivered,
            "txn": txn.txn,
        },
    )
    txn.commit(ledger.entry_line(entry))
    if result == "applied" or not isinstance(change.env.target, IdmTarget | AicTarget):
        outputrecord.remember(root, out, pointers, exact=True)  # the target holds this output now
    if commit:
        paths = [pin_file.relative_to(root), ledger.LEDGER, archived.relative_to(root)]
        try:
            git.commit(root, paths, commit_message(change, action))
        except RefusedError as exc:
            raise CommitFailed(
                exc.message,
                written=[p.as_posix() for p in paths],
                entry=_uncommitted(root, entry),
            ) from None
    return entry


def _uncommitted(root: Path, entry: ledger.Entry) -> ledger.Entry:
    """Rewrite this run's ledger entry to say its commit failed.

    The entry went into the ledger before ``git commit`` (the commit holds the ledger), so
    it read as a plain success naming a HEAD; now it names no commit and its result says so.
    """
    marked = replace(
        entry,
        result=f"{entry.result}-uncommitted",
        git_commit=None,
        detail={**entry.detail, "commit": "failed"},
    )
    ledger.replace_last(root, entry, marked)
    return marked


def gate_summary(findings: list[Finding]) -> dict[str, int]:
    return {
        "deny": sum(f.severity == "deny" and not f.waived for f in findings),
        "warn": sum(f.severity == "warn" and not f.waived for f in findings),
        "waived": sum(f.waived is not None for f in findings),
    }


def commit_message(change: PinChange, action: str) -> str:
    env = change.env.name
    title = f"promote {change.source} → {env}" if action == "promote" else f"rollback {env}"
    gates = gate_summary(change.compiled.findings)
    changed = ", ".join(c.pointer for c in change.changes) or "no output change"
    return (
        f"{title}\n\n"
        f"pin {change.pin_sha256[:12]}, output sha256 {change.compiled.sha256}\n"
        f"gates: {gates['deny']} deny, {gates['warn']} warn, {gates['waived']} waived\n"
        f"changed: {changed}\n"
    )
