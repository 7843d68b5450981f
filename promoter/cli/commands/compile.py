"""``promoter compile ENV``: print the masked output, or write the real one with ``-o``.

The masked preview works without the environment's secret store (a laptop without
prod's secrets): an absent store is a warning there, as in ``check``. Writing the
real file (``-o FILE``, or ``-o -`` for stdout) needs every secret.
"""

from __future__ import annotations

import sys
from pathlib import Path

from promoter.check.compiler import Compiler
from promoter.check.report import print_findings
from promoter.errors import InputError
from promoter.files.atomic import write_atomic
from promoter.project.load import load_project


def run_compile(root: Path, env: str, *, output: str | None, force: bool = False) -> int:
    project = load_project(root)
    to_stdout = output == "-"
    if to_stdout and sys.stdout.isatty() and not force:
        raise InputError(
            "-o - prints the resolved secrets to this terminal; refused",
            hint="redirect it (-o - > FILE, or | kubectl ...), write -o FILE, or pass --force",
        )
    compiled = Compiler(project, store_optional=output is None).compile(env)
    print_findings(compiled.findings)
    if compiled.blocked or compiled.text is None or compiled.masked is None:
        print(f"error: {env}: refused; nothing written", file=sys.stderr)
        return 1
    if output is None:
        sys.stdout.write(compiled.masked)
        return 0
    if to_stdout:
        sys.stdout.write(compiled.text)
        return 0
    path = Path(output)
    write_atomic(path, compiled.text, secret=compiled.holds_secrets, display=output)
    mode = "0600" if compiled.holds_secrets else "0644"
    print(f"wrote {output} (sha256 {compiled.sha256}, mode {mode})", file=sys.stderr)
    return 0
