"""The file target: the output written atomically (one .bak kept) and read back."""

from __future__ import annotations

from promoter.errors import Location, TargetError
from promoter.files.atomic import write_atomic
from promoter.project.types import FileTarget


def write_file(target: FileTarget, text: str, *, secret: bool) -> str:
    """Write ``text`` to the file target, read it back, and say what was done."""
    write_atomic(target.path, text, secret=secret, display=target.display)
    if target.path.read_text(encoding="utf-8") != text:
        raise TargetError(
            "read-back differs from what was written", location=Location(target.display)
        )
    return f"wrote {target.display}"
