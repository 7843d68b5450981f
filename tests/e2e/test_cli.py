from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

from tests.conftest import cli, write

STAGING_OUT = Path("build/staging/conf/external.email.json")


def test_promote_dev_staging_on_the_shipped_example(example: Path) -> None:
    run = cli("dev", "staging", cwd=example, script="promote")
    assert run.code == 0, run.err
    last = run.out.splitlines()[-1]
    assert last.startswith("promoted dev → staging: build/staging/conf/external.email.json sha256")
    out = example / STAGING_OUT
    data = json.loads(out.read_text())
    assert data["host"] == "smtp.staging.example.com"
    assert data["auth"]["password"] == "EXAMPLE-not-a-real-staging-password"
    assert data["smtpProperties"] == [
        "mail.smtp.ssl.protocols=TLSv1.2 TLSv1.3",
        "mail.smtp.starttls.required=true",
    ]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "EXAMPLE-not-a-real" not in run.out + run.err


def test_promoting_a_staging_without_host_is_refused_at_the_line(example: Path) -> None:
    overlay = example / "environments/staging.yaml"
    overlay.write_text(overlay.read_text().replace("host: smtp.staging.example.com", 'host: ""'))
    run = cli("promote", "dev", "staging", cwd=example)
    assert run.code == 1
    assert "environments/staging.yaml:5:1: deny EMAIL001 [staging] built-in SMTP" in run.err
    assert not (example / STAGING_OUT).exists()


def test_non_adjacent_and_backwards_promotions_are_refused(example: Path) -> None:
    skip = cli("promote", "dev", "prod", cwd=example)
    assert skip.code == 1 and "EMAIL013" in skip.err and "skips a stage" in skip.err
    back = cli("promote", "prod", "staging", cwd=example)
    assert back.code == 1 and "goes backwards" in back.err
    assert not (example / "build").exists()


def test_dry_run_writes_nothing(example: Path) -> None:
    run = cli("promote", "dev", "staging", "--dry-run", cwd=example)
    assert run.code == 0 and run.out.splitlines()[-1].startswith("dry run, nothing written")
    assert not (example / "build").exists()


def test_check_all_environments_text(example: Path) -> None:
    run = cli("check", cwd=example)
    assert run.code == 0, run.out + run.err
    assert run.out.splitlines()[-1] == "3 environments checked: 3 ok, 0 not"


