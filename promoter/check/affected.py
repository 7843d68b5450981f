"""Which environments a set of changed files affects (pre-commit checks only those)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath

from promoter.errors import InputError, Location
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


def refuse_misplaced(project: Project, outside: Iterable[str]) -> None:
    """A path not under the repo that, taken from the repo instead, names a file it reads
    (``-C mail --files environments/staging.yaml`` run at the top of a monorepo): an
    input error, never a silent "nothing affected"."""
    for path in outside:
        if PurePosixPath(path).is_absolute() or not affected(project, [path]):
            continue
        raise InputError(
            "not under the config repo: paths are taken from the current directory",
            location=Location(path),
            hint=f"name it from here ({project.root / path}), or run in the config repo",
        )
