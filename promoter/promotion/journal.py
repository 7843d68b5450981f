"""A promotion's writes as one transaction whose commit point is the journal.

1. stage: every new file (pin, archived pin, rendered output, its secret-pointer
   record) is written beside its final path as ``.<name>.txn-<id>.tmp``, fsynced;
2. journal: ``build/.promoter/journal.json`` names the moves and holds the ledger
   line (paths, hashes and the entry: never a secret value);
3. apply: each staged file is renamed over its final path;
4. record: the ledger line is appended (unless it is there already);
5. done: the journal is removed.

``recover`` runs before every promotion and rollback (and ``history``): a journal
left by a killed run is rolled forward (steps 3-5 are idempotent), and staged
files of a run killed before its journal are deleted. So the pin, the output and
the ledger agree after any kill, and ``history`` lists every promotion that
took effect.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from promoter.errors import InputError, Location, TargetError
from promoter.files.atomic import create_new, fsync_dir, keep_backup, remove_dead_temps
from promoter.files.safeopen import read_local_text
from promoter.promotion import ledger
from promoter.untrusted import json_text

JOURNAL = Path("build") / ".promoter" / "journal.json"
TEMP_MARK = ".txn-"


@dataclass(slots=True)
class Write:
    path: Path  # final path, absolute
    text: str
    mode: int = 0o644
    backup: bool = False  # keep the previous content as .bak


@dataclass(slots=True)
class Transaction:
    root: Path
    writes: list[Write] = field(default_factory=list)
    txn: str = field(default_factory=lambda: secrets.token_hex(6))

    def temp(self, path: Path) -> Path:
        return path.with_name(f".{path.name}{TEMP_MARK}{self.txn}.tmp")

    def commit(self, ledger_line: str) -> None:
        """Stage, journal, apply, record, done (see the module docstring)."""
        moves: list[dict[str, object]] = []
        staged: list[Path] = []
        try:
            for write in self.writes:
                temp = self.temp(write.path)
                _write_new(temp, write.text.encode("utf-8"), write.mode)
                staged.append(temp)
                moves.append(
                    {
                        "temp": _rel(self.root, temp),
                        "path": _rel(self.root, write.path),
                        "backup": write.backup,
                    }
                )
            journal: dict[str, object] = {"txn": self.txn, "moves": moves, "ledger": ledger_line}
            _write_journal(self.root, journal)
        except (OSError, TargetError) as exc:
            for temp in staged:  # nothing took effect: leave nothing behind
                with contextlib.suppress(OSError):
                    os.unlink(temp)
            if isinstance(exc, TargetError):
                raise
            where = Location(str(JOURNAL))
            raise TargetError(f"cannot write: {exc.strerror}", location=where) from None
        _finish(self.root, journal)


def recover(root: Path, directories: Iterable[Path]) -> bool:
    """Finish a journalled transaction, delete orphaned staged files. True if one was finished."""
    path = root / JOURNAL
    finished = False
    try:
        raw = read_local_text(path)
    except FileNotFoundError:
        raw = None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", location=Location(str(JOURNAL))) from None
    except UnicodeDecodeError:
        raw = ""  # not ours: refused below as not a promotion journal
    if raw is not None:
        try:
            journal = json_text(raw)
            valid = isinstance(journal["moves"], list) and isinstance(journal["ledger"], str)
        except (ValueError, KeyError, TypeError):
            valid = False
        if not valid:
            # a journal torn before its rename cannot exist (it is renamed into place);
            # one edited by hand is not ours to apply
            raise InputError(
                "not a promotion journal",
                location=Location(str(JOURNAL)),
                hint="inspect it; delete it to discard the interrupted promotion",
            ) from None
        _finish(root, journal)
        finished = True
    for directory in {d.resolve() for d in directories}:
        _clean_orphans(directory)
    return finished


def pending(root: Path, directories: Iterable[Path] = ()) -> bool:
    """A journal to finish, or staged files to delete."""
    if (root / JOURNAL).exists():
        return True
    for directory in directories:
        with contextlib.suppress(OSError):
            if any(_is_temp(name) for name in os.listdir(directory)):
                return True
    return False


def _is_temp(name: str) -> bool:
    return name.startswith(".") and TEMP_MARK in name and name.endswith(".tmp")


def _finish(root: Path, journal: dict[str, object]) -> None:

    moves = journal["moves"]
    assert isinstance(moves, list)
    for move in moves:  # each move is idempotent: a staged file still there was not renamed
        temp, final = root / str(move["temp"]), root / str(move["path"])
        if temp.exists():
            if move.get("backup") and final.exists():
                keep_backup(final)
            try:
                os.replace(temp, final)
                fsync_dir(final.parent)
            except OSError as exc:
                raise TargetError(
                    f"cannot write: {exc.strerror}",
                    location=Location(str(move["path"])),
                    hint="the promotion is journalled: the next promote or history finishes it",
                ) from None
    line = str(journal["ledger"])
    if line not in ledger.lines(root):
        ledger.append_line(root, line)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(root / JOURNAL)
    fsync_dir((root / JOURNAL).parent)


def _clean_orphans(directory: Path) -> None:
    """Staged files of a run killed before its journal, and backups' temporary files."""
    remove_dead_temps(directory)
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if _is_temp(name):
            with contextlib.suppress(OSError):
                os.unlink(directory / name)


def _write_journal(root: Path, journal: dict[str, object]) -> None:
    path = root / JOURNAL
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}{TEMP_MARK}{journal['txn']}.tmp")
    _write_new(temp, (json.dumps(journal) + "\n").encode("utf-8"), 0o644)
    try:
        os.replace(temp, path)
        fsync_dir(path.parent)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        with contextlib.suppress(OSError):
            if json.loads(path.read_text(encoding="utf-8")).get("txn") == journal["txn"]:
                os.unlink(path)  # renamed, but its directory could not be synced
        raise


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` (it must not exist) with ``mode`` from the start, write, fsync."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = create_new(path, mode)
    except OSError as exc:
        raise TargetError(f"cannot write: {exc.strerror}", location=Location(str(path))) from None
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except OSError as exc:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise TargetError(f"cannot write: {exc.strerror}", location=Location(str(path))) from None
    os.close(fd)


def _rel(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
