"""A random canary in every secret: it must appear nowhere but in resolved output files."""

from __future__ import annotations

import base64
import json
import secrets
import stat
from pathlib import Path

import pytest

from tests.conftest import Run, cli, write

FORMATS = ("text", "json", "sarif", "github")


def plant(repo: Path) -> str:
    canary = "canary-" + secrets.token_hex(16)
    write(repo / "secrets/staging/idm.email.smtp.password", canary + "\n")
    write(
        repo / "secrets/prod/idm.email.msgraph.credentials",
        json.dumps({"clientId": canary + "-id", "clientSecret": canary}),
    )
    return canary


def assert_clean(runs: list[Run], canary: str) -> None:
    forms = (canary, base64.b64encode(canary.encode()).decode()[:20])
    for run in runs:
        for form in forms:
            assert form not in run.out and form not in run.err, (run.out, run.err)
        assert "Traceback" not in run.err


def scan_files(repo: Path, canary: str) -> set[Path]:
    """Files (outside secrets/) that hold the canary."""
    found = set()
    for path in repo.rglob("*"):
        if path.is_file() and "secrets" not in path.relative_to(repo).parts:
            if canary.encode() in path.read_bytes():
                found.add(path)
    return found


def test_every_command_and_format_keeps_the_canary_out(example: Path) -> None:
    canary = plant(example)
    runs = [cli("check", "--format", f, cwd=example) for f in FORMATS]
    runs += [cli("check", "--require-secrets", "--no-cache", cwd=example)]
    runs += [cli("compile", env, cwd=example) for env in ("dev", "staging", "prod")]
    out = example / "out/prod.json"
    runs.append(cli("compile", "prod", "-o", str(out), cwd=example))
    runs.append(cli("promote", "dev", "staging", "--dry-run", cwd=example))
    runs.append(cli("promote", "dev", "staging", cwd=example))
    runs.append(cli("promote", "staging", "prod", cwd=example))
    runs.append(cli("history", "staging", cwd=example))
    runs.append(cli("history", "prod", "--format", "json", cwd=example))
    runs.append(cli("diff", "prod", cwd=example))
    runs.append(cli("deliver", "staging", cwd=example))
    runs.append(cli("scan", "--format", "json", cwd=example))
    runs.append(cli("verify", "staging", "--to", "a@example.com", cwd=example))  # no server
    runs.append(cli("watch", "prod", "--once", cwd=example))  # msgraph probe fails: no server
    assert runs[0].code == 0 and runs[7].code == 0
    assert_clean(runs, canary)
    holders = scan_files(example, canary)
    staging = example / "build/staging/conf/external.email.json"
    assert holders == {
        out,
        staging,
        staging.with_name(staging.name + ".bak"),  # the previous output, kept by deliver
        example / "build/prod/conf/external.email.json",
    }
    for path in holders:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_rotated_secret_in_a_drift_diff(example: Path) -> None:
    canary = plant(example)
    assert cli("promote", "dev", "staging", cwd=example).code == 0
    write(example / "secrets/staging/idm.email.smtp.password", canary + "-rotated\n")
    run = cli("diff", "staging", "--exit-code", cwd=example)
    assert (
        run.code == 1
        and "/auth/password: <secret> → <secret idm.email.smtp.password> changed" in run.out
    )
    assert_clean([run], canary)


@pytest.mark.parametrize(
    "case",
    ["pointer", "gate", "model", "bad json", "bad base64", "versioned", "literal"],
)
def test_failure_paths_keep_the_canary_out(example: Path, case: str) -> None:
    canary = plant(example)
    creds = example / "secrets/prod/idm.email.msgraph.credentials"
    overlay = example / "environments/prod.yaml"
    if case == "pointer":
        creds.write_text(json.dumps({"clientId": canary}))
    elif case == "gate":
        overlay.write_text(overlay.read_text().replace("https://login", "http://login"))
    elif case == "model":
        overlay.write_text(overlay.read_text() + "threadPoolSize: 0\n")
    elif case == "bad json":
        creds.write_text('{"clientId": "' + canary + '", "clientSecret": ')
    elif case == "bad base64":
        write(
            example / "promoter.yaml",
            "environments:\n  prod: {secrets: {directory: secrets/prod, format: base64}}\n",
        )
        creds.write_text(canary + "!!not base64")
    elif case == "versioned":
        write(
            example / "promoter.yaml",
            "environments:\n  prod: {secrets: {directory: secrets/prod, versionSuffix: .v}}\n",
        )
        (creds.parent / (creds.name + ".v3")).write_text('{"clientSecret": "' + canary + '"}')
    else:
        dev = example / "environments/dev.yaml"
        dev.write_text(
            dev.read_text().replace("enable: false", f"enable: true\n  password: {canary}")
        )
    runs = [cli("check", "--format", f, "--no-cache", cwd=example) for f in FORMATS]
    runs += [cli("compile", env, cwd=example) for env in ("dev", "prod")]
    runs.append(cli("compile", "prod", "-o", str(example / "o.json"), cwd=example))
    runs.append(cli("promote", "dev", "staging", cwd=example))
    runs.append(cli("scan", cwd=example))
    assert_clean(runs, canary)
    authored = example / "environments/dev.yaml"  # where the literal case planted it
    for path in scan_files(example, canary) - {authored}:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
