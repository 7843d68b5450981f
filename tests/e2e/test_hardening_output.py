"""Hardening: loopback is parsed, not prefix-matched; untrusted text never forges output lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from promoter.hosts import is_loopback
from tests.conftest import cli, write

# --- loopback is an address in 127.0.0.0/8, ::1 or localhost: never a string prefix ----------

HTTP_WARNING = (
    "warn EMAIL008 target idm is http://: the IDM credentials and the resolved secrets cross "
    "the network in cleartext [/]"
)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("127.255.255.254", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("localhost.", True),
        ("127.relay.corp.example", False),
        ("127.0.0.1.nip.io", False),
        ("127", False),
        ("localhost.corp.example", False),
        ("128.0.0.1", False),
        ("::2", False),
        ("", False),
        (None, False),
    ],
)
def test_loopback_is_parsed_not_prefix_matched(host: str | None, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    "url", ["http://127.relay.corp.example/openidm", "http://127.0.0.1.nip.io:8080/openidm"]
)
def test_a_dns_name_starting_with_127_is_not_loopback_for_email008(example: Path, url: str) -> None:
    write(
        example / "promoter.yaml",
        "order: [dev, staging, prod]\n"
        "environments:\n"
        "  staging:\n"
        f'    target: {{idm: "{url}", bearerEnv: T}}\n',
    )
    run = cli("check", "--no-cache", "staging", cwd=example)
    assert f"  promoter.yaml:4:14: {HTTP_WARNING}" in (run.out + run.err).splitlines()


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.2:8080/openidm", "http://[::1]:8080/openidm", "http://LOCALHOST/openidm"],
)
def test_a_loopback_address_is_not_reported_by_email008(example: Path, url: str) -> None:
    write(
        example / "promoter.yaml",
        "order: [dev, staging, prod]\n"
        "environments:\n"
        "  staging:\n"
        f'    target: {{idm: "{url}", bearerEnv: T}}\n',
    )
    run = cli("check", "--no-cache", "staging", cwd=example)
    assert run.code == 0, run.out + run.err
    assert "EMAIL008" not in run.out + run.err


def _aic_dev(example: Path, url: str) -> None:
    write(
        example / "promoter.yaml",
        "order: [dev, staging, prod]\n"
        "environments:\n"
        "  dev:\n"
        f'    target: {{aic: "{url}", serviceAccount: {{idEnv: A, keyEnv: B}}}}\n',
    )


@pytest.mark.parametrize("url", ["http://127.0.0.2:8443", "http://[::1]:8443"])
def test_an_aic_target_takes_http_on_any_loopback_address(example: Path, url: str) -> None:
    _aic_dev(example, url)
    run = cli("check", "--no-cache", "dev", cwd=example)
    assert run.code == 0, run.out + run.err


@pytest.mark.parametrize("url", ["http://127.relay.corp.example", "http://127.0.0.1.nip.io"])
def test_an_aic_target_refuses_http_on_a_name_that_only_looks_local(
    example: Path, url: str
) -> None:
    _aic_dev(example, url)
    run = cli("check", "--no-cache", "dev", cwd=example)
    assert run.code == 2
    assert f"'{url}' is not a tenant environment URL" in run.err
