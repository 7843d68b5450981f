"""JSON Pointers (RFC 6901): the one place their reference tokens are escaped."""

from __future__ import annotations


def escape(token: str) -> str:
    """Escape one JSON Pointer reference token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


def unescape(token: str) -> str:
    """The reference token ``escape`` made, as it was."""
    return token.replace("~1", "/").replace("~0", "~")
