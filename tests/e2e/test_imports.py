"""The check path stays light: heavy modules load only in the commands that need them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("httpx", "watchdog", "jsonschema", "aiosmtpd", "prometheus_client", "cryptography", "jwt")


def test_check_imports_no_heavy_module(example: Path) -> None:
    probe = (
        "import sys, json\n"
        "from promoter.cli.main import main\n"
        "code = main(['check'])\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
        "sys.exit(code)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], cwd=example, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_public_surface_is_pinned() -> None:
    import promoter

    assert promoter.__all__ == ("main",)


def test_check_does_not_read_package_metadata_for_pydantic_plugins(example: Path) -> None:
    probe = (
        "import sys\n"
        "from promoter.cli.main import main\n"
        "code = main(['check', '--no-cache'])\n"
        "print('importlib.metadata' in sys.modules)\n"
        "from pydantic.plugin._loader import PYDANTIC_ENTRY_POINT_GROUP\n"  # the real module
        "print(PYDANTIC_ENTRY_POINT_GROUP)\n"
        "sys.exit(code)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], cwd=example, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-2:] == ["False", "pydantic"]
