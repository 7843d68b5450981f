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


# --- scan --format github: every stdout line is one workflow command, escaped as GitHub says ----

REAL = "Qx8~vN2pLw7Rt5Zk3Jm9"  # a stand-in secret (tests/e2e/test_scan.py), never printed
FORGED = "::error file=forged.json::forged"


def test_a_file_name_cannot_forge_a_workflow_command(example: Path) -> None:
    name = f"exports/a,b:c%\n{FORGED}\r\x1b[2J.json"
    write(example / name, f'{{"auth": {{"clientSecret": "{REAL}"}}}}\n')
    run = cli("scan", name, "--format", "github", cwd=example)
    assert run.code == 1, run.err
    assert REAL not in run.out + run.err
    lines = run.out.split("\n")
    assert lines[-1] == "" and "\r" not in run.out and "\x1b" not in run.out
    assert len(lines[:-1]) == 1, lines
    escaped = "exports/a%2Cb%3Ac%25%0A%3A%3Aerror file=forged.json%3A%3Aforged%0D\\x1b[2J.json"
    assert lines[0].startswith(f"::error file={escaped},line=1,col=11::[scan] SECRET001 ")


def test_a_message_escapes_percent_cr_and_lf_only(example: Path) -> None:
    from promoter.check.report import escape_data, escape_property

    assert escape_data("a%b\r\nc:d,e") == "a%25b%0D%0Ac:d,e"
    assert escape_property("a%b\r\nc:d,e") == "a%25b%0D%0Ac%3Ad%2Ce"
    assert escape_data("\x1b]0;title\x07") == "\\x1b]0;title\\x07"


def test_scan_github_stdout_holds_workflow_commands_only(example: Path) -> None:
    write(example / "export.json", f'{{"auth": {{"clientSecret": "{REAL}"}}}}\n')
    run = cli("scan", "export.json", "--format", "github", cwd=example)
    assert run.code == 1, run.err
    lines = run.out.splitlines()
    assert lines and all(line.startswith(("::error ", "::warning ")) for line in lines), lines
    assert "environment" not in run.out
    assert run.err.splitlines()[-1] == "scan: 1 file, 1 finding, 1 blocking"
    clean = cli("scan", "--format", "github", cwd=example)
    assert (clean.code, clean.out) == (0, ""), clean.out + clean.err
    assert clean.err.startswith("scan: ") and ", 0 findings, 0 blocking" in clean.err


def test_check_github_stdout_holds_workflow_commands_only(example: Path) -> None:
    (example / "environments/staging.yaml").write_text("host: ''\nauth: {enable: false}\n")
    run = cli("check", "--no-cache", "staging", "--format", "github", cwd=example)
    assert run.code == 1
    lines = run.out.splitlines()
    assert lines and all(line.startswith(("::error ", "::warning ")) for line in lines), lines
    assert run.err.splitlines()[-1] == "1 environment checked: 0 ok, 1 not"


# --- history and dev-smtp: text from a file or a client never drives the terminal ------------

LEDGER_LINE = (
    '{"action": "promote", "env": "staging", "result": "promoted", "source": "dev",'
    ' "pin_sha256": "\\u001b[2Jabcdef0123456789", "output_sha256": null,'
    ' "gates": {"warn": 1}, "time": "2024-01-01T00:00:00Z\\u001b[1A",'
    ' "user": "mallory\\u001b]0;owned\\u0007\\n  2  2099-01-01T00:00:00Z  forged\\r"}\n'
)


def test_history_escapes_every_ledger_field(example: Path) -> None:
    write(example / "ledger/promotions.jsonl", LEDGER_LINE)
    run = cli("history", "staging", cwd=example)
    assert run.code == 0, run.err
    assert not any(c in run.out for c in "\x1b\x07\r"), run.out
    lines = run.out.splitlines()
    assert len(lines) == 2, lines  # the header and the one entry: no forged second entry
    assert not [line for line in lines if line.lstrip().startswith("2 ")]
    assert "mallory\\x1b]0;owned\\x07\\n  2  2099-01-01T00:00:00Z  forged\\r" in lines[1]
    assert "2024-01-01T00:00:00Z\\x1b[1A" in lines[1]
    assert "\\x1b[2Jabc" in lines[1]


def test_dev_smtp_escapes_the_subject_and_sender(example: Path) -> None:
    import smtplib

    from tests.e2e.test_devsmtp import start, stop

    proc, port = start(example)
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.ehlo()
            code, _ = client.docmd('MAIL FROM:<"ev\x1b[2J\x07il"@example.com>')
            assert code == 250
            assert client.docmd("RCPT TO:<to@example.com>")[0] == 250
            client.data(b"Subject: =?utf-8?q?hi=1B]0;owned=07=0Aforged_line?=\r\n\r\nbody\r\n")
    finally:
        out = stop(proc)
    assert not any(c in out for c in "\x1b\x07\r"), out
    [line] = [line for line in out.splitlines() if "→" in line]
    assert line.startswith('"ev\\x1b[2J\\x07il"@example.com → to@example.com: ')
    assert "hi\\x1b]0;owned\\x07\\nforged line (" in line
    assert not [line for line in out.splitlines() if line.startswith("forged")]
