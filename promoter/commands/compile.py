"""``promoter compile ENV``: print the masked output, or write the real one with ``-o``."""

from __future__ import annotations

import sys
from pathlib import Path

from promoter.pipeline import Compiler
from promoter.project import load_project
from promoter.report import print_findings
from promoter.targets import write_atomic


def run_compile(root: Path, env: str, *, output: Path | None) -> int:
    project = load_project(root)
    compiled = Compiler(project).compile(env)
    print_findings(compiled.findings)
    if compiled.blocked or compiled.text is None or compiled.masked is None:
        print(f"error: {env}: refused; nothing written", file=sys.stderr)
        return 1
    if output is None:
        sys.stdout.write(compiled.masked)
        return 0
    write_atomic(output, compiled.text, secret=compiled.holds_secrets, display=str(output))
    mode = "0600" if compiled.holds_secrets else "0644"
    print(f"wrote {output} (sha256 {compiled.sha256}, mode {mode})", file=sys.stderr)
    return 0
