"""`promoter watch ENV` on an AIC target (a rotated store value becomes a new ESV secret
version, proven by a test email through the tenant before the previous version is disabled),
and on an idm target whose auth provider hands out short-lived tokens.

Real parts on 127.0.0.1: the watcher daemon (tests/support/watch_harness.py), the AIC tenant
stand-in (its send uses the ESV values it has LOADED), and aiosmtpd SMTP stand-ins with
STARTTLS and AUTH.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import cli, write
from tests.support.aic_standin import AicStandin, ServiceAccountKey
from tests.support.smtp_standin import SmtpStandin
from tests.support.watch_harness import Daemon, replace_file, wait_until

ESV = "esv-email-password"
USER = "idm-mailer"
FIRST = "canary-rotation-first-7f3a"  # unique fake secrets: asserted absent from every output
SECOND = "canary-rotation-second-91c2"
THIRD = "canary-rotation-third-5be8"
RECIPIENT = "ops@example.com"
SENDER = "noreply@example.com"

OVERLAY = """\
type: smtp
host: "&{esv.email.host}"
port: PORT
from: "&{esv.email.from}"
auth:
  enable: true
  username: idm-mailer
  password: "&{esv.email.password}"
starttls:
  enable: true
ssl:
  enable: false
smtpProperties:
  mail.smtp.ssl.protocols: TLSv1.2 TLSv1.3
  mail.smtp.starttls.required: true
"""


def promoter_yaml(url: str, *, host: str = "127.0.0.1", sender: str = SENDER) -> str:
    return f"""\
order: [prod]
environments:
  prod:
    tier: production
    secrets: secrets/prod
    target:
      aic: {url}
      serviceAccount: {{idEnv: SA_ID, keyEnv: SA_KEY}}
      pollInterval: 0.05
      waitTimeout: 30
      retries: 1
    esvs:
      esv.email.host: "{host}"
      esv.email.from: "{sender}"
      esv.email.password: {{$purpose: {{name: smtp.password}}}}
