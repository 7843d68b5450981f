"""``promoter history ENV``: the ledger entries of one environment."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from promoter.errors import RefusedError
from promoter.project.load import load_project
from promoter.promotion import journal, ledger
from promoter.promotion.lock import repo_lock
from promoter.promotion.write import recover, written_dirs
from promoter.untrusted import escape_control

if TYPE_CHECKING:
    from promoter.project.types import Project


def run_history(root: Path, env: str, *, fmt: str) -> int:

    project = load_project(root)
    project.env(env)
    _recover(project)
    entries = ledger.history(root, env)
    if fmt == "json":
        sys.stdout.write(json.dumps([asdict(e) for e in entries], indent=2) + "\n")
        return 0
    if not entries:
        print(f"{env}: no promotions recorded in {ledger.LEDGER}")
        return 0
    print(
        f"{'#':>3}  {'time':<20}  {'action':<8}  {'from':<8}  {'pin':<12}  "
        f"{'output':<12}  {'gates':<24}  {'result':<11}  user"
    )
    for number, e in enumerate(entries, 1):
        gates = gate_words(e.gates)
        # every field is the ledger file's text: a hand-edited line may hold ESC, CSI, OSC
        # or a newline, so none reaches the terminal raw and none starts a line of its own
        time, action, result, user = (
            escape_control(v) for v in (e.time, e.action, e.result, e.user)
        )
        source = escape_control(e.source or "-")
        pin = escape_control((e.pin_sha256 or "-")[:12])
        output = escape_control((e.output_sha256 or "-")[:12])
        print(
            f"{number:>3}  {time:<20}  {action:<8}  {source:<8}  {pin:<12}  {output:<12}  "
            f"{gates:<24}  {result:<11}  {user}"
        )
    return 0


def _recover(project: Project) -> None:
    """Finish an interrupted promotion first, so the history shows it (only if one is pending)."""

    if not journal.pending(project.root, written_dirs(project)):
        return

    try:
        with repo_lock(project.root, wait=2.0):
            if recover(project):
                print("note: finished a promotion that was interrupted", file=sys.stderr)
    except RefusedError:
        pass  # a promotion is running: it finishes the journal itself


def gate_words(gates: dict[str, int]) -> str:
    """``1 deny, 2 warn`` (waived findings too), or ``no findings``."""
    parts = [f"{gates[k]} {k}" for k in ("deny", "warn", "waived") if gates.get(k)]
    return ", ".join(parts) or "no findings"
