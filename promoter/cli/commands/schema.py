"""``promoter schema``: print, write or check the generated JSON Schemas."""

from __future__ import annotations

import sys
from pathlib import Path

from promoter.model import schema
from promoter.model.schema import SCHEMA_DIR


def run_schema(root: Path, *, write: bool, check: bool) -> int:
    schemas = schema.texts()
    if write:
        for display in schema.write(root, schemas):
            print(f"wrote {display}", file=sys.stderr)
        _write_plans()
        return 0
    if check:
        stale = schema.stale(root, schemas)
        for name in stale:
            print(
                f"error: {SCHEMA_DIR}/{name}: out of date (hint: run 'promoter schema --write')",
                file=sys.stderr,
            )
        return 1 if stale else 0
    sys.stdout.write(schemas["external.email.schema.json"])
    return 0


def _write_plans() -> None:
    """In promoter's own checkout, the fast validator's plans follow the models too."""
    from promoter.model import plans  # lazy: loads pydantic; only a source checkout needs it

    if plans.source_checkout() is not None and plans.write_plans():
        print("wrote promoter/model/_plans.py", file=sys.stderr)
