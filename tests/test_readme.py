"""README's two commands, run one after the other in a fresh clone, as a new user does."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.support.readme import readme_commands

# The clone's own suite runs this file too: the inner run skips it (no recursion).
INNER = "PROMOTER_README_INNER_RUN"


def test_readme_starts_with_the_two_commands() -> None:
    main_command, test_command = readme_commands((REPO / "README.md").read_text())
    assert main_command.endswith(".venv/bin/promote dev staging")
    assert test_command.endswith(".venv/bin/python -m pytest -q")


@pytest.mark.slow
@pytest.mark.skipif(bool(os.environ.get(INNER)), reason="inside the clone's own run")
def test_readme_commands_in_sequence_on_a_fresh_clone(tmp_path: Path) -> None:
    clone = tmp_path / "promoter"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    main_command, test_command = readme_commands((clone / "README.md").read_text())
    env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    env[INNER] = "1"
    first = subprocess.run(
        ["bash", "-c", main_command], cwd=clone, env=env, capture_output=True, text=True
    )
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    assert "promoted dev → staging" in first.stdout
    assert (clone / "environments" / "staging.pin.yaml").is_file()
    second = subprocess.run(
        ["bash", "-c", test_command], cwd=clone, env=env, capture_output=True, text=True
    )
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-2000:]
    assert " passed" in second.stdout.splitlines()[-1]
