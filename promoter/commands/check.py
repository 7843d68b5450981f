"""``promoter check``: compile and gate environments, report every finding."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from promoter.errors import PromoterError
from promoter.pipeline import Compiler
from promoter.project import load_project
from promoter.report import REPORTERS, EnvResult, exit_code


def run_check(root: Path, envs: Sequence[str], *, fmt: str, require_secrets: bool) -> int:
    project = load_project(root)
    names = list(envs) or list(project.environments)
    for name in names:
        project.env(name)  # unknown names are a usage error before any work
    compiler = Compiler(project, store_optional=not require_secrets)
    results = [check_one(compiler, name) for name in names]
    sys.stdout.write(REPORTERS[fmt](results))
    for result in results:
        if result.error is not None:
            print(f"error: {result.error}", file=sys.stderr)
    return exit_code(results)


def check_one(compiler: Compiler, name: str) -> EnvResult:
    env = compiler.project.env(name)
    result = EnvResult(env=name, tier=env.tier)
    try:
        compiled = compiler.compile(name)
    except PromoterError as exc:
        result.error = exc
        return result
    result.findings = compiled.findings
    result.sha256 = compiled.sha256
    return result
