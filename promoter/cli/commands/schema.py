"""``promoter schema``: print, write or check the generated JSON Schemas."""

from __future__ import annotations

import sys
from pathlib import Path

from promoter.files.atomic import write_atomic
from promoter.model.schema import SCHEMA_DIR, generate, render


def run_schema(root: Path, *, write: bool, check: bool) -> int:
    schemas = {name: render(schema) for name, schema in generate().items()}
    directory = root / SCHEMA_DIR
    if write:
        for name, text in schemas.items():
            write_atomic(
                directory / name, text, secret=False, display=f"{SCHEMA_DIR}/{name}", backup=False
            )
            print(f"wrote {SCHEMA_DIR}/{name}", file=sys.stderr)
        _write_plans()
        return 0
    if check:
        stale = [n for n, t in schemas.items() if _read(directory / n) != t]
        for name in stale:
            print(
                f"error: {SCHEMA_DIR}/{name}: out of date (hint: run 'promoter schema --write')",
                file=sys.stderr,
            )
        return 1 if stale else 0
    sys.stdout.write(schemas["external.email.schema.json"])
    return 0


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def _write_plans() -> None:
    """In promoter's own checkout, the fast validator's plans follow the models too."""
    from promoter.model import plans  # lazy: loads pydantic; only a source checkout needs it

    if plans.source_checkout() is not None and plans.write_plans():
        print("wrote promoter/model/_plans.py", file=sys.stderr)
