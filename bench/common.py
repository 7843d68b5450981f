"""Shared helpers for the side-by-side benchmarks."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent
SCHEMA = REPO / "schemas" / "external.email.schema.json"


def ensure_bytecode() -> None:
    """Compile promoter's modules as `pip install` does.

    An editable install under PYTHONDONTWRITEBYTECODE=1 (as on this machine) would
    otherwise recompile every module on every run, which no real install does.
    """
    import compileall

    import promoter

    compileall.compile_dir(Path(promoter.__file__).parent, quiet=1)


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        sys.exit(f"{name} is not installed next to {sys.executable}: pip install '.[test]'")
    return str(path)


def wall(command: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    """Seconds for one run; the command must succeed."""
    start = time.perf_counter()
    proc = subprocess.run(
        command, cwd=cwd, capture_output=True, env={**os.environ, **(env or {})}, check=False
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    return elapsed


def alternate(
    commands: dict[str, tuple[Sequence[str], dict[str, str] | None]], cwd: Path, runs: int
) -> dict[str, list[float]]:
    """Run the commands in turn, ``runs`` rounds, so drift hits them all alike."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for command, env in commands.values():  # warm the OS caches once
        wall(command, cwd, env)
    for _ in range(runs):
        for name, (command, env) in commands.items():
            times[name].append(wall(command, cwd, env))
    return times


def median(values: list[float]) -> float:
    return statistics.median(values)