"""


@dataclass
class Tenant:
    repo: Path
    aic: AicStandin
    smtp: SmtpStandin
    key: ServiceAccountKey

    @property
    def store(self) -> Path:
        return self.repo / "secrets/prod/smtp.password"

    @property
    def environ(self) -> dict[str, str]:
        return {"SA_ID": self.key.id, "SA_KEY": json.dumps(self.key.private_jwk)}

    def daemon(self, *args: str) -> Daemon:
        return Daemon(self.repo, "prod", "--verify-to", RECIPIENT, *args, environ=self.environ)

    def versions(self) -> dict[str, str]:
        """version -> status of the password secret, as the tenant holds them."""
        secret = self.aic.esvs.secrets[ESV]
        return {v.version: v.status for v in secret.versions}

    def rotate(self, value: str) -> None:
        replace_file(self.store, value + "\n")

    def sends(self) -> list[int]:
        """Statuses of the test emails sent through the tenant, in order."""
        return [s for m, p, s in self.aic.seen if m == "POST" and p == "/openidm/external/email"]

    def tenant_log(self) -> list[tuple[str, str, int]]:
        return list(self.aic.seen)


@pytest.fixture
def tenant(tmp_path: Path, tls: Any) -> Iterator[Tenant]:
    repo = tmp_path / "repo"
    with (
        SmtpStandin(tls, users={USER: FIRST}) as smtp,
        AicStandin("prod", mutable=False, restart_seconds=0.2, ca_file=tls.ca_file) as aic,
    ):
        key = aic.add_service_account()
        write(repo / "promoter.yaml", promoter_yaml(aic.url))
        write(repo / "environments/prod.yaml", OVERLAY.replace("PORT", str(smtp.port)))
        write(repo / "secrets/prod/smtp.password", FIRST + "\n")
        aic.set_config("external.email", tenant_config(smtp.port))
        # the tenant already runs FIRST, loaded: what a promotion + restart left behind
        aic.set_variable("esv-email-host", "127.0.0.1")
        aic.set_variable("esv-email-from", SENDER)
        aic.set_secret(ESV, FIRST)
        yield Tenant(repo, aic, smtp, key)


def tenant_config(port: int) -> dict[str, Any]:
    """The config the tenant holds: the overlay as compiled, placeholders unresolved."""
    return {
        "type": "smtp",
        "host": "&{esv.email.host}",
        "port": port,
        "from": "&{esv.email.from}",
        "auth": {"enable": True, "username": USER, "password": "&{esv.email.password}"},
        "starttls": {"enable": True},
        "ssl": {"enable": False},
        "smtpProperties": [
            "mail.smtp.ssl.protocols=TLSv1.2 TLSv1.3",
            "mail.smtp.starttls.required=true",
        ],
    }


def reloads(daemon: Daemon) -> list[dict[str, Any]]:
    return [r for r in daemon.logs() if r["event"] == "reload"]


def assert_no_canary(text: str, *canaries: str) -> None:
    for canary in canaries:
        assert canary not in text


def test_rotation_becomes_a_version_proven_by_email_before_the_old_one_is_disabled(
    tenant: Tenant,
) -> None:
    daemon = tenant.daemon()
    try:
        daemon.wait_ready()
        first = reloads(daemon)[0]
        assert first["result"] == "success"
        assert first["message"].endswith(f"{ESV} v1: no change")
        assert tenant.aic.restarts == 0 and tenant.sends() == []  # nothing changed: no restart

        tenant.smtp.set_password(USER, SECOND)  # the mail server now takes only the new value
        tenant.rotate(SECOND)
        done = daemon.wait_log(
            lambda r: r["event"] == "reload" and r["result"] != "unchanged",
            timeout=30,
            after=len(daemon.logs()),
        )
        assert done["result"] == "success", done
        assert done["message"] == (
            f"rotated secret {ESV} v2; restarted the tenant; test email through the tenant "
            f"accepted (to a mailbox at example.com); disabled {ESV} v1"
        )
        assert tenant.versions() == {"1": "DISABLED", "2": "ENABLED"}
        assert tenant.aic.secret_value(ESV) == SECOND
        assert tenant.aic.restarts == 1
        # the test email arrived, logged in with the NEW value (the server refuses the old one)
        (message,) = tenant.smtp.messages()
        assert message.rcpt_tos == (RECIPIENT,) and message.login == USER
        # order on the tenant: new version, restart, test email (200), only then the disable
        log = tenant.tenant_log()
        created = log.index(("POST", f"/environment/secrets/{ESV}/versions", 200))
        restart = log.index(("POST", "/environment/startup", 200))
        sent = log.index(("POST", "/openidm/external/email", 200))
        disabled = log.index(("POST", f"/environment/secrets/{ESV}/versions/1", 200))
        assert created < restart < sent < disabled

        steps = [r["step"] for r in daemon.logs() if r["event"] == "rotation"]
        assert steps == ["push", "restart", "ready", "verify", "disable"]
    finally:
        assert daemon.stop() == 0
    issued = list(tenant.aic._tokens)  # every token the stand-in handed out
    assert issued
    canaries = (FIRST, SECOND, tenant.key.private_jwk["d"], *issued)
    assert_no_canary(daemon.raw_logs() + daemon.stdout, *canaries)
    repo_files = [p for p in tenant.repo.rglob("*") if p.is_file() and "secrets" not in p.parts]
    assert_no_canary("".join(p.read_text(errors="replace") for p in repo_files), *canaries)


def test_refused_new_value_is_undone_and_the_previous_version_stays_enabled(
    tenant: Tenant,
) -> None:
    daemon = tenant.daemon()
    try:
        daemon.wait_ready()
        tenant.rotate(SECOND)  # the mail server still takes only FIRST
        done = daemon.wait_log(
            lambda r: r["event"] == "reload" and r["result"] == "probe-failed", timeout=30
        )
        assert done["level"] == "error"
        assert done["message"].startswith(
            "kept last known good: the test email through the tenant failed (send a test "
            "email on prod's tenant: "
        )
        assert (
            f"restored secret {ESV} v3 (the last proven value), disabled the refused {ESV} v2; "
            f"still enabled: {ESV} v1; a test email with the restored values was accepted"
        ) in done["message"]
        # v1 (the last good) was never disabled; v3 carries its value and is loaded
        assert tenant.versions() == {"1": "ENABLED", "2": "DISABLED", "3": "ENABLED"}
        assert tenant.aic.secret_value(ESV) == FIRST
        assert tenant.aic.esvs.secrets[ESV].loaded_version == "3"
        assert tenant.sends() == [500, 200]
        assert [m.login for m in tenant.smtp.messages()] == [USER]  # the check after the undo

        # the refused value is not tried again: an event with the same content changes nothing
        restarts = tenant.aic.restarts
        tenant.rotate(SECOND)
        time.sleep(1.0)  # let a (wrong) retry show itself; nothing below waits on time
        assert tenant.aic.restarts == restarts and tenant.sends() == [500, 200]

        # a value the server takes is rotated normally, and then v1 and v3 go
        tenant.smtp.set_password(USER, THIRD)
        tenant.rotate(THIRD)
        done = daemon.wait_log(
            lambda r: (
                r["event"] == "reload" and r["result"] == "success" and "rotated" in r["message"]
            ),
            timeout=30,
        )
        assert f"rotated secret {ESV} v4" in done["message"]
        assert f"disabled {ESV} v1, {ESV} v3" in done["message"]
        assert tenant.versions() == {
            "1": "DISABLED",
            "2": "DISABLED",
            "3": "DISABLED",
            "4": "ENABLED",
        }
    finally:
        assert daemon.stop() == 0
    assert_no_canary(daemon.raw_logs(), FIRST, SECOND, THIRD)


def test_once_with_nothing_changed_neither_restarts_nor_sends(tenant: Tenant) -> None:
    run = cli(
        "watch", "prod", "--once", "--verify-to", RECIPIENT, cwd=tenant.repo, env=tenant.environ
    )
    assert run.code == 0, run.err
    (line,) = [json.loads(x) for x in run.err.splitlines() if '"reload"' in x]
    assert line["result"] == "success"
    assert line["message"] == (
        f"the tenant holds esv-email-from, esv-email-host, {ESV} v1: no change"
    )
    assert tenant.aic.restarts == 0 and tenant.sends() == []
    assert tenant.aic.count("POST", "/environment/startup") == 0
    assert tenant.versions() == {"1": "ENABLED"}


def test_once_refused_first_change_has_nothing_to_restore(tenant: Tenant) -> None:
    tenant.rotate(SECOND)  # changed before the watcher ever saw a working value
    run = cli(
        "watch", "prod", "--once", "--verify-to", RECIPIENT, cwd=tenant.repo, env=tenant.environ
    )
    assert run.code == 1
    (line,) = [json.loads(x) for x in run.err.splitlines() if '"reload"' in x]
    assert line["result"] == "probe-failed"
    assert line["message"].endswith(
        "no proven value to restore since the watcher started: the tenant runs the new "
        f"values; still enabled: {ESV} v1; write working values to the store"
    )
    assert tenant.versions() == {"1": "ENABLED", "2": "ENABLED"}
    assert_no_canary(run.out + run.err, FIRST, SECOND)


def test_once_without_the_service_account_key_is_an_input_error(tenant: Tenant) -> None:
    environ = {**tenant.environ, "SA_KEY": ""}
    run = cli("watch", "prod", "--once", "--verify-to", RECIPIENT, cwd=tenant.repo, env=environ)
    assert run.code == 2
    (line,) = [json.loads(x) for x in run.err.splitlines() if '"reload"' in x]
    assert line["message"] == (
        "kept last known good: environment variable SA_KEY is not set (hint: export SA_KEY=...)"
    )
    assert tenant.aic.count() == 0


def test_daemon_with_nothing_changed_stays_quiet(tenant: Tenant) -> None:
    daemon = tenant.daemon()
    try:
        daemon.wait_ready()
        before = len(tenant.tenant_log())
        tenant.rotate(FIRST)  # rewritten with the same value: an event, no change
        daemon.wait_log(lambda r: r["event"] == "reload" and r["result"] == "unchanged")
        assert len(tenant.tenant_log()) == before  # not even a read
        assert tenant.aic.restarts == 0 and tenant.sends() == []
    finally:
        assert daemon.stop() == 0


def test_a_changed_variable_is_pushed_restarted_and_proven(tenant: Tenant) -> None:
    daemon = tenant.daemon()
    try:
        daemon.wait_ready()
        sender = "rotated-sender@example.com"
        write(tenant.repo / "promoter.yaml", promoter_yaml(tenant.aic.url, sender=sender))
        daemon.signal(signal.SIGHUP)  # promoter.yaml is read again
        done = daemon.wait_log(
            lambda r: r["event"] == "reload" and "rotated" in r.get("message", ""), timeout=30
        )
        assert done["result"] == "success"
        assert done["message"] == (
            "rotated variable esv-email-from; restarted the tenant; test email through the "
            "tenant accepted (to a mailbox at example.com); no previous version to disable"
        )
        (message,) = tenant.smtp.messages()  # sent with the variable the restart loaded
        assert message.mail_from == sender
        assert tenant.aic.esvs.variables["esv-email-from"].loaded
    finally:
        assert daemon.stop() == 0


def test_an_aic_target_needs_a_recipient(tenant: Tenant) -> None:
    run = cli("watch", "prod", "--once", cwd=tenant.repo, env=tenant.environ)
    assert run.code == 2
    assert run.err.startswith("error: watch prod: an AIC target needs --verify-to ADDRESS")
    assert "Traceback" not in run.err
    bad = cli(
        "watch", "prod", "--once", "--verify-to", "nobody", cwd=tenant.repo, env=tenant.environ
    )
    assert bad.code == 2 and "(got 'nobody')" in bad.err


def test_an_unreachable_tenant_keeps_the_previous_version_and_retries(tenant: Tenant) -> None:
    daemon = tenant.daemon("--resync-s", "1")
    try:
        daemon.wait_ready()
        tenant.smtp.set_password(USER, SECOND)
        tenant.aic.go_down()
        tenant.rotate(SECOND)
        failed = daemon.wait_log(
            lambda r: r["event"] == "reload" and r["result"] == "delivery-failed", timeout=30
        )
        assert failed["message"].startswith("kept last known good: ")
        assert tenant.versions() == {"1": "ENABLED"}
        tenant.aic.come_back()
        done = daemon.wait_log(
            lambda r: (
                r["event"] == "reload" and r["result"] == "success" and "rotated" in r["message"]
            ),
            timeout=30,
        )
        assert f"disabled {ESV} v1" in done["message"]
        assert tenant.versions() == {"1": "DISABLED", "2": "ENABLED"}
    finally:
        assert daemon.stop() == 0


# --- idm target: the watcher's token comes from the auth provider and is refreshed ---------

CLIENT_ID = "watcher-client"
CLIENT_SECRET = "canary-client-secret-44d1"


@pytest.mark.slow
def test_idm_watcher_keeps_delivering_with_two_second_tokens(tmp_path: Path, tls: Any) -> None:
    """An AIC stand-in plays AM (client_credentials, 2 s tokens) and IDM's REST API."""
    repo = tmp_path / "repo"
    passwords = [f"canary-idm-password-{i:02d}" for i in range(12)]  # 11 rotations, 3 s apart
    with (
        SmtpStandin(tls, users={USER: passwords[0]}) as smtp,
        AicStandin("idm", token_lifetime=2, ca_file=tls.ca_file) as am,
    ):
        am.add_oauth2_client(CLIENT_ID, CLIENT_SECRET)
        write(
            repo / "promoter.yaml",
            f"""\
order: [prod]
environments:
  prod:
    tier: production
    secrets: secrets/prod
    render: resolved
    target:
      idm: {am.url}/openidm
      oauth2:
        tokenEndpoint: {am.token_url}
        clientIdEnv: CLIENT_ID
        clientSecretEnv: CLIENT_SECRET
        scope: ["fr:idm:*"]
""",
        )
        write(
            repo / "environments/prod.yaml",
            OVERLAY.replace('"&{esv.email.host}"', "127.0.0.1")
            .replace("PORT", str(smtp.port))
            .replace('"&{esv.email.from}"', SENDER)
            .replace('"&{esv.email.password}"', "{$purpose: {name: smtp.password}}"),
        )
        store = write(repo / "secrets/prod/smtp.password", passwords[0] + "\n")
        environ = {"CLIENT_ID": CLIENT_ID, "CLIENT_SECRET": CLIENT_SECRET}
        daemon = Daemon(repo, "prod", "--ca-file", str(tls.ca_file), environ=environ)
        started = time.monotonic()
        try:
            daemon.wait_ready()
            with httpx.Client(timeout=10) as client:
                for index, password in enumerate(passwords[1:], start=1):
                    while time.monotonic() - started < index * 3.0:  # the last token expired
                        time.sleep(0.1)
                    smtp.set_password(USER, password)  # only the new value logs in
                    replace_file(store, password + "\n")
                    wait_until(
                        lambda i=index: sum(r["result"] == "success" for r in reloads(daemon)) > i,
                        timeout=20,
                        what=f"rotation {index}",
                    )
                    # the IDM stand-in sends with what the watcher delivered: the new value
                    token = am.issue_token(["fr:idm:*"])
                    answer = client.post(
                        f"{am.url}/openidm/external/email",
                        params={"_action": "send"},
                        headers={"Authorization": f"Bearer {token}"},
                        json={"to": RECIPIENT, "subject": f"after {index}", "body": "b"},
                    )
                    assert answer.status_code == 200, (index, am.send_failures[-1:])
            results = [r["result"] for r in reloads(daemon)]
            assert results.count("success") == len(passwords)
            assert "delivery-failed" not in results
            assert len(smtp.messages()) == len(passwords) - 1
            grants = am.count("POST", "/am/oauth2/access_token")
            assert grants >= 11  # a fresh token for rotations 3 s apart
            # renewed before it expired: IDM never had to refuse one
            assert [p for m, p, s in am.seen if s == 401] == []
            assert am.count("PUT", "/openidm/config/external.email") == len(passwords)
        finally:
            assert daemon.stop() == 0
        issued = list(am._tokens)  # the stand-in's tokens: none may leak
        out = daemon.raw_logs()
        assert_no_canary(out, CLIENT_SECRET, *passwords, *issued)
        assert_no_canary(
            "".join(
                p.read_text() for p in repo.rglob("*") if p.is_file() and "secrets" not in p.parts
            ),
            CLIENT_SECRET,
            *issued,
        )


