"""Which JSON Pointers of a rendered output held secret values, kept in the repo's state.

A diff shows the old side from what the target holds; whether a value there is
a secret is decided by what that output was compiled from, not by today's
overlays (a ``$purpose`` that became a literal must not reveal the old secret).
``build/.promoter/records/<output>.secret-pointers.json`` lists them: the target's
directory (often IDM's own ``conf/``) holds the output and its ``.bak`` only. The
record is written before the output with the union of the old and new pointers and
made exact after, so it never lists fewer than the output holds. A record left beside
an output by an older promoter (``.<name>.secret-pointers``) is still read, and removed
once the new one is written.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promoter.compile.diff import flatten
from promoter.compile.render import LITERAL_SECRET_POINTERS
from promoter.files.atomic import write_atomic
from promoter.files.safeopen import read_local_text
from promoter.project.types import FileTarget
from promoter.targets.deliver import deliver
from promoter.untrusted import json_text

if TYPE_CHECKING:
    from promoter.check.compiler import Compiled
    from promoter.project.types import Environment


def output_path(root: Path, env: Environment) -> Path:
    """Where ``env``'s rendered output is kept: its file target, else build/<env>/conf/."""

    if isinstance(env.target, FileTarget):
        return env.target.path
    return root / "build" / env.name / "conf" / "external.email.json"


def deliver_recorded(
    root: Path,
    compiled: Compiled,
    *,
    delivered_sha256: str | None = None,
    immutable_hint: str | None = None,
    detail: dict[str, Any] | None = None,
) -> str:
    """``targets.deliver`` with the secret pointers recorded around it (see the module doc)."""

    output = output_path(root, compiled.env)
    pointers = compiled.secret_pointers
    remember(root, output, pointers, exact=False)
    summary = deliver(
        compiled,
        delivered_sha256=delivered_sha256,
        immutable_hint=immutable_hint,
        detail=detail,
        root=root,
    )
    if isinstance(compiled.env.target, FileTarget):  # an IDM target's record is kept as a union
        remember(root, output, pointers, exact=True)
    return summary


RECORDS = Path("build") / ".promoter" / "records"


def record_path(root: Path, output: Path) -> Path:
    """The record of ``output`` in the repo's state: named after its repo-relative path, or
    (outside the repo: IDM's conf/) after a digest of its absolute path."""
    absolute = Path(os.path.abspath(output))
    try:
        name = absolute.relative_to(Path(os.path.abspath(root))).as_posix().replace("/", "~")
    except ValueError:
        name = "outside-" + hashlib.sha256(str(absolute).encode()).hexdigest()[:16]
    return root / RECORDS / f"{name}.secret-pointers.json"


def legacy_record_path(output: Path) -> Path:
    return output.with_name(f".{output.name}.secret-pointers")


def recorded(root: Path, output: Path) -> set[str] | None:
    """The pointers recorded for ``output``; None when nothing was recorded."""
    for path in (record_path(root, output), legacy_record_path(output)):
        try:
            data = json_text(read_local_text(path))
        except (OSError, ValueError):
            continue
        if isinstance(data, list) and all(isinstance(p, str) for p in data):
            return set(data)
    return None


def text(pointers: Iterable[str]) -> str:
    return json.dumps(sorted(set(pointers))) + "\n"


def before_write(root: Path, output: Path, pointers: Iterable[str]) -> set[str]:
    """The record to write before ``output`` is replaced: old and new pointers."""
    return set(pointers) | (recorded(root, output) or set())


def remember(root: Path, output: Path, pointers: Iterable[str], *, exact: bool) -> None:

    held = recorded(root, output)
    wanted = set(pointers) if exact else set(pointers) | (held or set())
    path = record_path(root, output)
    if held != wanted or not path.is_file():
        write_atomic(path, text(wanted), secret=False, backup=False)
    legacy_record_path(output).unlink(missing_ok=True)  # the target directory: output + .bak


def old_side_secrets(root: Path, old: object, output: Path, new_side: set[str]) -> set[str]:
    """Pointers to mask in ``old`` (read from ``output``).

    Without a record (an output written by hand or by an older promoter) every
    value under ``/auth`` and every pointer that is secret today is masked.
    """
    found = recorded(root, output)
    if found is not None:
        return found | set(LITERAL_SECRET_POINTERS)
    return set(new_side) | set(LITERAL_SECRET_POINTERS) | _auth_pointers(old)


def _auth_pointers(old: object) -> set[str]:

    if not isinstance(old, dict):
        return set()
    return {p for p in flatten(old) if p == "/auth" or p.startswith("/auth/")}
