"""The watcher's health address: taken from PROMOTER_HEALTH when --health is absent (one
per systemd instance), and an address already in use is a one-line input error (exit 2)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from promoter.cli.main import main
from tests.conftest import make_example


@pytest.fixture
def held_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_address_in_use_is_one_line_exit_2(
    tmp_path: Path, held_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_example(tmp_path / "repo")
    canary = "canary-health-9f3e1c7a-secret"
    creds = repo / "secrets/prod/idm.email.msgraph.credentials"
    creds.write_text(f'{{"clientId": "id", "clientSecret": "{canary}"}}')
    code = main(["-C", str(repo), "watch", "prod", "--health", f"127.0.0.1:{held_port}"])
    out, err = capsys.readouterr()
    assert canary not in out + err
    assert code == 2
    assert err.splitlines() == [
        f"error: --health 127.0.0.1:{held_port}: cannot listen there: the address is in use "
        "(hint: give each watcher its own port (--health HOST:PORT, or PROMOTER_HEALTH in the "
        "systemd instance's environment file))"
    ]


def _watch(repo: Path, health: str) -> subprocess.CompletedProcess[str]:
    """A subprocess: ignoring PROMOTER_HEALTH would leave a daemon running (the timeout)."""
    return subprocess.run(
        [sys.executable, "-m", "promoter", "watch", "prod"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=20,
        env={**os.environ, "PROMOTER_HEALTH": health},
    )


def test_address_in_use_from_the_environment_names_the_variable(
    tmp_path: Path, held_port: int
) -> None:
    run = _watch(make_example(tmp_path / "repo"), f"127.0.0.1:{held_port}")
    assert run.returncode == 2
    assert run.stderr.startswith(
        f"error: PROMOTER_HEALTH 127.0.0.1:{held_port}: cannot listen there: the address is in use"
    )
    assert len(run.stderr.splitlines()) == 1


def test_a_malformed_promoter_health_is_a_usage_error(tmp_path: Path) -> None:
    run = _watch(make_example(tmp_path / "repo"), "localhost")
    assert run.returncode == 2
    assert run.stderr.startswith("error: PROMOTER_HEALTH must be HOST:PORT")


def test_help_lists_every_exit_code_of_once(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["watch", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "PROMOTER_HEALTH" in out
    for code in ("0 delivered or unchanged", "1 refused", "2 bad input", "3 delivery failed"):
        assert code in out, code
