"""Find the config repo: the nearest directory, here or above, that looks like one (as git does)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from promoter.project.types import PROJECT_FILE


def is_config_repo(directory: Path) -> bool:
    return (directory / PROJECT_FILE).is_file() or (directory / "environments").is_dir()


def find_root(start: Path) -> Path | None:
    """``start`` or its nearest parent holding promoter.yaml or environments/, else None."""
    start = start.resolve()
    for directory in (start, *start.parents):
        if is_config_repo(directory):
            return directory
    return None


def repo_relative(root: Path, origin: Path, paths: Iterable[str]) -> tuple[list[str], list[str]]:
    """Paths as given on the command line, taken from ``origin`` (the directory promoter
    was started in, before ``-C``: git runs hooks at the top of the work tree and passes
    paths from there), as paths relative to ``root``; and the ones not under ``root``.

    A path need not exist (a hook may name a file the commit deletes).
    """
    inside: list[str] = []
    outside: list[str] = []
    for name in paths:
        given = Path(os.path.normpath(origin / name.replace("\\", "/")))
        full = given.parent.resolve() / given.name  # a symlinked file stays where it is named
        try:
            inside.append(full.relative_to(root).as_posix())
        except ValueError:
            outside.append(name)
    return inside, outside
