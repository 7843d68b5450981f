"""`promoter verify ENV --templates` and EMAIL018 against stand-ins on 127.0.0.1.

The IDM REST stand-in holds email templates and really sends them (``sendTemplate``)
through the aiosmtpd SMTP stand-in, or through the token and Graph sendMail stand-ins,
with the config it was delivered (DESIGN.md, "Templates and senders").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Run, cli, set_target, write
from tests.e2e.test_verify import CLIENT_SECRET, PASSWORD, point_staging_at
from tests.support.azure_standin import GraphStandin, TokenStandin, point_prod_at
from tests.support.idm_standin import IdmStandin
from tests.support.smtp_standin import SmtpStandin

TOKEN = "idm-bearer-CANARY-5e1f"
ENV = {"IDM_TOKEN": TOKEN}


class Staging:
    """The example's staging delivered to an IDM stand-in that sends through an SMTP stand-in."""

    def __init__(self, repo: Path, idm: IdmStandin, smtp: SmtpStandin) -> None:
        self.repo, self.idm, self.smtp = repo, idm, smtp
        self.runs: list[Run] = []

    def run(self, *args: str) -> Run:
        result = cli(*args, cwd=self.repo, env=ENV)
        self.runs.append(result)
        return result

    def verify(self, *extra: str) -> Run:
        return self.run("verify", "staging", "--to", "ops@example.com", *extra)

    def ledger(self) -> list[dict[str, Any]]:
        path = self.repo / "ledger/promotions.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()]


def _staging(repo: Path, smtp: SmtpStandin, tls: Any) -> Iterator[Staging]:
    point_staging_at(repo, smtp.port)
    with IdmStandin(
        tokens=frozenset({TOKEN}), secrets_dir=repo / "secrets/staging", ca_file=tls.ca_file
    ) as idm:
        assert isinstance(idm, IdmStandin)
        set_target(repo, "staging", f"{{idm: '{idm.base}', bearerEnv: IDM_TOKEN}}")
        staging = Staging(repo, idm, smtp)
        assert staging.run("deliver", "staging").code == 0
        yield staging
        for run in staging.runs:
            for canary in (PASSWORD, TOKEN):
                assert canary not in run.out + run.err


@pytest.fixture
def staging(example: Path, tls: Any) -> Iterator[Staging]:
    with SmtpStandin(
        tls, users={"idm-mailer": PASSWORD}, refuse_senders=frozenset({"elsewhere.example"})
    ) as smtp:
        yield from _staging(example, smtp, tls)


def test_every_enabled_template_is_sent_through_the_target_and_recorded(
    staging: Staging,
) -> None:
    staging.idm.templates.add("resetPassword")  # blank from: the provider's
    staging.idm.templates.add("registration", from_='"Example Sign-up" <noreply@example.com>')
    staging.idm.templates.add("welcome", enabled=False)
    run = staging.verify("--templates")
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert 'registration: accepted, from "Example Sign-up" <noreply@example.com>' in lines
    assert "resetPassword: accepted, from noreply@example.com" in lines
    assert not any(line.startswith("welcome") for line in lines)
    assert lines[-1].startswith(
        f"verified staging: 2 email templates accepted through {staging.idm.base}/external/email"
    )
    received = staging.smtp.wait_for(2)
    parsed = [message_from_bytes(m.content, policy=policy.default) for m in received]
    by_subject = {p["Subject"]: p for p in parsed}
    assert set(by_subject) == {"Hello Verify"}  # {{object.givenName}} rendered from the sample
    assert {p["From"] for p in parsed} == {
        "noreply@example.com",
        "Example Sign-up <noreply@example.com>",
    }
    assert all(m.rcpt_tos == ("ops@example.com",) for m in received)
    entry = staging.ledger()[-1]
    assert (entry["action"], entry["result"]) == ("verify", "verified")
    assert entry["detail"]["via"] == "templates"
    assert entry["detail"]["templates"] == ["registration", "resetPassword"]


