from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# CI runs the same examples every time (HYPOTHESIS_PROFILE=ci in .ci/run), so a landing never
# depends on luck; a local run keeps exploring new ones and a failure it finds is pinned with
# @example.
settings.register_profile("ci", derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_PARTS = ("promoter.yaml", "environments", "secrets", "schemas")
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def tracked_files(*parts: str) -> list[str]:
    """The files of ``parts`` that git tracks in this checkout (relative paths).

    Tests build their repos from these, never from whatever the working tree holds:
    README's first command leaves ``environments/staging.pin.yaml``, ``ledger/`` and
    ``build/`` behind, and a developer's store may hold more files.
    """
    proc = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--", *parts],
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            "tests need a git checkout of promoter (they copy its tracked example files): "
            + proc.stderr.decode(errors="replace").strip()
        )
    return sorted(name for name in proc.stdout.decode().split("\0") if name)


def make_example(dest: Path) -> Path:
    """A copy of the shipped example config repo (its tracked files only) in ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in tracked_files(*EXAMPLE_PARTS):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    return dest


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return make_example(tmp_path / "repo")


def cli(*args: str, cwd: Path, script: str = "promoter", env: dict[str, str] | None = None) -> Run:
    """Run a console script as a user would, in a subprocess."""
    exe = BIN / script
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "promoter"]
    proc = subprocess.run(
        [*command, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.support.certs import make_tls

    return make_tls(tmp_path_factory.mktemp("tls"))


def set_target(repo: Path, env: str, target: str, extra: str = "") -> None:
    """Point ``env`` at a target in promoter.yaml (flow-style YAML mapping text)."""
    text = (repo / "promoter.yaml").read_text()
    marker = f"  {env}:\n"
    assert marker in text, f"{env} not in promoter.yaml"
    text = text.replace(marker, f"{marker}    target: {target}\n{extra}", 1)
    lines = [
        line
        for line in text.splitlines(True)
        if not (line.startswith("    target: {file:") and f"build/{env}/" in line)
    ]
    (repo / "promoter.yaml").write_text("".join(lines))
