"""Which environments a set of changed files affects (pre-commit checks only those)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath

from promoter.project.pins import is_first_stage, pin_path
from promoter.project.types import PROJECT_FILE, Project


def affected(project: Project, changed: Iterable[str]) -> list[str]:
    """Environment names, in promotion order, that depend on any of ``changed``."""
    paths = {PurePosixPath(p.replace("\\", "/")).as_posix().removeprefix("./") for p in changed}
    if PROJECT_FILE in paths:
        return list(project.environments)
    hit = []
    for name, env in project.environments.items():
        pin = project.display(pin_path(project, name))
        follows_base = is_first_stage(project, env) or not pin_path(project, name).is_file()
        store = env.store.display.rstrip("/") + "/"
        if (
            project.display(env.overlay) in paths
            or pin in paths
            or (follows_base and project.base_display in paths)
            or any(p.startswith(store) for p in paths)
        ):
            hit.append(name)
    return hit
