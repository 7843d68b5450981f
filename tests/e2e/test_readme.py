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


@pytest.mark.readme
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


def test_readme_is_self_contained_and_links_the_docs() -> None:
    text = (REPO / "README.md").read_text()
    assert "../shared" not in text and "DESIGN.md" not in text
    for doc in ("real-world", "import", "security", "promotion-safety", "aic", "cli"):
        assert f"(docs/{doc}.md)" in text, doc
    assert "## Coming from fr-config-manager / frodo" in text
    assert "## Exit codes and errors" in text and "## Output formats" in text


def test_readme_shows_every_promoter_yaml_key() -> None:
    from pydantic import BaseModel

    from promoter.model import settings as project

    text = (REPO / "README.md").read_text()
    section = text.split("## promoter.yaml, key by key", 1)[1].split("\n## ", 1)[0]
    missing = []
    for model in (
        project.ProjectSettings,
        project.EnvSettings,
        project.StoreSettings,
        project.IdmTargetSettings,
        project.AicTargetSettings,
        project.OAuth2Settings,
        project.ServiceAccountSettings,
        project.WaiverSettings,
        project.ScanSettings,
        project.AllowSettings,
    ):
        assert issubclass(model, BaseModel)
        for name, field in model.model_fields.items():
            key = field.alias or name
            if f"{key}:" not in section and f"{key}," not in section:
                missing.append(f"{model.__name__}.{key}")
    assert missing == []
