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

from promoter import diff as diffs
from promoter import ledger, pins
from promoter.errors import InputError, PromoterError, RefusedError
from promoter.findings import Finding
from promoter.pipeline import Compiled, Compiler
from promoter.project import Environment, FileTarget, IdmTarget, Project
from promoter.render import sha256_hex
from promoter.targets import deliver, write_atomic
from promoter.yamlfile import parse_yaml


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


def prepare_promotion(compiler: Compiler, src: str, dst: str) -> tuple[Compiled, PinChange]:
    """Compile SRC as it is and DST with SRC's base pinned."""
    project = compiler.project
    source = compiler.compile(src)
    base = compiler.base_path(project.env(src))
    text = pins.pin_text(project, dst, base)
    # DST compiles from the file the pin copies, so findings and the diff cite lines that
    # exist and that the user edits (a dry run or a refused promotion writes no pin).
    origin: Path | bool = base if base is not None else False
    return source, prepare_pin(compiler, dst, text, source=src, base=origin)


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
        old = _rendered(project, env) or (previous.output if previous is not None else None)
        secret = compiled.secret_pointers | (previous.secret_pointers if previous else set())
        change.changes = diffs.diff(
            old,
            compiled.output,
            secret_pointers=secret,
            labels=compiled.masks,
            locate=compiled.merged.loc,
        )
    return change


def _rendered(project: Project, env: Environment) -> Any:
    """What the last promotion rendered for ``env``, if it is still there."""
    import json

    try:
        return json.loads(rendered_path(project, env).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def rendered_path(project: Project, env: Environment) -> Path:
    if isinstance(env.target, FileTarget):
        return env.target.path
    return project.root / "build" / env.name / "conf" / "external.email.json"


def write_change(
    project: Project, change: PinChange, *, action: str, apply: bool, commit: bool
) -> ledger.Entry:
    """Deliver (with ``apply``), then write pin, rendered output and ledger entry."""
    from promoter import gitrepo

    compiled = change.compiled
    if compiled.blocked or compiled.text is None or compiled.output is None:
        raise RefusedError(f"{change.env.name} does not pass its gates")
    ledger.read(project.root)  # a damaged ledger stops us before anything is delivered
    result = "promoted" if action == "promote" else "rolled-back"
    if apply and isinstance(change.env.target, IdmTarget):
        deliver(compiled)
        result = "applied"
    pin_file = pins.pin_path(project, change.env.name)
    write_atomic(
        pin_file, change.pin_text, secret=False, display=project.display(pin_file), backup=False
    )
    ledger.archive_pin(project.root, change.pin_sha256, change.pin_text)
    out = rendered_path(project, change.env)
    write_atomic(out, compiled.text, secret=compiled.holds_secrets, display=project.display(out))
    entry = ledger.record(
        project.root,
        action=action,
        env=change.env.name,
        result=result,
        source=change.source,
        pin_sha256=change.pin_sha256,
        output_sha256=compiled.sha256,
        gates=gate_summary(compiled.findings),
        detail={"changed": [c.pointer for c in change.changes]},
    )
    if commit:
        archived = ledger.PIN_ARCHIVE / f"{change.pin_sha256}.yaml"
        paths = [pin_file.relative_to(project.root), ledger.LEDGER, archived]
        gitrepo.commit(project.root, paths, commit_message(change, action))
    return entry


def gate_summary(findings: list[Finding]) -> dict[str, int]:
    return {
        "deny": sum(f.severity == "deny" and not f.waived for f in findings),
        "warn": sum(f.severity == "warn" and not f.waived for f in findings),
        "waived": sum(f.waived is not None for f in findings),
    }


def commit_message(change: PinChange, action: str) -> str:
    env = change.env.name
    title = f"promote {change.source} → {env}" if action == "promote" else f"rollback {env}"
    gates = gate_summary(change.compiled.findings)
    changed = ", ".join(c.pointer for c in change.changes) or "no output change"
    return (
        f"{title}\n\n"
        f"pin {change.pin_sha256[:12]}, output sha256 {change.compiled.sha256}\n"
        f"gates: {gates['deny']} deny, {gates['warn']} warn, {gates['waived']} waived\n"
        f"changed: {changed}\n"
    )


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
        current = sha256_hex(current_file.read_text()) if current_file.is_file() else None
        earlier = [e.pin_sha256 for e in entries if e.pin_sha256 and e.pin_sha256 != current]
        if not earlier:
            raise RefusedError(
                f"{name} has no earlier pin to roll back to", hint=f"see 'promoter history {name}'"
            )
        sha = earlier[-1]
    assert sha is not None
    return prepare_pin(compiler, name, ledger.archived_pin(root, sha), source=None)
