"""promoter: compile, gate, promote and hot-swap IDM external.email configurations."""

from __future__ import annotations

__all__ = ("main",)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; see ``promoter --help``."""
    from promoter.cli import main as _main

    return _main(argv)