GRAPH_CLIENT = "00000000-0000-0000-0000-EXAMPLE00001"
GRAPH_ESV = "esv-email-msgraph-secret"


def test_msgraph_client_secret_rotation_through_the_tenant(tmp_path: Path, tls: Any) -> None:
    """The clientSecret ESV of a msgraph config: the new version is proven by a test email the
    tenant sends through Graph (Azure's token stand-in takes only the new secret by then)."""
    from tests.support.azure_standin import GraphStandin, TokenStandin

    repo = tmp_path / "repo"
    with (
        TokenStandin(tls.server_context()) as token,
        GraphStandin(token, tls.server_context()) as graph,
        AicStandin("prod", mutable=False, restart_seconds=0.2, ca_file=tls.ca_file) as aic,
    ):
        assert isinstance(token, TokenStandin) and isinstance(graph, GraphStandin)
        key = aic.add_service_account()
        config = {
            "type": "msgraph",
            "from": SENDER,
            "mailEndpoint": graph.mail_endpoint(SENDER),  # Graph sends as that mailbox only
            "auth": {
                "type": "oauth2",
                "clientId": "&{esv.email.msgraph.client}",
                "clientSecret": "&{esv.email.msgraph.secret}",
                "tokenEndpoint": token.token_endpoint(),
                "scope": ["https://graph.microsoft.com/.default"],
            },
        }
        yaml = promoter_yaml(aic.url).split("    esvs:\n")[0] + (
            "    esvs:\n"
            f"      esv.email.msgraph.client: {GRAPH_CLIENT}\n"
            "      esv.email.msgraph.secret: {$purpose: {name: msgraph.secret}}\n"
        )
        write(repo / "promoter.yaml", yaml)
        write(repo / "environments/prod.yaml", json.dumps(config))
        store = write(repo / "secrets/prod/msgraph.secret", FIRST + "\n")
        aic.set_config("external.email", config)
        aic.set_variable("esv-email-msgraph-client", GRAPH_CLIENT)
        aic.set_secret(GRAPH_ESV, FIRST)
        token.add_secret(GRAPH_CLIENT, FIRST)
        environ = {"SA_ID": key.id, "SA_KEY": json.dumps(key.private_jwk)}
        daemon = Daemon(repo, "prod", "--verify-to", RECIPIENT, environ=environ)
        try:
            daemon.wait_ready()
            token.add_secret(GRAPH_CLIENT, SECOND)
            token.revoke_secret(GRAPH_CLIENT, FIRST)  # Azure now takes only the new secret
            replace_file(store, SECOND + "\n")
            done = daemon.wait_log(
                lambda r: r["event"] == "reload" and r["result"] != "unchanged",
                timeout=30,
                after=len(daemon.logs()),
            )
            assert done["result"] == "success", done
            assert done["message"].startswith(f"rotated secret {GRAPH_ESV} v2; restarted")
            assert done["message"].endswith(f"disabled {GRAPH_ESV} v1")
            secret = aic.esvs.secrets[GRAPH_ESV]
            assert {v.version: v.status for v in secret.versions} == {
                "1": "DISABLED",
                "2": "ENABLED",
            }
            (sent,) = graph.sent  # the test email, through Graph with the new secret's token
            assert sent["to"] == [RECIPIENT]
        finally:
            assert daemon.stop() == 0
        issued = list(aic._tokens)
        canaries = (FIRST, SECOND, key.private_jwk["d"], *issued)
        assert_no_canary(daemon.raw_logs() + daemon.stdout, *canaries)


