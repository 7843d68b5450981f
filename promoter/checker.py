"""Run ``check`` over environments: compile each, collect findings and errors."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from promoter.checkcache import Replay
from promoter.errors import PromoterError
from promoter.pipeline import Compiler
from promoter.project import PROJECT_FILE, load_project
from promoter.report import REPORTERS, EnvResult, exit_code


def check_envs(
    root: Path,
    envs: Sequence[str],
    *,
    fmt: str,
    require_secrets: bool,
    changed: Sequence[str] | None = None,
) -> tuple[Replay, list[Path], list[Path]]:
    """The report, and the files and secret stores it read (for the cache).

    ``changed``: check only the environments these repo-relative files affect.
    """
    project = load_project(root)
    names = list(envs) or list(project.environments)
    if changed is not None:
        from promoter.affected import affected

        hit = set(affected(project, changed))
        names = [n for n in names if n in hit]
        if not names:
            note = "no environment is affected by the changed files\n"
            out = note if fmt == "text" else REPORTERS[fmt]([])
            return Replay(out, "", 0), [Path(PROJECT_FILE)], []
    for name in names:
        project.env(name)  # unknown names are a usage error before any work
    compiler = Compiler(project, store_optional=not require_secrets)
    results = [check_one(compiler, name) for name in names]
    err = "".join(f"error: {r.error}\n" for r in results if r.error is not None)
    files = [Path(project.display(path)) for path in compiler.loaded()]
    stores = [Path(project.environments[name].store.display) for name in names]
    return Replay(REPORTERS[fmt](results), err, exit_code(results)), files, stores


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
