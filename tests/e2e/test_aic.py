"""AIC targets end to end: deliver dev, promote through AIC's promotion, rollback, EMAIL016/017.

Three tenant stand-ins (dev <- staging <- prod, tests/support/aic_standin.py), one service
account on each; promoter runs as a user runs it, in a subprocess.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Run, cli, write
from tests.support.aic_standin import AicChain, AicStandin
from tests.support.smtp_standin import SmtpStandin

KEY_CANARY = "d"  # the JWK's private exponent field: its value must never show
PASSWORDS = {
    "dev": "dev-esv-secret-CANARY-2b81",
    "staging": "staging-esv-secret-CANARY-93c4",
    "prod": "prod-esv-secret-CANARY-71de",
}
HOSTS = {
    "dev": "smtp.dev.example.com",
    "staging": "smtp.staging.example.com",
    "prod": "smtp.example.com",
}
BASE = """\
type: smtp
host: "&{esv.email.host}"
port: 587
from: noreply@example.com
auth:
  enable: true
  username: mailer
  password: "&{esv.email.password}"
starttls: {enable: true}
ssl: {enable: false}
smtpProperties:
  mail.smtp.ssl.protocols: TLSv1.2
  mail.smtp.starttls.required: true
"""


@dataclass
class Chain:
    repo: Path
    tenants: AicChain
    environ: dict[str, str]

    def run(self, *args: str) -> Run:
        result = cli(*args, cwd=self.repo, env=self.environ)
        self.outputs.append(result)
        return result

    def __post_init__(self) -> None:
        self.outputs: list[Run] = []

    def canaries(self) -> list[str]:
        key = self.tenants.key.private_jwk
        tokens = [t for standin in self.tenants.envs.values() for t in standin.issued_tokens()]
        return [
            *PASSWORDS.values(),
            key[KEY_CANARY],
            key["p"],
            self.environ["AIC_SA_KEY"],
            *tokens,
        ]


def _promoter_yaml(tenants: AicChain, dev: dict[str, str] | None = None) -> str:
    lines = ["order: [dev, staging, prod]", "environments:"]
    for name, standin in tenants.envs.items():
        values = {"esv.email.host": HOSTS[name]}
        if name == "dev":
            values.update(dev or {})
        lines += [
            f"  {name}:",
            "    target:",
            f"      aic: {standin.url}",
            "      serviceAccount: {idEnv: AIC_SA_ID, keyEnv: AIC_SA_KEY}",
            "      pollInterval: 0.02",
            "      waitTimeout: 20",
            "    esvs:",
            *(f'      {k}: "{v}"' for k, v in values.items()),
            "      esv.email.password: {$purpose: {name: email.password}}",
        ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def chain(tmp_path: Path, tls: Any) -> Iterator[Chain]:
    repo = tmp_path / "repo"
    with AicChain(ca_file=tls.ca_file) as tenants:
        write(repo / "promoter.yaml", _promoter_yaml(tenants))
        write(repo / "environments" / "base.yaml", BASE)
        for name in tenants.envs:
            write(repo / "environments" / f"{name}.yaml", "{}\n")
            write(repo / "secrets" / name / "email.password", PASSWORDS[name] + "\n")
        environ = {
            "AIC_SA_ID": tenants.key.id,
            "AIC_SA_KEY": json.dumps(tenants.key.private_jwk),
        }
        made = Chain(repo, tenants, environ)
        yield made
        _assert_no_canary(made)


def _assert_no_canary(chain: Chain) -> None:
    """No output and no repo file holds the key, a token or an ESV secret value."""
    canaries = chain.canaries()
    for run in chain.outputs:
        for canary in canaries:
            assert canary not in run.out and canary not in run.err
    for path in chain.repo.rglob("*"):
        if path.is_file() and "secrets" not in path.relative_to(chain.repo).parts:
            text = path.read_text(encoding="utf-8", errors="replace")
            for canary in canaries:
                assert canary not in text, path


def test_deliver_dev_puts_pushes_esvs_restarts_and_reads_back(chain: Chain) -> None:
    dev = chain.tenants.dev
    run = chain.run("deliver", "dev")
    assert run.code == 0, run.err
    assert dev.config()["host"] == "&{esv.email.host}"  # type: ignore[index]
    assert dev.secret_value("esv-email-password") == PASSWORDS["dev"]
    assert dev.restarts == 1
    assert run.out.startswith(f"dev: delivered to {dev.url}/openidm/config/external.email")
    assert "ESVs changed: variable esv-email-host, secret esv-email-password (created)" in run.out

    again = chain.run("deliver", "dev")
    assert again.code == 0, again.err
    assert dev.restarts == 1  # nothing changed: no restart
    assert "ESVs changed" not in again.out


def test_a_changed_secret_becomes_a_new_version_and_restarts(chain: Chain) -> None:
    dev = chain.tenants.dev
    assert chain.run("deliver", "dev").code == 0
    write(chain.repo / "secrets" / "dev" / "email.password", "rotated-CANARY-0a9e\n")
    run = chain.run("deliver", "dev")
    assert run.code == 0, run.err
    assert "secret esv-email-password v2" in run.out
    assert dev.secret_value("esv-email-password") == "rotated-CANARY-0a9e"
    assert dev.restarts == 2
    assert "rotated-CANARY-0a9e" not in run.out + run.err


def test_deliver_to_an_immutable_tenant_is_refused(chain: Chain) -> None:
    run = chain.run("deliver", "staging")
    assert run.code == 1
    assert run.err == (
        "error: staging's AIC tenant says it is immutable: its config changes only by AIC "
        "promotion or a Direct Configuration session (hint: promoter promote dev staging "
        "--apply, or directConfiguration: true on staging's target)\n"
    )
    staging = chain.tenants.staging
    assert staging.count("GET", "/environment/info") == 1
    assert staging.count("PUT") == 0 and staging.count("POST", "/environment/secrets") == 0


def test_the_tenant_not_the_order_decides_mutability(chain: Chain) -> None:
    staging, dev = chain.tenants.staging, chain.tenants.dev
    staging.mutable = True  # a sandbox tenant in second place: it answers immutable: false
    run = chain.run("deliver", "staging")
    assert run.code == 0, run.err
    assert run.out.startswith(f"staging: delivered to {staging.url}/openidm/config/external.email")
    assert (staging.config() or {})["host"] == "&{esv.email.host}"

    dev.mutable = False  # an immutable tenant in first place: no ESV pushed, no PUT
    first = chain.run("deliver", "dev")
    assert first.code == 1
    assert "dev's AIC tenant says it is immutable" in first.err
    assert "directConfiguration: true on dev's target" in first.err
    assert dev.count("PUT") == 0 and dev.count("POST", "/environment/secrets") == 0
    assert dev.count("GET", "/environment/info") == 1


def test_diff_against_the_tenant(chain: Chain) -> None:
    before = chain.run("diff", "dev")
    assert before.code == 0 and "differs from the repo" in before.out
    assert chain.run("deliver", "dev").code == 0
    after = chain.run("diff", "dev")
    assert after.code == 0
    assert after.out == f"dev: {chain.tenants.dev.url} holds what the repo compiles to\n"


def test_email017_a_purpose_in_an_aic_config(chain: Chain) -> None:
    write(
        chain.repo / "environments" / "dev.yaml",
        "auth:\n  password: {$purpose: {name: email.password}}\n",
    )
    run = chain.run("check", "dev")
    assert run.code == 1
    assert (
        "  environments/dev.yaml:2:3: deny EMAIL017 a $purpose reference in the config of an AIC "
        "target: AIC has no secret store"
    ) in run.out
    assert (
        "use an ESV secret: &{esv.email.password}, with esvs: "
        "{esv.email.password: {$purpose: {name: email.password}}}"
    ) in run.out


def test_a_refused_token_is_exit_3_naming_the_step(chain: Chain) -> None:
    chain.environ["AIC_SA_ID"] = "00000000-0000-4000-8000-000000000000"
    run = chain.run("deliver", "dev")
    assert run.code == 3
    assert run.err.startswith(
        f"error: get a token: {chain.tenants.dev.token_url} refused the service account "
        "(400 invalid_grant)"
    )


def test_an_unreachable_tenant_is_exit_3(chain: Chain) -> None:
    chain.tenants.dev.go_down()
    try:
        run = chain.run("deliver", "dev")
    finally:
        chain.tenants.dev.come_back()
    assert run.code == 3
    assert run.err.startswith("error: get a token: cannot reach the token endpoint")


def test_verify_via_idm_sends_through_the_tenant(chain: Chain, tls: Any) -> None:
    with SmtpStandin(tls, users={"mailer": PASSWORDS["dev"]}) as smtp:
        dev = {"esv.email.host": "127.0.0.1"}
        write(chain.repo / "promoter.yaml", _promoter_yaml(chain.tenants, dev))
        write(chain.repo / "environments" / "dev.yaml", f"port: {smtp.port}\n")
        assert chain.run("deliver", "dev").code == 0
        run = chain.run("verify", "dev", "--to", "ops@example.com", "--via", "idm")
        assert run.code == 0, run.err
        assert run.out.startswith(
            f"verified dev: sent through {chain.tenants.dev.url}/openidm/external/email"
        )
        (message,) = smtp.wait_for(1)
        assert message.rcpt_tos == ("ops@example.com",) and message.login == "mailer"


def test_email016_a_value_that_differs_per_env_without_an_esv(chain: Chain) -> None:
    write(chain.repo / "environments" / "staging.yaml", "port: 2525\n")
    run = chain.run("promote", "dev", "staging")
    assert run.code == 1
    assert (
        "environments/staging.yaml:1:1: deny EMAIL016 [staging] /port differs from dev's: "
        "AIC promotion copies dev's config to staging unchanged"
    ) in run.out + run.err
    assert "(hint: make it an ESV: &{esv.email.port} in the shared config" in run.out + run.err
    assert not (chain.repo / "environments" / "staging.pin.yaml").exists()
    assert chain.tenants.staging.seen == []  # refused before any request


# -- AIC promotion (the stand-in's self-service promotions) ------------------------------


def _ledger(chain: Chain) -> list[dict[str, Any]]:
    path = chain.repo / "ledger" / "promotions.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _lock(standin: AicStandin) -> str:
    """The promotion lock state, read as promoter reads it."""
    token = standin.issue_token()
    answer = httpx.get(
        f"{standin.url}/environment/promotion/lock/state",
        headers={"Authorization": f"Bearer {token}", "Accept-API-Version": "resource=1.0"},
    )
    result: str = answer.json()["result"]
    return result


def _promote(chain: Chain, src: str, dst: str, *extra: str) -> Run:
    return chain.run("promote", src, dst, "--apply", "--yes", *extra)


def test_three_tenant_chain(chain: Chain) -> None:
    dev, staging, prod = chain.tenants.dev, chain.tenants.staging, chain.tenants.prod
    assert chain.run("deliver", "dev").code == 0
    run = _promote(chain, "dev", "staging")
    assert run.code == 0, run.err
    assert staging.config() == dev.config()  # placeholders and all: AIC copied it
    assert staging.secret_value("esv-email-password") == PASSWORDS["staging"]
    assert staging.restarts == 1
    assert "staging's tenant: ESV variable esv-email-host" in run.out
    entry = _ledger(chain)[-1]
    assert entry["env"] == "staging" and entry["result"] == "applied"
    assert entry["detail"]["aic"]["promotionId"] and entry["detail"]["aic"]["reportId"]
    assert _lock(staging) == "unlocked"

    run = _promote(chain, "staging", "prod")
    assert run.code == 0, run.err
    assert prod.config() == dev.config()
    assert prod.secret_value("esv-email-password") == PASSWORDS["prod"]
    assert prod.restarts == 1


def test_a_noop_promotion_locks_nothing_and_restarts_nothing(chain: Chain) -> None:
    staging = chain.tenants.staging
    assert chain.run("deliver", "dev").code == 0
    assert _promote(chain, "dev", "staging").code == 0
    locks, restarts = staging.count("POST", "/environment/promotion/lock"), staging.restarts
    run = _promote(chain, "dev", "staging")
    assert run.code == 0, run.err
    assert "staging's tenant: nothing to promote from dev" in run.out
    assert staging.count("POST", "/environment/promotion/lock") == locks
    assert staging.restarts == restarts
    assert _ledger(chain)[-1]["result"] == "unchanged"


def test_drift_in_the_lower_tenant_refuses(chain: Chain) -> None:
    assert chain.run("deliver", "dev").code == 0
    held = chain.tenants.dev.config()
    assert held is not None
    chain.tenants.dev.set_config("external.email", {**held, "port": 2525})
    run = _promote(chain, "dev", "staging")
    assert run.code == 1
    assert run.err == (
        "error: dev's tenant does not hold what dev compiles to (differs at /port): AIC would "
        "promote something else (hint: promoter deliver dev)\n"
    )
    assert chain.tenants.staging.count("POST", "/environment/promotion") == 0


def test_a_missing_esv_is_refused_from_the_dry_run_report(chain: Chain) -> None:
    text = (chain.repo / "promoter.yaml").read_text()
    # staging declares esv.email.host but gives it no value: the tenant must hold it
    staging_part = text.split("  staging:\n", 1)[1].split("  prod:\n", 1)[0]
    changed = staging_part.replace('      esv.email.host: "smtp.staging.example.com"\n', "")
    changed = changed.replace("    esvs:\n", "    esvs:\n      esv.email.host: null\n")
    write(chain.repo / "promoter.yaml", text.replace(staging_part, changed))
    assert chain.run("deliver", "dev").code == 0
    run = _promote(chain, "dev", "staging")
    assert run.code == 1, run.err
    assert "deny EMAIL009 [staging] AIC's dry run: ESV esv-email-host is missing" in run.err
    assert "refused: dev → staging: AIC's dry run found problems; unlocked" in run.err
    staging = chain.tenants.staging
    assert _lock(staging) == "unlocked"
    assert staging.config()["host"] != "&{esv.email.host}"  # type: ignore[index]
    assert not (chain.repo / "environments" / "staging.pin.yaml").exists()


def test_other_changes_in_the_lower_tenant_need_allow_other_changes(chain: Chain) -> None:
    assert chain.run("deliver", "dev").code == 0
    chain.tenants.dev.set_config("ui.theme", {"name": "dark"})
    run = _promote(chain, "dev", "staging")
    assert run.code == 1
    assert "dev's tenant holds changes outside the email provider" in run.err
    assert "(hint: promote them on purpose with --allow-other-changes)" in run.err
    allowed = _promote(chain, "dev", "staging", "--allow-other-changes")
    assert allowed.code == 0, allowed.err
    assert chain.tenants.staging.config("ui.theme") == {"name": "dark"}


def test_a_promotion_that_fails_half_way_unlocks(chain: Chain) -> None:
    assert chain.run("deliver", "dev").code == 0
    staging = chain.tenants.staging
    staging.promotions.fail_next()  # type: ignore[attr-defined]
    run = _promote(chain, "dev", "staging")
    assert run.code == 3
    assert run.err.startswith("error: promotion on staging's tenant failed")
    assert _lock(staging) == "unlocked"
    assert not (chain.repo / "environments" / "staging.pin.yaml").exists()


def test_dry_run_prints_aic_report_and_changes_nothing(chain: Chain) -> None:
    assert chain.run("deliver", "dev").code == 0
    staging = chain.tenants.staging
    before, entries = staging.config(), _ledger(chain)
    run = chain.run("promote", "dev", "staging", "--dry-run")
    assert run.code == 0, run.err
    assert "staging's tenant: dry run report" in run.out
    assert "Email > Provider" in run.out
    assert staging.config() == before
    assert _lock(staging) == "unlocked"
    assert _ledger(chain) == entries
    assert not (chain.repo / "environments" / "staging.pin.yaml").exists()


def test_promote_format_json_on_aic_is_one_document_with_aic_ids(chain: Chain) -> None:
    assert chain.run("deliver", "dev").code == 0
    run = chain.run("promote", "dev", "staging", "--apply", "--yes", "--format", "json")
    assert run.code == 0, run.err
    document = json.loads(run.out)  # stdout holds the document only; progress is on stderr
    assert document["result"] == "applied" and document["written"] is True
    assert document["aic"]["promotionId"] == _ledger(chain)[-1]["detail"]["aic"]["promotionId"]
    assert "staging's tenant: locked for promotion" in run.err


def test_rollback_restores_the_tenant_and_the_pin(chain: Chain) -> None:
    assert chain.run("deliver", "dev").code == 0
    assert _promote(chain, "dev", "staging").code == 0
    first = chain.tenants.staging.config()
    pin = (chain.repo / "environments" / "staging.pin.yaml").read_text()
    write(chain.repo / "environments" / "base.yaml", BASE + "timeout: 60000\n")
    assert chain.run("deliver", "dev").code == 0
    assert _promote(chain, "dev", "staging").code == 0
    assert chain.tenants.staging.config()["timeout"] == 60000  # type: ignore[index]
    run = chain.run("rollback", "staging", "--apply", "--yes")
    assert run.code == 0, run.err
    assert "staging's tenant: provisional rollback report" in run.out
    assert chain.tenants.staging.config() == first
    assert (chain.repo / "environments" / "staging.pin.yaml").read_text() == pin
    assert _ledger(chain)[-1]["detail"]["aic"]["reportId"]


def test_chain_issues_tokens_and_none_shows(chain: Chain) -> None:
    """The canary check at teardown covers tokens: make sure some were issued."""
    assert chain.run("deliver", "dev").code == 0
    assert _promote(chain, "dev", "staging").code == 0
    assert chain.tenants.dev.issued_tokens() and chain.tenants.staging.issued_tokens()


def test_email017_a_literal_secret_in_an_aic_config(chain: Chain) -> None:
    write(chain.repo / "environments" / "dev.yaml", "auth:\n  password: literal-CANARY-4d2e\n")
    run = chain.run("check", "dev")
    assert run.code == 1
    assert "deny EMAIL017 a literal secret in the config of an AIC target" in run.out
    assert "literal-CANARY-4d2e" not in run.out + run.err


def test_an_encrypted_value_in_the_lower_tenant_is_refused_by_the_dry_run(chain: Chain) -> None:
    crypto = {"$crypto": {"type": "x-simple-encryption", "value": {"data": "AAAA"}}}
    base = BASE.replace('"&{esv.email.password}"', json.dumps(crypto))
    write(chain.repo / "environments" / "base.yaml", base)  # as an IDM export holds it
    assert chain.run("deliver", "dev").code == 0
    run = _promote(chain, "dev", "staging")
    assert run.code == 1
    assert (
        "deny EMAIL017 [staging] AIC's dry run: external.email/auth/password is encrypted "
        "with dev's keys, which staging's tenant lacks"
    ) in run.err
    assert _lock(chain.tenants.staging) == "unlocked"


def test_a_lock_held_by_another_promotion_is_exit_3(chain: Chain) -> None:
    staging = chain.tenants.staging
    assert chain.run("deliver", "dev").code == 0
    token = staging.issue_token()
    headers = {"Authorization": f"Bearer {token}", "Accept-API-Version": "resource=1.0"}
    assert httpx.post(f"{staging.url}/environment/promotion/lock", headers=headers).is_success
    run = _promote(chain, "dev", "staging")
    assert run.code == 3
    assert run.err.startswith("error: check the promotion lock on staging's tenant: it is lock")
    assert staging.count("POST", "/environment/promotion/promote") == 0


def test_a_scope_the_tenant_refuses_is_dropped_then_the_step_names_the_403(chain: Chain) -> None:
    staging = chain.tenants.staging
    staging.add_service_account(scopes=("fr:idm:*", "fr:idc:esv:*"), key=chain.tenants.key)
    assert chain.run("deliver", "dev").code == 0
    run = _promote(chain, "dev", "staging")
    assert run.code == 3
    assert run.err.startswith(
        f"error: read the promotion lock on staging's tenant: {staging.url} answered 403: "
        "forbidden (hint: the token lacks a scope or the tenant refuses this change here)"
    )


def test_an_aic_tenant_is_promoted_only_from_an_aic_tenant(chain: Chain) -> None:
    text = (chain.repo / "promoter.yaml").read_text()
    dev_part = text.split("  dev:\n", 1)[1].split("  staging:\n", 1)[0]
    write(chain.repo / "promoter.yaml", text.replace(dev_part, "    tier: development\n"))
    run = chain.run("promote", "dev", "staging", "--apply", "--yes")
    assert run.code == 2
    assert run.err == (
        "error: staging's AIC tenant is promoted by AIC from dev's tenant, but dev has no aic "
        "target (hint: give dev target: {aic: https://<its tenant>, serviceAccount: ...})\n"
    )


def test_a_promoted_tenant_whose_pin_could_not_be_written_is_recorded_by_a_rerun(
    chain: Chain,
) -> None:
    assert chain.run("deliver", "dev").code == 0
    pin = chain.repo / "environments" / "staging.pin.yaml"
    pin.mkdir()  # the pin cannot be written: the repo side fails after AIC promoted
    failed = _promote(chain, "dev", "staging")
    assert failed.code == 3
    assert chain.tenants.staging.config() == chain.tenants.dev.config()  # AIC did promote
    [error] = [line for line in failed.err.splitlines() if line.startswith("error:")]
    assert error.startswith("error: environments/staging.pin.yaml: cannot write")
    assert "Traceback" not in failed.err
    assert all(e["env"] != "staging" for e in _ledger(chain))
    pin.rmdir()
    rerun = _promote(chain, "dev", "staging")
    assert rerun.code == 0, rerun.err
    assert "staging's tenant: nothing to promote from dev" in rerun.out
    assert pin.is_file()
    last = _ledger(chain)[-1]
    assert (last["env"], last["result"]) == ("staging", "unchanged")


def test_verify_templates_through_the_tenant_includes_its_built_in_templates(
    chain: Chain, tls: Any
) -> None:
    with SmtpStandin(tls, users={"mailer": PASSWORDS["dev"]}) as smtp:
        dev = {"esv.email.host": "127.0.0.1"}
        write(chain.repo / "promoter.yaml", _promoter_yaml(chain.tenants, dev))
        write(chain.repo / "environments" / "dev.yaml", f"port: {smtp.port}\n")
        assert chain.run("deliver", "dev").code == 0
        chain.tenants.dev.templates.add("frResetPassword")  # a built-in: fr*
        chain.tenants.dev.templates.add("welcome", from_="hello@example.com")
        run = chain.run("verify", "dev", "--to", "ops@example.com", "--templates")
        assert run.code == 0, run.err
        assert "frResetPassword: accepted, from noreply@example.com" in run.out
        assert "welcome: accepted, from hello@example.com" in run.out
        assert run.out.splitlines()[-1].startswith(
            "verified dev: 2 email templates accepted through "
            f"{chain.tenants.dev.url}/openidm/external/email"
        )
        assert len(smtp.wait_for(2)) == 2


def test_a_second_deliver_writes_nothing_and_a_drifted_tenant_is_written(chain: Chain) -> None:
    dev = chain.tenants.dev
    assert chain.run("deliver", "dev").code == 0
    puts = dev.count("PUT", "/openidm/config")
    again = chain.run("deliver", "dev")
    assert again.code == 0, again.err
    assert again.out.startswith(
        f"dev: unchanged: {dev.url}/openidm/config/external.email already holds it"
    )
    assert dev.count("PUT", "/openidm/config") == puts
    drifted = dict(dev.config() or {}, port=2525)
    dev.set_config("external.email", drifted)
    third = chain.run("deliver", "dev")
    assert third.code == 0, third.err
    assert third.out.startswith(f"dev: delivered to {dev.url}/openidm/config/external.email")
    assert dev.count("PUT", "/openidm/config") == puts + 1
    assert (dev.config() or {})["port"] == 587


def test_promote_to_a_tenant_that_says_it_is_mutable_delivers_directly(chain: Chain) -> None:
    staging = chain.tenants.staging
    staging.mutable = True
    write(chain.repo / "environments" / "staging.yaml", "port: 2525\n")  # EMAIL016 moot
    assert chain.run("deliver", "dev").code == 0
    run = _promote(chain, "dev", "staging")
    assert run.code == 0, run.err
    assert "staging's tenant says it is mutable: delivered directly" in run.out
    assert staging.count("POST", "/environment/promotion") == 0
    assert (staging.config() or {})["port"] == 2525
    assert _ledger(chain)[-1]["env"] == "staging"


def test_promote_dry_run_says_what_the_tenant_answered(chain: Chain) -> None:
    assert chain.run("deliver", "dev").code == 0
    run = chain.run("promote", "dev", "staging", "--dry-run")
    assert run.code == 0, run.err
    assert "staging's tenant says it is immutable: AIC's promotion carries the change" in run.out


def test_eight_failed_restart_polls_are_survived(chain: Chain) -> None:
    dev = chain.tenants.dev
    dev.restart_seconds = 0.3
    dev.fail_request("GET", "/environment/startup", 500, count=5)
    dev.fail_request("GET", "/environment/startup", 502, count=1)
    dev.fail_request("GET", "/environment/startup", -1, count=2)  # connection dropped
    run = chain.run("deliver", "dev")
    assert run.code == 0, run.err
    assert "restarted to load ESVs" in run.out
    assert dev.restarts == 1 and dev.count("POST", "/environment/startup") == 1
    assert dev.count("GET", "/environment/startup") >= 7  # 6 failures seen + ready


def test_polls_that_keep_failing_end_at_wait_timeout_naming_the_last_failure(
    chain: Chain,
) -> None:
    dev = chain.tenants.dev
    text = (chain.repo / "promoter.yaml").read_text().replace("waitTimeout: 20", "waitTimeout: 0.5")
    write(chain.repo / "promoter.yaml", text)
    dev.fail_request("GET", "/environment/startup", 503, count=10_000)
    run = chain.run("deliver", "dev")
    assert run.code == 3
    assert run.err.startswith(
        "error: wait for the restart on dev's tenant: not done after 0.5 s; the last poll "
        "failed: read the restart status on dev's tenant: "
    )
    assert "503" in run.err
    assert dev.count("POST", "/environment/startup") == 1  # the restart is never repeated


def test_promotion_metadata_is_sent_and_kept_in_the_ledger(chain: Chain) -> None:
    staging = chain.tenants.staging
    assert chain.run("deliver", "dev").code == 0
    chain.environ["USER"] = "ci-runner"
    run = _promote(chain, "dev", "staging", "--description", "new relay", "--ticket", "OPS-42")
    assert run.code == 0, run.err
    bodies = staging.promotions.started
    assert [b["dryRun"] for b in bodies] == [True, False]
    for body in bodies:
        assert body["promotionDescription"] == "new relay"
        assert body["zendeskTicketReference"] == "OPS-42"
        assert body["promoter"]  # the git user, else $USER
    assert staging.promotions.reports[-1]["promotionDescription"] == "new relay"
    meta = _ledger(chain)[-1]["detail"]["aic"]["metadata"]
    assert meta == {
        "description": "new relay",
        "promoter": bodies[0]["promoter"],
        "ticket": "OPS-42",
    }


def test_without_metadata_flags_the_promoter_is_still_sent(chain: Chain) -> None:
    staging = chain.tenants.staging
    assert chain.run("deliver", "dev").code == 0
    assert _promote(chain, "dev", "staging").code == 0
    body = staging.promotions.started[-1]
    assert body["promotionDescription"] == "promoter: dev -> staging"
    assert body["promoter"] and "zendeskTicketReference" not in body
