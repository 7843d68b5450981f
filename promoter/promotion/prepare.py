"""Promotion and rollback: a pinned base moves one stage, gated, diffed and recorded.

``promote SRC DST`` compiles DST with SRC's base pinned (what reaches staging is
exactly what was validated in dev), gates it at DST's tier, shows a redacted
diff, then writes the pin, the rendered output and a ledger entry. ``rollback``
restores an earlier pin the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promoter.check.compiler import Compiled, Compiler
from promoter.compile import diff as diffs
from promoter.compile.render import sha256_hex
from promoter.errors import InputError, PromoterError, RefusedError
from promoter.files.safeopen import read_local_text
from promoter.files.yamlfile import parse_yaml
from promoter.findings import Finding
from promoter.project import pins
from promoter.project.types import Environment, Project
from promoter.promotion import ledger
from promoter.targets import record as outputrecord
from promoter.untrusted import json_text


@dataclass(slots=True)
class PinChange:
    """A new pin for one environment, compiled and gated, not yet written."""

    env: Environment
    pin_text: str
    compiled: Compiled
    previous: Compiled | None
    source: str | None = None
    changes: list[diffs.Change] = field(default_factory=list)

    @property
    def pin_sha256(self) -> str:
        return sha256_hex(self.pin_text)

    @property
    def refused(self) -> bool:
        return self.compiled.blocked

    def diff_text(self) -> str:
        redact = self.compiled.secret_values()
        if self.previous is not None:
            redact += self.previous.secret_values()
        return diffs.render(self.changes, redact=redact)


def adjacency(project: Project, src: str, dst: str) -> Finding | None:
    """EMAIL013: promotion must go to the very next stage of ``order``."""
    order = project.order
    for name in (src, dst):
        project.env(name)
        if name not in project.stages:
            raise InputError(
                f"'{name}' is not in the promotion order ({' → '.join(order)})",
                hint="add it to 'order' in promoter.yaml",
            )
    at_src, at_dst = project.stages[src], project.stages[dst]
    if at_dst == at_src + 1:
        return None
    direction = "goes backwards" if at_dst <= at_src else "skips a stage"
    following = at_src + 1
    return Finding(
        "EMAIL013",
        "deny",
        dst,
        "",
        None,
        f"promotion {src} → {dst} {direction}; the path is {' → '.join(order)}",
        f"promote {src} {order[following]}" if following < len(order) else f"{src} is last",
    )


def prepare_promotion(
    compiler: Compiler, src: str, dst: str, *, source_compiler: Compiler | None = None
) -> tuple[Compiled, PinChange]:
    """Compile SRC as it is and DST with SRC's base pinned.

    ``source_compiler``: SRC's, when it judges secrets differently (SRC's own secrets are
    never promoted, so a machine that delivers DST need not hold them)."""
    project = compiler.project
    require_pin(project, src)
    source = (source_compiler or compiler).compile(src)
    base = compiler.base_path(project.env(src))
    text = pins.pin_text(project, dst, base)
    # DST compiles from the file the pin copies, so findings and the diff cite lines that
    # exist and that the user edits (a dry run or a refused promotion writes no pin).
    origin: Path | bool = base if base is not None else False
    return source, prepare_pin(compiler, dst, text, source=src, base=origin)


def require_pin(project: Project, src: str) -> None:
    """A later stage passes on its pin; without one it would pass on the working base."""
    env = project.env(src)
    pin_file = pins.pin_path(project, src)
    if pins.is_first_stage(project, env) or pin_file.is_file():
        return
    earlier = project.order[project.stages[src] - 1]
    shown = project.display(pin_file)
    recorded = [e.pin_sha256 for e in ledger.history(project.root, src) if e.pin_sha256]
    if recorded:
        raise RefusedError(
            f"{shown} is missing, but the ledger records {src}'s pin {recorded[-1][:12]}: "
            f"promoting would pass on the working base instead",
            hint=f"restore it (git checkout -- {shown}, or 'promoter rollback {src} --to N'), "
            f"or promote {earlier} {src} again",
        )
    raise RefusedError(
        f"{src} has never been promoted, so it has no pin to pass on ({shown} does not exist)",
        hint=f"promote {earlier} {src} first",
    )


def prepare_pin(
    compiler: Compiler,
    name: str,
    text: str,
    *,
    source: str | None,
    base: Path | bool | None = None,
) -> PinChange:
    """``base``: the file ``text`` copies (cited by findings and the diff); else the pin itself."""
    project = compiler.project
    env = project.env(name)
    pin_file = pins.pin_path(project, name)
    if base is None:
        compiled = compiler.compile(name, base=parse_yaml(text, project.display(pin_file)))
    else:
        compiled = compiler.compile(name, base=base)
    previous: Compiled | None = None  # never promoted: all of the output is new
    if pin_file.is_file() or pins.is_first_stage(project, env):
        try:
            previous = compiler.compile(name)
        except PromoterError:
            previous = None  # the current state does not compile: show everything as new
    change = PinChange(env, text, compiled, previous, source)
    if compiled.output is not None:
        out = rendered_path(project, env)
        old = _rendered(project, env)
        if old is not None:  # mask it by what it was compiled from, not by today's overlays
            old_secret = outputrecord.old_side_secrets(
                project.root, old, out, compiled.secret_pointers
            )
        else:
            old = previous.output if previous is not None else None
            old_secret = previous.secret_pointers if previous is not None else set()
        change.changes = diffs.diff(
            old,
            compiled.output,
            secret_pointers=compiled.secret_pointers,
            old_secret_pointers=old_secret,
            labels=compiled.masks,
            locate=compiled.merged.loc,
        )
    return change


def prepare_rollback(compiler: Compiler, name: str, to: int | None) -> PinChange:
    """The pin of history entry ``to`` (1-based), or the one before the current pin."""
    root = compiler.project.root
    entries = ledger.history(root, name)
    if to is not None:
        if not 1 <= to <= len(entries) or not entries[to - 1].pin_sha256:
            raise InputError(
                f"{name} has no history entry {to} with a pin",
                hint=f"see 'promoter history {name}'",
            )
        sha = entries[to - 1].pin_sha256
    else:
        current_file = pins.pin_path(compiler.project, name)
        current = sha256_hex(read_local_text(current_file)) if current_file.is_file() else None
        earlier = [e.pin_sha256 for e in entries if e.pin_sha256 and e.pin_sha256 != current]
        if not earlier:
            raise RefusedError(
                f"{name} has no earlier pin to roll back to", hint=f"see 'promoter history {name}'"
            )
        sha = earlier[-1]
    assert sha is not None
    return prepare_pin(compiler, name, ledger.archived_pin(root, sha), source=None)


def _rendered(project: Project, env: Environment) -> Any:
    """What the last promotion rendered for ``env``, if it is still there."""

    try:
        return json_text(read_local_text(rendered_path(project, env)))
    except (OSError, ValueError):
        return None


def rendered_path(project: Project, env: Environment) -> Path:
    return outputrecord.output_path(project.root, env)