def test_a_template_the_relay_refuses_fails_and_names_the_reason(staging: Staging) -> None:
    staging.idm.templates.add("resetPassword")
    staging.idm.templates.add("otp", from_="security@elsewhere.example")
    run = staging.verify("--templates")
    assert run.code == 1
    assert "resetPassword: accepted, from noreply@example.com" in run.out
    assert (
        "otp: refused (500: Failed to send email: 550 5.7.1 Sender address rejected: "
        "not owned by the authenticated user), from security@elsewhere.example" in run.out
    )
    assert "warn: otp: From domain elsewhere.example differs from the provider's example.com" in (
        run.out
    )
    assert "staging: 1 of 2 email templates not accepted" in run.err and "otp" in run.err
    assert not any(e["action"] == "verify" for e in staging.ledger())
    assert "Traceback" not in run.err


def test_a_template_on_another_domain_is_warned_when_accepted(staging: Staging) -> None:
    staging.idm.templates.add("newsletter", from_="hello@marketing.example")
    run = staging.verify("--templates")
    assert run.code == 0, run.err
    assert "newsletter: accepted, from hello@marketing.example" in run.out
    assert (
        "warn: newsletter: From domain marketing.example differs from the provider's "
        "example.com: SPF/DKIM/DMARC alignment may fail" in run.out
    )


def test_template_picks_some_and_a_missing_one_fails(staging: Staging) -> None:
    staging.idm.templates.add("resetPassword")
    staging.idm.templates.add("registration")
    picked = staging.verify("--template", "registration")
    assert picked.code == 0, picked.err
    assert "registration: accepted" in picked.out and "resetPassword" not in picked.out
    assert len(staging.idm.templates.sent) == 1
    missing = staging.verify("--template", "registration", "--template", "nope")
    assert missing.code == 1
    assert "nope: missing: the target holds no emailTemplate/nope" in missing.out
    assert "1 of 2 email templates not accepted" in missing.err


def test_no_enabled_template_is_refused(staging: Staging) -> None:
    staging.idm.templates.add("welcome", enabled=False)
    run = staging.verify("--templates")
    assert run.code == 1 and "holds no enabled email template" in run.err


def test_a_refusal_that_echoes_secrets_and_escapes_is_scrubbed(staging: Staging) -> None:
    staging.idm.templates.add("resetPassword")
    echo = f"relay said AUTH {PASSWORD} with Bearer {TOKEN}\x1b]8;;http://evil\x07\nerror: forged"
    staging.idm.templates.refusal = echo
    run = staging.verify("--templates")
    assert run.code == 1
    assert PASSWORD not in run.out + run.err and TOKEN not in run.out + run.err
    assert "\x1b" not in run.out and "\x07" not in run.out
    assert "\nerror: forged" not in run.out
    [line] = [line for line in run.out.splitlines() if line.startswith("resetPassword:")]
    assert line.startswith("resetPassword: refused (500: relay said AUTH")


def test_require_verified_templates_needs_a_templates_verification(staging: Staging) -> None:
    staging.idm.templates.add("resetPassword")
    text = (staging.repo / "promoter.yaml").read_text()
    text = text.replace("  staging:\n", "  staging:\n    requireVerified: templates\n", 1)
    write(staging.repo / "promoter.yaml", text)
    assert staging.run("promote", "dev", "staging").code == 0
    plain = staging.verify("--via", "idm")  # a plain test email proves the credentials only
    assert plain.code == 0, plain.err
    refused = staging.run("promote", "staging", "prod")
    assert refused.code == 1
    assert "no successful email templates verification" in refused.err
    assert "promoter verify staging --to you@example.com --templates" in refused.err
    assert staging.verify("--templates").code == 0
    allowed = staging.run("promote", "staging", "prod")
    assert allowed.code == 0, allowed.err


def test_templates_need_an_idm_or_aic_target(example: Path) -> None:
    run = cli("verify", "dev", "--to", "ops@example.com", "--templates", cwd=example)
    assert run.code == 2
    assert "--templates needs an IDM or AIC target for dev" in run.err


