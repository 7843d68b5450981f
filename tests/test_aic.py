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

import pytest

from tests.conftest import Run, cli, write
from tests.support.aic_standin import AicChain
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
        return [*PASSWORDS.values(), key[KEY_CANARY], key["p"], self.environ["AIC_SA_KEY"]]


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
        "error: staging's AIC tenant is immutable: its config changes only by AIC promotion "
        "(hint: promoter promote dev staging --apply)\n"
    )
    assert chain.tenants.staging.count("PUT") == 0


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
