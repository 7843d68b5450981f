"""Colour for report text: deny red, warn yellow, on a terminal only.

Its own small module: ``check`` replays a cached result through ``emit`` without
importing the reporters.
"""

from __future__ import annotations

import os
import re
import sys
from typing import TextIO

_SEVERITY = re.compile(r"(?m)^(\s*(?:\S[^\n]*?: )?)(deny|warn)\b")
_COLOURS = {"deny": "\033[31m", "warn": "\033[33m"}


def colour_on(stream: TextIO) -> bool:
    """Colour only on a terminal, and never with NO_COLOR set (no-color.org) or TERM=dumb."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def paint(text: str, stream: TextIO) -> str:
    """``text`` with each severity coloured (deny red, warn yellow) when ``stream`` wants it."""
    if not colour_on(stream):
        return text
    return _SEVERITY.sub(lambda m: f"{m[1]}{_COLOURS[m[2]]}{m[2]}\033[0m", text)


def emit(text: str, stream: TextIO | None = None) -> None:
    """Write report text to ``stream`` (stdout by default), coloured where it helps."""
    out = stream or sys.stdout
    out.write(paint(text, out))
