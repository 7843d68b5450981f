"""``promoter check``: compile and gate environments, report every finding.

With ``--files``/``--staged`` only the environments the changed files affect are
checked. An unchanged repo replays the previous result from ``checkcache``
without importing the compiler at all.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from promoter.check import cache as checkcache
from promoter.check.checker import check_envs
from promoter.colour import emit
from promoter.project.load import load_project, with_stores_from


def run_check(
    root: Path,
    envs: Sequence[str],
    *,
    fmt: str,
    require_secrets: bool,
    use_cache: bool = True,
    files: Sequence[str] | None = None,
    staged: bool = False,
    origin: Path | None = None,
) -> int:
    if staged:
        return _check_staged(root, envs, fmt=fmt, require_secrets=require_secrets)
    argv_key = ["check", fmt, str(require_secrets), *envs]
    outside: list[str] = []
    if files is not None:
        files, outside = _changed(root, origin or Path.cwd(), files)
        argv_key += ["--files", *sorted(files), "--outside", *outside]
    replay = checkcache.lookup(root, argv_key) if use_cache else None
    if replay is None:
        replay, read, stores = check_envs(
            root, envs, fmt=fmt, require_secrets=require_secrets, changed=files, outside=outside
        )
        if use_cache and replay.code != 2:
            checkcache.store(root, argv_key, read, stores, replay)

    emit(replay.out)
    emit(replay.err, sys.stderr)
    return replay.code


def _check_staged(root: Path, envs: Sequence[str], *, fmt: str, require_secrets: bool) -> int:
    """Compile what the index holds (what the commit will hold), never the cache."""
    from promoter.files.git import removed, staged, staged_tree  # lazy: off check's path

    files = staged(root) + removed(root)
    with staged_tree(root) as tree:
        project = with_stores_from(load_project(tree), root)
        replay, _, _ = check_envs(
            tree, envs, fmt=fmt, require_secrets=require_secrets, changed=files, project=project
        )
    emit(replay.out)
    emit(replay.err, sys.stderr)
    return replay.code


def _changed(root: Path, origin: Path, files: Sequence[str]) -> tuple[list[str], list[str]]:
    """The files named (from ``origin``, as git passes them) and those the index deletes
    or renames away, relative to ``root``; and the named ones not under ``root``.

    A hook is never passed a deleted file, yet removing an overlay promoter.yaml still
    names must be judged.
    """
    from promoter.files.git import removed_if_git  # lazy: off the plain check's path
    from promoter.project.repo import repo_relative  # lazy: only --files maps paths

    inside, outside = repo_relative(root, origin, files)
    return sorted({*inside, *removed_if_git(root)}), outside
