"""Find the config repo: the nearest directory, here or above, that looks like one (as git does)."""

from __future__ import annotations

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
