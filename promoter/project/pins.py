"""Pinned bases: the copy of base.yaml each later environment compiles from.

dev (the first stage) compiles from the working ``environments/base.yaml``;
every later stage from ``environments/<env>.pin.yaml``, written only by
``promote`` and ``rollback``. The pin is base's text verbatim under a header, so
``git diff`` shows exactly what a promotion changed. Until its first promotion
an environment compiles from the working base.
"""

from __future__ import annotations

from pathlib import Path

from promoter.files.safeopen import read_local_text
from promoter.project.types import Environment, Project

HEADER = (
    "# promoter pin: the base that {env} compiles from. Do not edit: change\n"
    "# environments/base.yaml and promote it ({path} -> {env}).\n"
)


def pin_path(project: Project, env: str) -> Path:
    return project.root / "environments" / f"{env}.pin.yaml"


def is_first_stage(project: Project, env: Environment) -> bool:
    order = project.order
    return not order or order[0] == env.name or env.name not in project.stages


def base_for(project: Project, env: Environment) -> Path | None:
    """The base file ``env`` compiles from now."""
    if not is_first_stage(project, env):
        pin = pin_path(project, env.name)
        if pin.is_file():
            return pin
    return project.base


def pin_text(project: Project, env: str, source: Path | None) -> str:
    """The pin ``env`` gets when promoted from a stage whose base is ``source``."""
    body = read_local_text(source) if source is not None else ""
    if body.startswith("# promoter pin:"):
        body = body.split("\n", 2)[2]  # re-pinning a pin: keep one header
    label = project.display(source) if source is not None else "no base"
    return HEADER.format(env=env, path=label) + body
