"""``promoter init``: a config repo a newcomer can use at once."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import cli

SCHEMA_LINE = "# yaml-language-server: $schema=../schemas/overlay.schema.json"


@pytest.mark.parametrize("kind", ["smtp", "msgraph"])
def test_init_makes_a_repo_that_check_passes(tmp_path: Path, kind: str) -> None:
    run = cli("init", "repo", "--type", kind, cwd=tmp_path)
    assert run.code == 0, run.err
    repo = tmp_path / "repo"
    assert run.out == f"created a config repo in repo ({kind}, 15 files)\n"
    check = cli("check", "--no-cache", cwd=repo)
    assert check.code == 0, check.out + check.err
    assert check.out.splitlines()[-1] == "3 environments checked: 3 ok, 0 not"
    for env in ("base", "dev", "staging", "prod"):
        assert (repo / f"environments/{env}.yaml").read_text().splitlines()[0] == SCHEMA_LINE
    assert (repo / "schemas/overlay.schema.json").is_file()
    for env in ("dev", "staging", "prod"):
        assert (repo / f"secrets/{env}/README.md").is_file()
    assert f"type: {kind}" in (repo / "environments/prod.yaml").read_text()
    promote = cli("promote", "dev", "staging", cwd=repo)
    assert promote.code == 0, promote.err


def test_init_ignores_build_and_the_upper_stores_in_git(tmp_path: Path) -> None:
    assert cli("init", cwd=tmp_path).code == 0
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    paths = [
        "build/staging/conf/external.email.json",
        "secrets/staging/idm.email.smtp.password",
        "secrets/prod/idm.email.smtp.password",
        "secrets/prod/README.md",
        "environments/prod.yaml",
    ]
    ignored = subprocess.run(
        ["git", "check-ignore", *paths], cwd=tmp_path, capture_output=True, text=True
    ).stdout.split()
    assert ignored == paths[:3]
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)
    scan = cli("scan", "--staged", cwd=tmp_path)
    assert scan.code == 0, scan.out


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    assert cli("init", cwd=tmp_path).code == 0
    overlay = tmp_path / "environments/dev.yaml"
    overlay.write_text("type: smtp\nhost: mine\n")
    again = cli("init", cwd=tmp_path)
    assert again.code == 1
    assert again.err.startswith(
        "error: .: would overwrite promoter.yaml, .gitignore, environments/base.yaml, ...; "
        "nothing written (hint: pass --force to overwrite them)"
    )
    assert overlay.read_text() == "type: smtp\nhost: mine\n"
    forced = cli("init", "--force", cwd=tmp_path)
    assert forced.code == 0
    assert overlay.read_text().startswith(SCHEMA_LINE)
