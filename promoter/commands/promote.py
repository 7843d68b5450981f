"""``promote SRC DST``: gate SRC, compile and gate DST, write DST's target."""

from __future__ import annotations

import sys
from pathlib import Path

from promoter.commands.compile import print_findings
from promoter.errors import InputError
from promoter.findings import Finding
from promoter.pipeline import Compiler
from promoter.project import FileTarget, load_project
from promoter.promote import plan
from promoter.targets import write_atomic


def run_promote(root: Path, src: str, dst: str, *, dry_run: bool) -> int:
    project = load_project(root)
    compiler = Compiler(project)
    result = plan(compiler, src, dst)
    if isinstance(result, Finding):
        print_findings([result])
        print(f"refused: {src} → {dst}", file=sys.stderr)
        return 1
    if result.src.blocked:
        print_findings(result.src.findings)
        print(f"refused: {src} does not pass its own gates", file=sys.stderr)
        return 1
    print_findings(result.findings)
    dst_env = result.dst.env
    if result.refused or result.dst.text is None:
        print(
            f"refused: {dst} ({dst_env.tier}) does not pass its gates; nothing written",
            file=sys.stderr,
        )
        return 1
    target = dst_env.target
    if not isinstance(target, FileTarget):
        raise InputError(
            f"{dst}: IDM delivery is not available in this version", hint="use a file target"
        )
    warnings = sum(1 for f in result.findings if not f.blocking)
    summary = f"{src} → {dst}: {target.display} sha256 {result.dst.sha256} ({warnings} warning(s))"
    if dry_run:
        print(f"dry run, nothing written: {summary}")
        return 0
    write_atomic(
        target.path, result.dst.text, secret=result.dst.holds_secrets, display=target.display
    )
    print(f"promoted {summary}")
    return 0
