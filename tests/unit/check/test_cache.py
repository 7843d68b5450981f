from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import cli

CACHE = Path("build/.promoter/check-cache.json")


def test_unchanged_repo_replays_the_same_result(example: Path) -> None:
    first = cli("check", "--format", "json", cwd=example)
    assert (example / CACHE).exists()
    second = cli("check", "--format", "json", cwd=example)
    assert (second.code, second.out, second.err) == (first.code, first.out, first.err)


def test_an_overlay_change_is_seen(example: Path) -> None:
    assert cli("check", "staging", cwd=example).code == 0
    overlay = example / "environments/staging.yaml"
    overlay.write_text(overlay.read_text().replace("port: 587", "port: 25"))
    run = cli("check", "staging", cwd=example)
    assert "EMAIL006" in run.out


def test_a_rotated_secret_is_seen(example: Path) -> None:
    assert cli("check", "prod", cwd=example).code == 0
    creds = example / "secrets/prod/idm.email.msgraph.credentials"
    replacement = creds.with_name("new")
    replacement.write_text('{"clientId": "only-the-id"}')
    os.replace(replacement, creds)  # rename into place, as Vault Agent does
    run = cli("check", "prod", "--format", "json", cwd=example)
    assert json.loads(run.out)["environments"][0]["findings"][0]["rule"] == "EMAIL009"


def test_promoter_yaml_and_new_environments_are_seen(example: Path) -> None:
    assert cli("check", cwd=example).code == 0
    (example / "environments/qa.yaml").write_text("host: ''\nauth: {enable: false}\n")
    assert "qa (production): refused" in cli("check", cwd=example).out
    (example / "promoter.yaml").write_text("environments:\n  qa: {tier: development}\n")
    assert "qa (development): ok" in cli("check", cwd=example).out


def test_no_cache_flag_and_environment_variable(example: Path) -> None:
    assert cli("check", "--no-cache", cwd=example).code == 0
    assert not (example / CACHE).exists()
    assert cli("check", cwd=example, env={"PROMOTER_NO_CACHE": "1"}).code == 0
    assert not (example / CACHE).exists()


def test_the_cache_holds_no_secret_value(example: Path) -> None:
    cli("check", cwd=example)
    text = (example / CACHE).read_text()
    assert "EXAMPLE-not-a-real" not in text


def test_the_code_stamp_covers_every_room_of_the_package() -> None:
    """A change to a gate (not only to check/) must invalidate cached results."""
    from promoter.check.cache import _code_stamp

    stamp = _code_stamp()
    for module in ("gates/run.py", "gates/aic.py", "targets/aic.py", "project/load.py"):
        assert f"{module}:" in stamp
