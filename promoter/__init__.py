"""promoter: compile, gate, promote and hot-swap IDM external.email configurations."""

from __future__ import annotations

from promoter.lean import skip_pydantic_plugins

__all__ = ("main",)

skip_pydantic_plugins()


def main(argv: list[str] | None = None) -> int:
    """Run the command line; see ``promoter --help``."""
    from promoter.cli.main import main as _main

    return _main(argv)
