"""Run ``check`` over environments: compile each, collect findings and errors."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from promoter.check.cache import Replay
from promoter.check.compiler import Compiler
from promoter.check.report import REPORTERS, EnvResult, exit_code, summary
from promoter.errors import PromoterError
from promoter.project.load import load_project
from promoter.project.types import PROJECT_FILE, Project
from promoter.untrusted import escape_control


def check_envs(
    root: Path,
    envs: Sequence[str],
    *,
    fmt: str,
    require_secrets: bool,
    changed: Sequence[str] | None = None,
    project: Project | None = None,
    outside: Sequence[str] = (),
) -> tuple[Replay, list[Path], list[Path]]:
    """The report, and the files and secret stores it read (for the cache).

    ``changed``: check only the environments these repo-relative files affect.
    ``outside``: files named that are not under the repo (skipped, each said so).
    ``project``: already loaded (the index's copy, for the pre-commit hook).
    """
    project = project or load_project(root)
    names = list(envs) or list(project.environments)
    skipped = ""
    if changed is not None:
        from promoter.check.affected import affected, refuse_misplaced  # lazy: off check's path

        refuse_misplaced(project, outside)
        skipped = "".join(
            f"check: {escape_control(p)} skipped (not under the config repo {root})\n"
            for p in outside
        )
        hit = set(affected(project, changed))
        names = [n for n in names if n in hit]
        if not names:
            note = "no environment is affected by the changed files\n"
            out = note if fmt == "text" else REPORTERS[fmt]([])
            err = skipped + (note if fmt == "github" else "")  # stdout: workflow commands only
            return Replay(out, err, 0), [Path(PROJECT_FILE)], []
    for name in names:
        project.env(name)  # unknown names are a usage error before any work
    compiler = Compiler(project, store_optional=not require_secrets)
    results, loaded = compile_all(compiler, names)
    err = skipped + "".join(f"error: {r.error}\n" for r in results if r.error is not None)
    if fmt == "github":  # stdout holds workflow commands only: the summary goes with stderr
        err += summary(results) + "\n"
    files = [Path(project.display(path)) for path in loaded]
    stores = [Path(project.environments[name].store.display) for name in names]
    return Replay(REPORTERS[fmt](results), err, exit_code(results)), files, stores


PARALLEL_FROM = 200  # below this, forking costs more than it saves
_FORKED: Compiler | None = None  # the compiler a forked worker inherits


def compile_all(compiler: Compiler, names: list[str]) -> tuple[list[EnvResult], list[Path]]:
    """Check ``names`` in order; large runs use every core through forked workers."""
    workers = min(os.cpu_count() or 1, 8)
    if len(names) < PARALLEL_FROM or workers < 2 or not hasattr(os, "fork"):
        return [check_one(compiler, name) for name in names], compiler.loaded()
    import multiprocessing  # lazy: multiprocessing is off check's path

    # lazy: concurrent.futures is off check's path
    from concurrent.futures import ProcessPoolExecutor

    global _FORKED
    _FORKED = compiler  # inherited by the fork: nothing is imported or parsed again
    size = -(-len(names) // (workers * 4))
    chunks = [names[i : i + size] for i in range(0, len(names), size)]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        parts = list(pool.map(_check_chunk, chunks))
    _FORKED = None
    results = [result for part, _ in parts for result in part]
    loaded = sorted({path for _, paths in parts for path in paths})
    return results, loaded


def _check_chunk(names: list[str]) -> tuple[list[EnvResult], list[Path]]:
    assert _FORKED is not None
    return [check_one(_FORKED, name) for name in names], _FORKED.loaded()


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
