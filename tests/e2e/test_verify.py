"""`promoter verify` against real servers on 127.0.0.1: an aiosmtpd SMTP stand-in with
STARTTLS + AUTH + SMTPUTF8, token endpoint and Graph sendMail stand-ins, the IDM REST stand-in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import cli, set_target, write
from tests.support.azure_standin import GraphStandin, TokenStandin, point_prod_at
from tests.support.idm_standin import IdmStandin
from tests.support.smtp_standin import SmtpStandin, free_port

PASSWORD = "EXAMPLE-not-a-real-staging-password"
CLIENT_ID = "00000000-0000-0000-0000-EXAMPLE00000"
CLIENT_SECRET = "EXAMPLE-not-a-real-client-secret"


def point_staging_at(repo: Path, port: int, *, extra_props: str = "") -> None:
    overlay = repo / "environments/staging.yaml"
    text = overlay.read_text().replace("host: smtp.staging.example.com", "host: 127.0.0.1")
    text = text.replace("port: 587", f"port: {port}") + extra_props
    overlay.write_text(text)


@pytest.fixture
def smtp(tls: Any) -> Iterator[SmtpStandin]:
    with SmtpStandin(tls, users={"idm-mailer": PASSWORD}) as standin:
        yield standin


@pytest.fixture
def azure(tls: Any) -> Iterator[tuple[TokenStandin, GraphStandin]]:
    with TokenStandin(tls.server_context()) as token:
        assert isinstance(token, TokenStandin)
        token.add_secret(CLIENT_ID, CLIENT_SECRET)
        with GraphStandin(token, tls.server_context()) as graph:
            assert isinstance(graph, GraphStandin)
            yield token, graph


def verify(repo: Path, env: str, to: str, tls: Any, *extra: str) -> Any:
    return cli("verify", env, "--to", to, "--ca-file", str(tls.ca_file), *extra, cwd=repo)


def test_smtp_starttls_auth_delivers_and_is_recorded(
    example: Path, smtp: SmtpStandin, tls: Any
) -> None:
    point_staging_at(example, smtp.port)
    run = verify(example, "staging", "ops@example.com", tls, "--subject", "hello")
    assert run.code == 0, run.err
    assert run.out.startswith(f"verified staging: sent over SMTP to 127.0.0.1:{smtp.port}")
    [message] = smtp.wait_for(1)
    assert message.login == "idm-mailer" and message.rcpt_tos == ("ops@example.com",)
    parsed = message_from_bytes(message.content, policy=policy.default)
    assert parsed["Subject"] == "hello" and parsed["From"] == "noreply@example.com"
    entry = json.loads((example / "ledger/promotions.jsonl").read_text().splitlines()[-1])
    assert (entry["action"], entry["result"], entry["env"]) == ("verify", "verified", "staging")
    assert PASSWORD not in run.out + run.err


def test_utf8_recipient_uses_smtputf8(example: Path, smtp: SmtpStandin, tls: Any) -> None:
    point_staging_at(example, smtp.port, extra_props="  mail.mime.allowutf8: true\n")
    run = verify(example, "staging", "zoë@example.com", tls)
    assert run.code == 0, run.err
    [message] = smtp.wait_for(1)
    assert message.smtputf8 and message.rcpt_tos == ("zoë@example.com",)
    assert "zoë@example.com" in message.content.decode("utf-8")


def test_utf8_recipient_without_allowutf8_is_refused_before_connecting(
    example: Path, smtp: SmtpStandin, tls: Any
) -> None:
    point_staging_at(example, smtp.port)
    run = verify(example, "staging", "zoë@example.com", tls)
    assert run.code == 1 and "needs mail.mime.allowutf8=true (nothing was sent)" in run.err
    assert smtp.messages() == []


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("refused", "connection refused by 127.0.0.1:"),
        ("bad password", "authentication failed at 127.0.0.1:"),
        ("untrusted", "TLS certificate of 127.0.0.1:"),
        ("recipient", "recipient refused by 127.0.0.1:"),
        ("no starttls", "does not offer STARTTLS, and mail.smtp.starttls.required is true"),
    ],
)
def test_smtp_errors_are_specific(example: Path, tls: Any, case: str, expected: str) -> None:
    users = {"idm-mailer": "another" if case == "bad password" else PASSWORD}
    with SmtpStandin(
        None if case == "no starttls" else tls, users=users, refuse=frozenset({"gone@example.com"})
    ) as smtp:
        point_staging_at(example, free_port() if case == "refused" else smtp.port)
        args = [
            "verify",
            "staging",
            "--to",
            "gone@example.com" if case == "recipient" else "ops@example.com",
        ]
        if case != "untrusted":
            args += ["--ca-file", str(tls.ca_file)]
        run = cli(*args, cwd=example)
    assert run.code == 1, run.err
    assert expected in run.err, run.err
    assert "Traceback" not in run.err and PASSWORD not in run.err


def test_msgraph_direct(example: Path, azure: tuple[TokenStandin, GraphStandin], tls: Any) -> None:
    token, graph = azure
    point_prod_at(example, token, graph)
    run = verify(example, "prod", "ops@example.com", tls, "--subject", "graph hello")
    assert run.code == 0, run.err
    assert "sent through MS Graph sendMail (202 Accepted)" in run.out
    [sent] = graph.sent
    assert sent["to"] == ["ops@example.com"] and sent["subject"] == "graph hello"
    assert sent["raw"]["saveToSentItems"] is False
    assert CLIENT_SECRET not in run.out + run.err


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("invalid secret", "invalid client secret (AADSTS7000215)"),
        ("expired secret", "the client secret has expired (AADSTS7000222)"),
        ("unknown app", "unknown application (AADSTS700016)"),
        ("forbidden", "grant the app the Mail.Send application permission"),
    ],
)
def test_msgraph_errors_are_specific(
    example: Path, azure: tuple[TokenStandin, GraphStandin], tls: Any, case: str, expected: str
) -> None:
    token, graph = azure
    point_prod_at(example, token, graph)
    if case == "invalid secret":
        token.revoke_secret(CLIENT_ID, CLIENT_SECRET)
    elif case == "expired secret":
        token.expire_secret(CLIENT_ID, CLIENT_SECRET)
    elif case == "unknown app":
        token.valid.clear()
    else:
        graph.fail_next(403, body={"error": {"code": "ErrorAccessDenied", "message": "denied"}})
    run = verify(example, "prod", "ops@example.com", tls)
    assert run.code == 1 and expected in run.err, run.err
    assert CLIENT_SECRET not in run.out + run.err


def test_msgraph_429_honours_retry_after(
    example: Path, azure: tuple[TokenStandin, GraphStandin], tls: Any
) -> None:
    token, graph = azure
    point_prod_at(example, token, graph)
    graph.fail_next(429, headers={"Retry-After": "1"})
    run = verify(example, "prod", "ops@example.com", tls)
    assert run.code == 0, run.err
    assert [s for _, _, s in graph.seen] == [429, 202]


def test_via_idm_sends_with_the_config_idm_holds(
    example: Path, azure: tuple[TokenStandin, GraphStandin], tls: Any
) -> None:
    token, graph = azure
    point_prod_at(example, token, graph)
    with IdmStandin(tokens=frozenset({"t"}), ca_file=tls.ca_file) as idm:
        assert isinstance(idm, IdmStandin)
        set_target(example, "prod", f"{{idm: '{idm.base}', bearerEnv: IDM_TOKEN}}")
        assert cli("deliver", "prod", cwd=example, env={"IDM_TOKEN": "t"}).code == 0
        run = cli(
            "verify",
            "prod",
            "--to",
            "ops@example.com",
            "--via",
            "idm",
            cwd=example,
            env={"IDM_TOKEN": "t"},
        )
    assert run.code == 0, (run.err, idm.send_failures)
    assert f"sent through {idm.base}/external/email" in run.out
    assert graph.sent[-1]["to"] == ["ops@example.com"] and idm.sent == 1


def test_require_verified_refuses_then_allows(example: Path, smtp: SmtpStandin, tls: Any) -> None:
    point_staging_at(example, smtp.port)
    write(
        example / "promoter.yaml",
        "order: [dev, staging, prod]\nenvironments:\n  staging: {requireVerified: true}\n",
    )
    assert cli("promote", "dev", "staging", cwd=example).code == 0
    refused = cli("promote", "staging", "prod", cwd=example)
    assert refused.code == 1
    assert "staging's current output has no successful verification" in refused.err
    assert verify(example, "staging", "ops@example.com", tls).code == 0
    allowed = cli("promote", "staging", "prod", cwd=example)
    assert allowed.code == 0, allowed.err


def test_smtp_timeout_is_specific(example: Path, tls: Any) -> None:
    import socket

    with socket.socket() as silent:  # accepts the connection, never says hello
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        point_staging_at(example, port)
        base = example / "environments/base.yaml"
        base.write_text(
            base.read_text().replace("connectiontimeout: 30000", "connectiontimeout: 500")
        )
        run = verify(example, "staging", "ops@example.com", tls)
    assert run.code == 1
    assert f"timed out talking to 127.0.0.1:{port} (hint: check host, port and firewall)" in run.err
