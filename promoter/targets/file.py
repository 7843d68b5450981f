"""The file target: the output written atomically (one .bak kept) and read back."""

from __future__ import annotations

from promoter.errors import InputError, Location, TargetError
from promoter.files.atomic import write_atomic
from promoter.files.safeopen import Unreadable, read_file, read_text_file
from promoter.files.yamlfile import MAX_FILE_BYTES
from promoter.project.types import FileTarget


def write_file(target: FileTarget, text: str, *, secret: bool) -> str:
    """Write ``text`` to the file target, read it back, and say what was done."""
    write_atomic(target.path, text, secret=secret, display=target.display)
    try:
        held = read_file(target.path, MAX_FILE_BYTES)
    except OSError:
        held = None  # replaced under us by something that is no file of ours
    if held != text.encode("utf-8"):
        raise TargetError(
            "read-back differs from what was written", location=Location(target.display)
        )
    return f"wrote {target.display}"


def read_held(target: FileTarget) -> str | None:
    """What the file target holds (``None``: no file yet), read as overlays are: a FIFO,
    a device or a directory is refused without waiting, at most 1 MiB is read."""
    try:
        return read_text_file(target.path, MAX_FILE_BYTES)
    except Unreadable as exc:
        if exc.missing:
            return None
        raise InputError(
            f"target file is {exc.reason}", location=Location(target.display)
        ) from None