def test_check_json_and_sarif(example: Path) -> None:
    (example / "environments/staging.yaml").write_text("port: 25\nhost: h\nauth: {enable: false}\n")
    report = json.loads(cli("check", "staging", "--format", "json", cwd=example).out)
    findings = {f["rule"]: f for f in report["environments"][0]["findings"]}
    assert findings["EMAIL006"]["line"] == 1 and findings["EMAIL006"]["pointer"] == "/port"
    assert findings["EMAIL003"]["severity"] == "warn"
    sarif = json.loads(cli("check", "staging", "--format", "sarif", cwd=example).out)
    assert sarif["version"] == "2.1.0"
    results = sarif["runs"][0]["results"]
    port = next(r for r in results if r["ruleId"] == "EMAIL006")
    region = port["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 1, "startColumn": 1}
    rule_ids = {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert {"EMAIL001", "EMAIL014", "CONFIG"} <= rule_ids


def test_github_annotations(example: Path) -> None:
    (example / "environments/staging.yaml").write_text("host: ''\nauth: {enable: false}\n")
    run = cli("check", "staging", "--format", "github", cwd=example)
    assert run.code == 1
    assert "::error file=environments/staging.yaml,line=1,col=1::[staging] EMAIL001" in run.out


def test_absent_store_is_a_warning_unless_secrets_are_required(example: Path) -> None:
    shutil.rmtree(example / "secrets/prod")
    relaxed = cli("check", "prod", cwd=example)
    assert relaxed.code == 0
    assert (
        "warn EMAIL009 secret 'idm.email.msgraph.credentials' is not here: "
        "secret store secrets/prod/ is not provisioned on this machine"
    ) in relaxed.out
    strict = cli("check", "prod", "--require-secrets", cwd=example)
    assert strict.code == 1 and "deny EMAIL009" in strict.out
    assert cli("compile", "prod", "-o", "out.json", cwd=example).code == 1


def test_compile_masks_secrets_on_stdout_and_writes_them_with_o(example: Path) -> None:
    shown = cli("compile", "prod", cwd=example)
    assert shown.code == 0
    data = json.loads(shown.out)
    assert data["auth"]["clientSecret"] == "<secret idm.email.msgraph.credentials#clientSecret>"
    assert "EXAMPLE-not-a-real-client-secret" not in shown.out
    out = example / "out" / "prod.json"
    written = cli("compile", "prod", "-o", str(out), cwd=example)
    assert written.code == 0
    assert json.loads(out.read_text())["auth"]["clientSecret"] == "EXAMPLE-not-a-real-client-secret"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    dev = example / "out" / "dev.json"
    assert cli("compile", "dev", "-o", str(dev), cwd=example).code == 0
    assert stat.S_IMODE(dev.stat().st_mode) == 0o644


def test_render_references_keeps_purpose_and_still_checks_it(example: Path) -> None:
    write(example / "promoter.yaml", "environments:\n  prod: {render: references}\n")
    shown = json.loads(cli("compile", "prod", cwd=example).out)
    assert shown["auth"]["clientId"] == {
        "$purpose": {"name": "idm.email.msgraph.credentials", "jsonPointer": "clientId"}
    }
    (example / "secrets/prod/idm.email.msgraph.credentials").write_text('{"clientId": "x"}')
    run = cli("check", "prod", cwd=example)
    assert run.code == 1
    assert "environments/prod.yaml:11:3: deny EMAIL009" in run.out


def test_esv_placeholders_must_be_declared(example: Path) -> None:
    overlay = example / "environments/staging.yaml"
    overlay.write_text(
        overlay.read_text().replace(
            "password: {$purpose: {name: idm.email.smtp.password}}",
            "password: '&{esv.email.password}'",
        )
    )
    run = cli("check", "staging", cwd=example)
    assert run.code == 1 and "placeholder &{esv.email.password} is not declared" in run.out
    write(example / "promoter.yaml", "environments:\n  staging: {esvs: [esv-email-password]}\n")
    assert cli("check", "staging", cwd=example).code == 0


def test_waiver_from_promoter_yaml(example: Path) -> None:
    overlay = example / "environments/staging.yaml"
    overlay.write_text(overlay.read_text().replace("port: 587", "port: 25"))
    assert "warn EMAIL006" in cli("check", "staging", cwd=example).out
    write(
        example / "promoter.yaml",
        "waivers:\n  - {rule: EMAIL006, env: staging, reason: relay on 25, expires: 2999-01-01}\n",
    )
    assert "warn (waived: relay on 25) EMAIL006" in cli("check", "staging", cwd=example).out


def test_conventions_without_promoter_yaml(example: Path) -> None:
    (example / "promoter.yaml").unlink()
    write(example / "environments/qa.yaml", "host: h\nauth: {enable: false}\n")
    run = cli("check", "--format", "json", cwd=example)
    envs = [(e["env"], e["tier"]) for e in json.loads(run.out)["environments"]]
    assert envs == [
        ("dev", "development"),
        ("staging", "staging"),
        ("prod", "production"),
        ("qa", "production"),
    ]


def test_usage_errors_exit_2_with_one_line(example: Path) -> None:
    for args in (("check", "nope"), ("check", "--format", "xml"), ("frobnicate",)):
        run = cli(*args, cwd=example)
        assert run.code == 2, args
        assert run.err.startswith("error: ") and run.err.count("\n") == 1, run.err
        assert "Traceback" not in run.err
