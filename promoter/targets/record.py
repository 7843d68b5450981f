"""Which JSON Pointers of a rendered output held secret values, kept in the repo's state.

A diff shows the old side from what the target holds; whether a value there is
a secret is decided by what that output was compiled from, not by today's
overlays (a ``$purpose`` that became a literal must not reveal the old secret).
``build/.promoter/secret-pointers/<env>.json`` lists them: the repo's own state,
never a file in the target's directory (a file target is often IDM's ``conf/``,
which holds the output and its ``.bak`` only). It is written before the output
with the union of the old and new pointers and made exact after, so it never
lists fewer than the output holds. A record an older promoter left beside the
output (``.<name>.secret-pointers``) is read while no new one exists, and
removed once the new one is written.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from promoter.compile.diff import flatten
from promoter.compile.render import LITERAL_SECRET_POINTERS
from promoter.files.atomic import write_atomic
from promoter.project.types import FileTarget
from promoter.targets.deliver import deliver

if TYPE_CHECKING:
    from promoter.check.compiler import Compiled
    from promoter.project.types import Environment

RECORDS = Path("build") / ".promoter" / "secret-pointers"


@dataclass(frozen=True, slots=True)
class Record:
    """Where one environment's secret pointers are kept (and where older promoters kept them)."""

    path: Path
    legacy: Path


def record_for(root: Path, env: Environment) -> Record:
    legacy = output_path(root, env)
    return Record(
        root / RECORDS / f"{env.name}.json",
        legacy.with_name(f".{legacy.name}.secret-pointers"),
    )


def output_path(root: Path, env: Environment) -> Path:
    """Where ``env``'s rendered output is kept: its file target, else build/<env>/conf/."""

    if isinstance(env.target, FileTarget):
        return env.target.path
    return root / "build" / env.name / "conf" / "external.email.json"


def deliver_recorded(root: Path, compiled: Compiled) -> str:
    """``targets.deliver`` with the secret pointers recorded around it (see the module doc)."""

    record = record_for(root, compiled.env)
    pointers = compiled.secret_pointers
    remember(record, pointers, exact=False)
    summary = deliver(compiled)
    if isinstance(compiled.env.target, FileTarget):  # an IDM target's record is kept as a union
        remember(record, pointers, exact=True)
    return summary


def recorded(record: Record) -> set[str] | None:
    """The pointers recorded for the output; None when nothing was recorded."""
    for path in (record.path, record.legacy):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue
        except (OSError, ValueError):
            return None
        if not isinstance(data, list) or not all(isinstance(p, str) for p in data):
            return None
        return set(data)
    return None


def text(pointers: Iterable[str]) -> str:
    return json.dumps(sorted(set(pointers))) + "\n"


def before_write(record: Record, pointers: Iterable[str]) -> set[str]:
    """The record to write before the output is replaced: old and new pointers."""
    return set(pointers) | (recorded(record) or set())


def remember(record: Record, pointers: Iterable[str], *, exact: bool) -> None:

    held = recorded(record)
    wanted = set(pointers) if exact else set(pointers) | (held or set())
    if held != wanted or not record.path.is_file():
        write_atomic(record.path, text(wanted), secret=False, backup=False)
    drop_legacy(record)


def drop_legacy(record: Record) -> None:
    """The new record is written: an older promoter's file beside the output goes."""
    with contextlib.suppress(OSError):
        record.legacy.unlink()


def old_side_secrets(old: object, record: Record, new_side: set[str]) -> set[str]:
    """Pointers to mask in ``old`` (what the target holds).

    Without a record (an output written by hand or by an older promoter) every
    value under ``/auth`` and every pointer that is secret today is masked.
    """
    found = recorded(record)
    if found is not None:
        return found | set(LITERAL_SECRET_POINTERS)
    return set(new_side) | set(LITERAL_SECRET_POINTERS) | _auth_pointers(old)


def _auth_pointers(old: object) -> set[str]:

    if not isinstance(old, dict):
        return set()
    return {p for p in flatten(old) if p == "/auth" or p.startswith("/auth/")}