# -- MS Graph: the From must be the mailbox (EMAIL018) -----------------------------------


def _misalign_prod(repo: Path) -> None:
    overlay = repo / "environments/prod.yaml"
    text = overlay.read_text().replace(
        "from: noreply@example.onmicrosoft.com", "from: Alerts <alerts@example.com>"
    )
    overlay.write_text(text)


def test_email018_a_graph_from_that_is_not_the_mailbox_is_warned_at_its_line(
    example: Path,
) -> None:
    _misalign_prod(example)
    run = cli("check", cwd=example)
    assert run.code == 0, run.err  # a warning in every tier
    line = next(line for line in run.out.splitlines() if "EMAIL018" in line)
    assert "environments/prod.yaml:6:" in line
    assert "'from' alerts@example.com is not the mailbox in mailEndpoint" in line
    assert "noreply@example.onmicrosoft.com" in run.out  # the hint names both addresses


def test_email018_is_silent_when_aligned_or_case_differs(example: Path) -> None:
    overlay = example / "environments/prod.yaml"
    overlay.write_text(
        overlay.read_text().replace(
            "from: noreply@example.onmicrosoft.com",
            "from: Example <NoReply@Example.onmicrosoft.com>",
        )
    )
    run = cli("check", cwd=example)
    assert run.code == 0 and "EMAIL018" not in run.out + run.err


@pytest.fixture
def graph_prod(example: Path, tls: Any) -> Iterator[tuple[Path, IdmStandin, GraphStandin]]:
    with TokenStandin(tls.server_context()) as token:
        assert isinstance(token, TokenStandin)
        token.add_secret("00000000-0000-0000-0000-EXAMPLE00000", CLIENT_SECRET)
        with GraphStandin(token, tls.server_context()) as graph:
            assert isinstance(graph, GraphStandin)
            point_prod_at(example, token, graph)
            with IdmStandin(
                tokens=frozenset({TOKEN}),
                secrets_dir=example / "secrets/prod",
                ca_file=tls.ca_file,
            ) as idm:
                assert isinstance(idm, IdmStandin)
                set_target(example, "prod", f"{{idm: '{idm.base}', bearerEnv: IDM_TOKEN}}")
                yield example, idm, graph


def test_graph_refuses_a_misaligned_from_and_verify_says_so(
    graph_prod: tuple[Path, IdmStandin, GraphStandin],
) -> None:
    repo, idm, graph = graph_prod
    _misalign_prod(repo)
    idm.templates.add("resetPassword")
    assert cli("deliver", "prod", cwd=repo, env=ENV).code == 0
    run = cli("verify", "prod", "--to", "ops@example.com", "--templates", cwd=repo, env=ENV)
    assert run.code == 1
    assert "EMAIL018" in run.err  # the gate says it before anything is sent
    assert "resetPassword: refused (500: Failed to send email: sendMail answered 403 " in run.out
    assert "ErrorSendAsDenied" in run.out
    assert graph.sent == []
    graph.send_as.add("alerts@example.com")  # the app is granted Send As: Graph accepts it
    allowed = cli("verify", "prod", "--to", "ops@example.com", "--templates", cwd=repo, env=ENV)
    assert allowed.code == 0, allowed.out
    assert graph.sent[-1]["raw"]["message"]["from"]["emailAddress"]["address"] == (
        "alerts@example.com"
    )
    for output in (run.out + run.err, allowed.out + allowed.err):
        assert CLIENT_SECRET not in output and TOKEN not in output


def test_direct_verify_names_send_as_denied(
    graph_prod: tuple[Path, IdmStandin, GraphStandin], tls: Any
) -> None:
    repo, _, _ = graph_prod
    _misalign_prod(repo)
    run = cli("verify", "prod", "--to", "ops@example.com", "--ca-file", str(tls.ca_file), cwd=repo)
    assert run.code == 1
    assert "ErrorSendAsDenied" in run.err and "mailEndpoint" in run.err
    assert CLIENT_SECRET not in run.out + run.err
