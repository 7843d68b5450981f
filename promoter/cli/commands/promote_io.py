"""What promote asks and tells: its options, the confirmation, refusals and --format json."""

from __future__ import annotations

import contextlib
import json
import sys
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from promoter.check.report import change_dicts, sorted_findings
from promoter.compile.references import purposes
from promoter.compile.secretstore import SecretStore
from promoter.findings import Finding
from promoter.project.types import Environment, Project
from promoter.promotion.lock import repo_lock
from promoter.promotion.prepare import (
    PinChange,
)


def print_json(
    change: PinChange,
    action: str,
    result: str,
    *,
    output: str | None = None,
    aic: dict[str, object] | None = None,
    extra_findings: list[Finding] | None = None,
) -> None:
    """``--format json``: what happened, the redacted changes and the findings."""

    redact = change.compiled.secret_values()
    if change.previous is not None:
        redact += change.previous.secret_values()
    document = promotion_document(
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
    write_json(document)


def promotion_document(
    action: str,
    env: Environment,
    source: str | None,
    result: str,
    findings: list[Finding],
    **fields: object,
) -> dict[str, object]:
    """The ``--format json`` document's shape (README: Output formats)."""

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


def write_json(document: dict[str, object]) -> None:

    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


@dataclass(frozen=True, slots=True)
class WriteOptions:
    dry_run: bool = False
    apply: bool = False
    commit: bool = False
    yes: bool = False
    lock_wait: float = 10.0
    allow_other_changes: bool = False  # AIC promotion: also promote the lower tenant's others
    fmt: str = "text"  # text | json (one JSON document on stdout)
    description: str | None = None  # AIC promotion metadata (--description)
    ticket: str | None = None  # AIC promotion metadata (--ticket)

    def lock(self, root: Path) -> AbstractContextManager[None]:
        """A dry run writes nothing at all, not even the lock file."""
        return contextlib.nullcontext() if self.dry_run else repo_lock(root, wait=self.lock_wait)


def confirm(env: str) -> bool:
    if not sys.stdin.isatty():
        return True  # CI: --apply is the decision
    answer = input(f"deliver to {env}'s IDM now? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def refused(change: PinChange, action: str, *, as_json: bool) -> int:
    env = change.env
    print(
        f"refused: {env.name} ({env.tier}) does not pass its gates; nothing written",
        file=sys.stderr,
    )
    if as_json:
        print_json(change, action, "refused")
    return 1


def store_missing(change: PinChange, options: WriteOptions, command: str) -> bool:
    """Say so in one line when this write needs DST's secrets and this machine lacks them.

    A dry run shows them masked and a ``render: references`` output keeps ``$purpose``:
    neither needs the store; ``--apply`` and a resolved output do."""
    env = change.env
    if options.dry_run or not (options.apply or env.render == "resolved"):
        return False
    if not any(purposes(change.compiled.merged.data)) or SecretStore(env.store).provisioned():
        return False
    flag = " --apply" if options.apply else ""
    why = "delivers" if options.apply else "writes the output with"
    print(
        f"refused: secret store {env.store.display}/ is not provisioned on this machine and "
        f"'{command}{flag}' needs it (it {why} {env.name}'s secrets); nothing written "
        f"(hint: run it where {env.store.display}/ is provisioned, or add --dry-run "
        "to see the redacted diff)",
        file=sys.stderr,
    )
    return True


def refused_early(
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
        document = promotion_document("promote", project.env(dst), src, "refused", findings)
        write_json({**document, "reason": reason})
    return 1


def to_stderr(line: str) -> None:
    print(line, file=sys.stderr)


def print_unverified(env: str, *, templates: bool = False) -> None:
    what = "email templates verification" if templates else "verification"
    flag = " --templates" if templates else ""
    print(
        f"refused: {env}'s current output has no successful {what} "
        f"(hint: promoter verify {env} --to you@example.com{flag})",
        file=sys.stderr,
    )
