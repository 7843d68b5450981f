"""JSON Pointers (RFC 6901): the one place their reference tokens are escaped."""

from __future__ import annotations


def escape(token: str) -> str:
    """Escape one JSON Pointer reference token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")
