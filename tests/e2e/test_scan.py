"""``promoter scan``: what it flags, what it leaves alone, and which files it reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from promoter.scan.secretlike import looks_like_secret
from tests.conftest import cli, write

REAL = "Qx8~vN2pLw7Rt5Zk3Jm9"


def test_hostnames_and_protocol_lines_are_not_secrets(example: Path) -> None:
    overlay = example / "environments/staging.yaml"
    overlay.write_text(
        overlay.read_text().replace("smtp.staging.example.com", "relay2.staging.corp.test")
    )
    write(
        example / "environments/dev.yaml",
        "type: smtp\nhost: relay2.dev.corp.test\nauth: {enable: false}\nsmtpProperties:\n"
        "  - mail.smtp.ssl.protocols=TLSv1.2\n  - mail.smtps.ssl.protocols=TLSv1.2\n",
    )
    run = cli("scan", cwd=example)
    assert run.code == 0, run.out
    assert run.out.splitlines()[-1].startswith("scan: ") and ", 0 findings," in run.out


def test_a_real_client_secret_is_still_caught(example: Path) -> None:
    write(example / "export.json", f'{{"auth": {{"clientSecret": "{REAL}"}}}}\n')
    write(example / "deploy/values.yaml", f"relay:\n  apiKey: {REAL}\n")
    overlay = example / "environments/prod.yaml"
    overlay.write_text(
        overlay.read_text().replace(
            "clientSecret: {$purpose: {name: idm.email.msgraph.credentials, jsonPointer: "
            "clientSecret}}",
            f"clientSecret: {REAL}",
        )
    )
    run = cli("scan", "environments/prod.yaml", "export.json", "deploy/values.yaml", cwd=example)
    assert run.code == 1
    assert "environments/prod.yaml:11:3: deny SECRET001 plaintext secret" in run.out
    assert "export.json:1:11: deny SECRET001 plaintext secret" in run.out
    # a key that names a credential makes its value a secret field (issue 19 item 3)
    assert "deploy/values.yaml:2:3: deny SECRET001 plaintext secret: a literal value" in run.out
    assert REAL not in run.out + run.err


@pytest.mark.parametrize(
    ("value", "key", "flagged"),
    [
        ("relay2.staging.corp.test", "host", False),
        ("mail.smtp.ssl.protocols=TLSv1.2", "", False),
        ("TLSv1.2 TLSv1.3", "mail.smtp.ssl.protocols", False),
        ("https://login.microsoftonline.com/tenant-0a1b2c3d/oauth2/v2.0/token", "x", False),
        ("0f8fad5b-d9cb-469f-a165-70867728950e", "clientId", False),
        ("&{esv.email.password}", "password", False),
        ("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", "fromName", False),
        (REAL, "clientSecret", True),
        (REAL, "api_key", True),
        ("mail.smtp.password=" + REAL, "", True),
        ("aZ9xQ2mN7pL4kR8vT1wY6bC3", "fromName", True),
    ],
)
def test_secret_shapes(value: str, key: str, flagged: bool) -> None:
    assert looks_like_secret(value, key) is flagged


def test_an_explicit_json_file_outside_environments_is_scanned(example: Path) -> None:
    write(example / "exports/external.email.json", f'{{"host": "h", "note": "{REAL}x9"}}\n')
    run = cli("scan", "exports/external.email.json", cwd=example)
    assert run.code == 1
    assert "exports/external.email.json:1:15: deny SECRET002 high-entropy string" in run.out
    assert run.out.splitlines()[-1] == "scan: 1 file, 1 finding, 1 blocking"


def test_a_file_that_is_neither_json_nor_yaml_is_skipped_aloud(example: Path) -> None:
    write(example / "notes.md", f"password: {REAL}\n")
    run = cli("scan", "notes.md", cwd=example)
    assert run.code == 0
    assert run.err == "scan: notes.md skipped (not JSON or YAML)\n"
    assert run.out == "scan: 0 files, 0 findings (1 skipped), 0 blocking\n"


def test_a_missing_file_is_exit_2(example: Path) -> None:
    run = cli("scan", "nonexist.yaml", cwd=example)
    assert run.code == 2
    assert run.err == "error: nonexist.yaml: no such file (hint: check the path)\n"


def test_a_directory_leaves_hidden_ones_out_and_counts_what_it_skips(example: Path) -> None:
    write(example / "exports/a.json", f'{{"auth": {{"clientSecret": "{REAL}"}}}}\n')
    write(example / "exports/notes.md", "notes\n")
    write(example / "exports/run.sh", "echo\n")
    write(example / "exports/.git/objects/ab/cd.json", f'{{"password": "{REAL}"}}\n')
    write(example / "exports/.git/HEAD", "ref: refs/heads/main\n")
    run = cli("scan", "exports", cwd=example)
    assert run.code == 1
    assert run.err == "scan: 2 files under the directories skipped (not JSON or YAML)\n"
    assert "exports/a.json:1:11: deny SECRET001 plaintext secret" in run.out
    assert ".git" not in run.out
    assert run.out.splitlines()[-1] == "scan: 1 file, 1 finding (2 skipped), 1 blocking"


def test_a_directory_with_only_config_files_prints_no_skip_line(example: Path) -> None:
    write(example / "exports/a.json", '{"host": "h"}\n')
    run = cli("scan", "exports", cwd=example)
    assert run.code == 0, run.out
    assert run.err == ""
    assert run.out == "scan: 1 file, 0 findings, 0 blocking\n"


def test_a_tab_indented_json_export_is_scanned_with_line_numbers(example: Path) -> None:
    write(
        example / "exports/external.email.json",
        f'{{\n\t"host": "h",\n\t"auth": {{\n\t\t"password": "{REAL}"\n\t}}\n}}\n',
    )
    run = cli("scan", "exports/external.email.json", cwd=example)
    assert run.code == 1, run.err
    assert "exports/external.email.json:4:3: deny SECRET001 plaintext secret" in run.out
    assert REAL not in run.out + run.err


def test_a_tab_in_a_broken_json_file_is_still_the_yaml_error(example: Path) -> None:
    write(example / "exports/bad.json", '{\n\t"host": \n')
    run = cli("scan", "exports/bad.json", cwd=example)
    assert run.code == 2
    assert run.err == ("error: exports/bad.json:2:1: tab character (hint: indent with spaces)\n")


# -- round 3 (issue 19 items 1-3): secrets the scan used to miss --------------------------

PROXY = "Tr4ns!t@Gw-9x7Q secret"  # '@' and a space: no credential shape, still a password


def test_an_overlay_where_promoter_yaml_puts_it_is_scanned(example: Path) -> None:
    write(
        example / "overlays/dev.yaml", f"type: smtp\nhost: 127.0.0.1\nauth:\n  password: {REAL}\n"
    )
    text = (example / "promoter.yaml").read_text()
    text = text.replace("  dev:\n", "  dev:\n    overlay: overlays/dev.yaml\n", 1)
    (example / "promoter.yaml").write_text(text)
    run = cli("scan", cwd=example)
    assert run.code == 1, run.out
    assert "overlays/dev.yaml:4:3: deny SECRET001 plaintext secret: a literal value" in run.out
    named = cli("scan", "overlays/dev.yaml", cwd=example)
    assert named.code == 1 and "SECRET001" in named.out
    assert REAL not in run.out + run.err + named.out + named.err


def test_a_literal_default_in_a_secret_placeholder_is_plaintext(example: Path) -> None:
    overlay = example / "environments/staging.yaml"
    before = "password: {$purpose: {name: idm.email.smtp.password}}"
    assert before in overlay.read_text()
    overlay.write_text(
        overlay.read_text().replace(before, f'password: "&{{esv.email.password|{REAL}}}"')
    )
    run = cli("scan", cwd=example)
    assert run.code == 1
    assert "deny SECRET001 plaintext secret: a literal default inside the placeholder" in run.out
    assert REAL not in run.out + run.err


def test_a_password_named_property_is_a_secret_whatever_it_looks_like(example: Path) -> None:
    overlay = example / "environments/staging.yaml"
    overlay.write_text(overlay.read_text() + f'  mail.smtp.proxy.password: "{PROXY}"\n')
    run = cli("scan", cwd=example)
    assert run.code == 1
    assert "deny SECRET001 plaintext secret: a literal value at smtpProperties." in run.out
    check = cli("check", "staging", "--no-cache", cwd=example)
    assert check.code == 1
    assert (
        "deny EMAIL002 plaintext secret: smtpProperties mail.smtp.proxy.password is a literal"
        in check.out
    ), check.out
    shown = cli("promote", "dev", "staging", "--dry-run", cwd=example)
    for run_ in (run, check, shown):
        assert PROXY not in run_.out + run_.err


def test_non_secret_keys_with_odd_values_stay_quiet(example: Path) -> None:
    overlay = example / "environments/staging.yaml"
    overlay.write_text(
        overlay.read_text()
        + "  mail.smtp.auth.mechanisms: PLAIN LOGIN\n  mail.smtp.from: bounce@example.com\n"
    )
    run = cli("scan", cwd=example)
    assert run.code == 0, run.out
