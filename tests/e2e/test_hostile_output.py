"""Output that others' text cannot forge: a key holding a newline and an error line, ANSI
escapes in keys, and a short password that is also a word in a file name."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import cli, write

DEV = "environments/dev.yaml"
INJECTED = "error: fake.yaml:1:1: injected"


def test_a_key_cannot_forge_an_error_line_or_reach_the_terminal_raw(example: Path) -> None:
    write(
        example / DEV,
        f'type: smtp\nauth:\n  enable: false\n"x\\n{INJECTED}": 1\n"\\e[2J\\e[31mred": 2\n',
    )
    runs = [
        cli("check", "dev", cwd=example),
        cli("check", "dev", "--format", "github", cwd=example),
        cli("compile", "dev", cwd=example),
    ]
    for run in runs:
        assert run.code == 1, run.err
        lines = (run.out + run.err).splitlines()
        assert not [line for line in lines if line.startswith(INJECTED)], lines
        assert "\x1b" not in run.out + run.err
        assert "unknown property '\\x1b[2J\\x1b[31mred'" in run.out + run.err
    assert f"unknown property 'x\\n{INJECTED}'" in runs[0].out


def test_a_short_password_does_not_redact_file_names(example: Path) -> None:
    write(example / "secrets/staging/idm.email.smtp.password", "staging")
    assert cli("promote", "dev", "staging", cwd=example).code == 0
    assert cli("deliver", "staging", cwd=example).code == 0
    overlay = example / "environments/staging.yaml"
    overlay.write_text(overlay.read_text().replace("port: 587", "port: 2525"))
    shown = [
        cli("diff", "staging", cwd=example),
        cli("promote", "dev", "staging", "--dry-run", cwd=example),
    ]
    for run in shown:
        assert "~ /port: 587 → 2525   (environments/staging.yaml:" in run.out, run.out
        assert "<redacted>" not in run.out


def test_a_placeholder_default_in_a_secret_field_is_masked(example: Path) -> None:
    """``&{esv.x|default}`` in auth.password: the default is plaintext, so compile masks it."""
    write(
        example / "environments" / "dev.yaml",
        "type: smtp\nhost: smtp.dev.example.com\n"
        'auth: {enable: true, username: u, password: "&{smtp.pw|Dflt-CANARY-71}"}\n',
    )
    run = cli("compile", "dev", cwd=example)
    assert run.code == 0, run.err
    assert "<plaintext secret>" in run.out
    assert "Dflt-CANARY-71" not in run.out + run.err
