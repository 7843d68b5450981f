"""``promoter deliver ENV`` and ``promoter diff ENV``: push to, or compare with, the target."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from promoter.check.compiler import Compiled, Compiler
from promoter.check.report import change_dicts, plural, print_findings
from promoter.compile import diff as diffs
from promoter.errors import InputError, Location
from promoter.project.load import load_project
from promoter.project.types import AicTarget, FileTarget, IdmTarget
from promoter.promotion import ledger
from promoter.promotion.aic_stages import immutable_hint
from promoter.promotion.lock import repo_lock
from promoter.promotion.write import gate_summary
from promoter.targets import record as outputrecord
from promoter.targets.aic import AicClient
from promoter.targets.file import read_held
from promoter.targets.idm import IdmClient
from promoter.targets.record import deliver_recorded
from promoter.untrusted import json_text


def _compile(root: Path, env: str) -> Compiled:
    return Compiler(load_project(root)).compile(env)


def run_deliver(root: Path, env: str, *, lock_wait: float = 10.0) -> int:

    # read, compiled, delivered and recorded under the lock: a promotion or the watcher
    # in between would leave the target and the records (output record, ledger) disagreeing
    with repo_lock(root, wait=lock_wait, what=f"deliver {env}"):
        return _deliver(root, env)


def _deliver(root: Path, env: str) -> int:
    project = load_project(root)
    compiled = Compiler(project).compile(env)
    print_findings(compiled.findings)
    if compiled.blocked or compiled.text is None or compiled.output is None:
        print(f"refused: {env} does not pass its gates; nothing delivered", file=sys.stderr)
        return 1
    detail: dict[str, Any] = {}
    summary = deliver_recorded(
        root,
        compiled,
        detail=detail,
        delivered_sha256=_last_delivered(root, env),
        immutable_hint=immutable_hint(project, compiled.env),
    )
    ledger.record(
        root,
        action="deliver",
        env=env,
        result="unchanged" if summary.startswith("unchanged") else "delivered",
        output_sha256=compiled.sha256,
        gates=gate_summary(compiled.findings),
        detail=detail,
    )
    print(f"{env}: {summary} (sha256 {compiled.sha256})")
    return 0


def _last_delivered(root: Path, env: str) -> str | None:
    """The output the last ``deliver ENV`` left on the target, per the ledger."""
    for entry in reversed(ledger.history(root, env)):
        if entry.action == "deliver":
            return entry.output_sha256
    return None


def run_diff(root: Path, env: str, *, exit_code: bool, fmt: str = "text") -> int:
    compiled = _compile(root, env)
    if compiled.output is None:
        print_findings(compiled.findings)
        return 1

    target = compiled.env.target
    held = _held(target)
    recorded_at = outputrecord.output_path(root, compiled.env)
    changes = diffs.diff(
        held,
        compiled.output,
        secret_pointers=compiled.secret_pointers,
        old_secret_pointers=outputrecord.old_side_secrets(
            root, held, recorded_at, compiled.secret_pointers
        ),
        labels=compiled.masks,
        locate=compiled.merged.loc,
        skip_secrets=isinstance(target, IdmTarget | AicTarget),
    )
    where = target.display if isinstance(target, FileTarget) else target.url
    if fmt == "json":
        document = {
            "env": env,
            "target": where,
            "differs": bool(changes),
            "output_sha256": compiled.sha256,
            "changes": change_dicts(changes, redact=compiled.secret_values()),
        }
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        return 1 if exit_code and changes else 0
    if not changes:
        print(f"{env}: {where} holds what the repo compiles to")
        return 0
    print(f"{env}: {where} differs from the repo ({plural(len(changes), 'change')}, target → repo)")
    sys.stdout.write(diffs.render(changes, redact=compiled.secret_values()))
    return 1 if exit_code else 0


def _held(target: FileTarget | IdmTarget | AicTarget) -> Any:
    if isinstance(target, AicTarget):
        with AicClient(target, label="the tenant") as client:
            return client.get_config()
    if isinstance(target, IdmTarget):
        return IdmClient(target).get_config()
    text = read_held(target)
    if text is None:
        return None
    try:
        return json_text(text)
    except ValueError:
        raise InputError(
            "target file is not readable JSON", location=Location(target.display)
        ) from None