def test_esv_versions_prunes_old_versions_after_a_proven_rotation(tenant: Tenant) -> None:
    olds = ["canary-old-version-1-c0d1", "canary-old-version-2-e7a4", "canary-old-version-3-1f9b"]
    secret = tenant.aic.esvs.secrets.pop(ESV)
    assert secret
    for value in [*olds, FIRST]:  # v1..v3 old, v4 FIRST (loaded): what years of rotations leave
        tenant.aic.set_secret(ESV, value)
    assert sorted(tenant.versions()) == ["1", "2", "3", "4"]
    text = (tenant.repo / "promoter.yaml").read_text()
    write(
        tenant.repo / "promoter.yaml",
        text.replace("retries: 1", "retries: 1\n      esvVersions: 2"),
    )
    tenant.smtp.set_password(USER, SECOND)
    tenant.rotate(SECOND)
    run = cli(
        "watch", "prod", "--once", "--verify-to", RECIPIENT, cwd=tenant.repo, env=tenant.environ
    )
    assert run.code == 0, run.err
    (line,) = [json.loads(x) for x in run.err.splitlines() if '"reload"' in x]
    assert line["result"] == "success", line
    assert line["message"].endswith(
        f"disabled {ESV} v4; deleted {ESV} v1, {ESV} v2, {ESV} v3 (esvVersions)"
    )
    # the active (v5, loaded) and the previously proven (v4) one stay
    assert tenant.versions() == {
        "1": "DESTROYED",
        "2": "DESTROYED",
        "3": "DESTROYED",
        "4": "DISABLED",
        "5": "ENABLED",
    }
    steps = [json.loads(x).get("step") for x in run.err.splitlines() if '"rotation"' in x]
    assert steps[-3:] == ["prune", "prune", "prune"]
    # a test email before any deletion
    log = tenant.tenant_log()
    sent = log.index(("POST", "/openidm/external/email", 200))
    first_delete = next(i for i, (m, _, _) in enumerate(log) if m == "DELETE")
    assert sent < first_delete
    assert_no_canary(run.out + run.err, FIRST, SECOND, *olds, tenant.key.private_jwk["d"])


def test_without_esv_versions_nothing_is_deleted(tenant: Tenant) -> None:
    tenant.smtp.set_password(USER, SECOND)
    tenant.rotate(SECOND)
    run = cli(
        "watch", "prod", "--once", "--verify-to", RECIPIENT, cwd=tenant.repo, env=tenant.environ
    )
    assert run.code == 0, run.err
    assert tenant.aic.count("DELETE") == 0
    assert tenant.versions() == {"1": "DISABLED", "2": "ENABLED"}
