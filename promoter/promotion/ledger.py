"""The promotion ledger: JSON lines in the repo, and the pins it refers to.

``ledger/promotions.jsonl`` has one entry per promotion, rollback, delivery or
verification; ``ledger/pins/<sha256>.yaml`` keeps every pin ever written, so a
rollback can restore one. Entries never contain a secret value.
"""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from promoter.errors import InputError, Location
from promoter.files import git
from promoter.files.atomic import write_atomic
from promoter.files.safeopen import read_local_text
from promoter.project.types import LEDGER_FILE

LEDGER = LEDGER_FILE
PIN_ARCHIVE = Path("ledger") / "pins"


@dataclass(frozen=True, slots=True)
class Entry:
    action: str  # promote | rollback | deliver | verify
    env: str
    result: str  # promoted | applied | rolled-back | delivered | verified, + "-uncommitted"
    source: str | None = None  # the stage promoted from
    pin_sha256: str | None = None
    output_sha256: str | None = None
    git_commit: str | None = None
    gates: dict[str, int] = field(default_factory=dict)
    user: str = ""
    time: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


def new_entry(**values: Any) -> Entry:
    stamp = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return Entry(user=current_user(), time=stamp, **values)


def record(root: Path, **values: Any) -> Entry:
    """Append a new entry stamped with time, user and the repo's HEAD."""
    entry = stamped(root, **values)
    append(root, entry)
    return entry


def stamped(root: Path, **values: Any) -> Entry:
    """A new entry stamped with time, user and the repo's HEAD, not yet appended."""

    return new_entry(git_commit=git.head(root), **values)


def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def entry_line(entry: Entry) -> str:
    return json.dumps({k: v for k, v in asdict(entry).items() if v not in (None, {}, "")})


def append(root: Path, entry: Entry) -> None:
    append_line(root, entry_line(entry))


def lines(root: Path) -> list[str]:
    try:
        return _text(root / LEDGER).splitlines()
    except FileNotFoundError:
        return []


def _text(path: Path) -> str:
    """The ledger's text; unreadable (a FIFO, not UTF-8...) is an input error naming it."""
    try:
        return read_local_text(path)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", location=Location(str(LEDGER))) from None
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", location=Location(str(LEDGER))) from None


def append_line(root: Path, line: str) -> None:
    """Append one line with a single write, flushed to disk."""
    path = root / LEDGER
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_last(root: Path, old: Entry, new: Entry) -> None:
    """Rewrite the ledger's last line, ``old``'s, as ``new`` (atomically, under the repo lock).

    Only the entry this run just appended may be rewritten: anything else there is an error.
    """
    path = root / LEDGER
    kept = lines(root)
    if not kept or kept[-1] != entry_line(old):
        raise InputError("the last entry is not this run's", location=Location(str(LEDGER)))
    kept[-1] = entry_line(new)
    write_atomic(path, "\n".join(kept) + "\n", secret=False, display=str(LEDGER), backup=False)


def read(root: Path) -> list[Entry]:
    path = root / LEDGER
    try:
        lines = _text(path).splitlines()
    except FileNotFoundError:
        return []
    entries = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entries.append(_entry(json.loads(line)))
        except (ValueError, TypeError, RecursionError):
            raise InputError(
                "not a ledger entry", location=Location(str(LEDGER), number, 1)
            ) from None
    return entries


_STRINGS = ("action", "env", "result", "user", "time")
_OPTIONAL = ("source", "pin_sha256", "output_sha256", "git_commit")


def _entry(values: Any) -> Entry:
    """An Entry from a parsed line, each field of its type (else TypeError): a hand-edited
    or corrupt line must be a located error, not a crash where a field is used."""
    if not isinstance(values, dict):
        raise TypeError("not an object")
    for name in _STRINGS:
        if name in values and not isinstance(values[name], str):
            raise TypeError(name)
    for name in _OPTIONAL:
        if values.get(name) is not None and not isinstance(values[name], str):
            raise TypeError(name)
    gates = values.get("gates", {})
    if not isinstance(gates, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in gates.values()
    ):
        raise TypeError("gates")
    if not isinstance(values.get("detail", {}), dict):
        raise TypeError("detail")
    return Entry(**values)


def history(root: Path, env: str) -> list[Entry]:
    return [e for e in read(root) if e.env == env]


def archived_pin(root: Path, sha256: str) -> str:
    path = root / PIN_ARCHIVE / f"{sha256}.yaml"
    try:
        return read_local_text(path)
    except (OSError, UnicodeDecodeError):
        raise InputError(
            f"pin {sha256[:12]} is not in {PIN_ARCHIVE}/", hint="restore it from git history"
        ) from None


def is_verified(root: Path, env: str, sha256: str | None, *, templates: bool = False) -> bool:
    """``verify`` proved this output; with ``templates``, ``verify --templates`` did."""
    return any(
        e.action == "verify"
        and e.result == "verified"
        and e.output_sha256 == sha256
        and (not templates or (e.detail or {}).get("via") == "templates")
        for e in history(root, env)
    )
