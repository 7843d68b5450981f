"""Errors say what was found and how to fix it (issue 13 item 16, issue 11 item 7)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import cli, write


@pytest.mark.parametrize(
    ("promoter_yaml", "line"),
    [
        (
            "order: [dev, stagin, prod]\n",
            "error: promoter.yaml:1:14: 'stagin' in order is not an environment (no "
            "environments/stagin.yaml, and not under environments:) "
            "(hint: did you mean 'staging'?)",
        ),
        (
            "waivers:\n  - {rule: EMAIL06, env: staging, reason: relay, expires: 2030-01-01}\n",
            "error: promoter.yaml:2:6: unknown rule 'EMAIL06' (hint: did you mean EMAIL006?)",
        ),
        (
            "scan:\n  allow: [fp:0123]\n",
            "error: promoter.yaml:2:11: allow[0] must be a mapping; found the string 'fp:0123' "
            "(hint: expected {fingerprint: ..., reason: ...})",
        ),
        (
            "scan:\n  allow: {fingerprint: fp:0123456789abcdef, reason: fake}\n",
            "error: promoter.yaml:2:3: allow must be a list; found a mapping with fingerprint, "
            "reason (hint: expected a list of {fingerprint: ..., reason: ...})",
        ),
        (
            "scan:\n  allow: [{fingerprint: fp:0123, reason: fake}]\n",
            "error: promoter.yaml:2:12: fingerprint must match ^fp:[0-9a-f]{16}$; "
            "found the string 'fp:0123'",
        ),
        (
            "scan:\n  allow: [{fingerprint: 0123, reason: fake}]\n",
            "error: promoter.yaml:2:12: fingerprint must be a string; found the number 123",
        ),
    ],
)
def test_promoter_yaml_errors_say_what_was_found(
    example: Path, promoter_yaml: str, line: str
) -> None:
    write(example / "promoter.yaml", promoter_yaml)
    run = cli("check", cwd=example)
    assert run.code == 2
    assert run.err.splitlines() == [line]


@pytest.mark.parametrize(
    ("overlay", "line"),
    [
        (
            "type: smtp\nhost: h\nauth:\n  enable: yes\n",
            "environments/dev.yaml:4:3: deny CONFIG [dev] enable must be true or false; found the "
            "string 'yes' (hint: YAML 1.2 reads yes, no, on and off as strings; or "
            '{$bool: "&{esv.x}"} from an ESV)',
        ),
        (
            "host: h\nport: [587]\n",
            "environments/dev.yaml:2:1: deny CONFIG [dev] port must be an integer, a digit string "
            'or a placeholder; found a list (hint: e.g. 587, "587", "&{esv.email.port}" or '
            '{$int: "&{esv.email.port|587}"})',
        ),
        (
            "type: msgrpah\n",
            "environments/dev.yaml:1:1: deny CONFIG [dev] 'type' must be 'smtp' or 'msgraph'; "
            "found the string 'msgrpah' (hint: did you mean 'msgraph'?)",
        ),
    ],
)
def test_overlay_errors_say_what_was_found(example: Path, overlay: str, line: str) -> None:
    write(example / "environments/dev.yaml", overlay)
    run = cli("compile", "dev", cwd=example)
    assert run.code == 1
    assert line in run.err.splitlines()


def test_a_numeric_password_is_named_by_kind_never_by_value(example: Path) -> None:
    write(example / "environments/dev.yaml", "host: h\nauth: {enable: true, password: 918273645}\n")
    run = cli("compile", "dev", cwd=example)
    assert run.code == 1
    assert (
        "password must be a string, {$purpose: {name: ...}} or {$crypto: ...}; found a number"
        in run.err
    )
    assert "918273645" not in run.out + run.err
