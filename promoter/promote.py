"""Promotion: SRC's validated configuration moves to the next stage, DST, only."""

from __future__ import annotations

from dataclasses import dataclass

from promoter.errors import InputError
from promoter.findings import Finding
from promoter.pipeline import Compiled, Compiler
from promoter.project import Project


@dataclass(slots=True)
class Plan:
    src: Compiled
    dst: Compiled
    findings: list[Finding]  # EMAIL013 plus DST's gates

    @property
    def refused(self) -> bool:
        return self.src.blocked or self.dst.blocked or any(f.blocking for f in self.findings)


def adjacency(project: Project, src: str, dst: str) -> Finding | None:
    """EMAIL013: promotion must go to the very next stage of ``order``."""
    order = project.order
    for name in (src, dst):
        project.env(name)
        if name not in order:
            raise InputError(
                f"'{name}' is not in the promotion order ({' → '.join(order)})",
                hint="add it to 'order' in promoter.yaml",
            )
    if order.index(dst) == order.index(src) + 1:
        return None
    direction = "goes backwards" if order.index(dst) <= order.index(src) else "skips a stage"
    expected = order[order.index(src) + 1] if order.index(src) + 1 < len(order) else None
    return Finding(
        "EMAIL013",
        "deny",
        dst,
        "",
        None,
        f"promotion {src} → {dst} {direction}; the path is {' → '.join(order)}",
        f"promote {src} {expected}" if expected else f"{src} is the last stage",
    )


def plan(compiler: Compiler, src: str, dst: str) -> Plan | Finding:
    """Compile SRC with its own gates, and DST at DST's tier; or the EMAIL013 refusal."""
    refusal = adjacency(compiler.project, src, dst)
    if refusal is not None:
        return refusal
    source = compiler.compile(src)
    target = compiler.compile(dst, base=compiler.base_path(compiler.project.env(src)))
    return Plan(src=source, dst=target, findings=list(target.findings))
