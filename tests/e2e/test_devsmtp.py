from __future__ import annotations

import json
import signal
import smtplib
import ssl
import subprocess
import sys
from pathlib import Path

from tests.conftest import cli


def start(repo: Path, *args: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "promoter", "dev-smtp", "--listen", "127.0.0.1:0", *args],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.startswith("dev-smtp listening on 127.0.0.1:"), first
    port = int(first.split("127.0.0.1:")[1].split(" ")[0].rstrip(","))
    return proc, port


def stop(proc: subprocess.Popen[str]) -> str:
    return stop_both(proc)[0]


def stop_both(proc: subprocess.Popen[str]) -> tuple[str, str]:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    return out, err


def test_a_rejected_certificate_and_auth_are_one_line_each(example: Path) -> None:
    proc, port = start(example, "--tls")
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            try:
                client.starttls(context=ssl.create_default_context())  # does not trust it
            except ssl.SSLCertVerificationError:
                pass
        context = ssl.create_default_context(cafile=str(example / "build/dev/dev-smtp-cert.pem"))
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.starttls(context=context)
            client.login("anyone", "canary-dev-smtp-password")
    finally:
        out, err = stop_both(proc)
    cert = example / "build/dev/dev-smtp-cert.pem"
    assert err.splitlines() == [
        "dev-smtp: STARTTLS failed (tlsv1 alert unknown ca): the client does not trust the "
        f"certificate; give it {cert} (verify --ca-file)",
        "dev-smtp stopped",
    ]
    [auth] = [line for line in out.splitlines() if "AUTH" in line]
    assert auth.endswith(" AUTH PLAIN accepted (dev-smtp accepts any)")
    assert "canary-dev-smtp-password" not in out + err


def test_sink_stores_each_message_and_prints_a_line(example: Path) -> None:
    proc, port = start(example, "--tls")
    try:
        context = ssl.create_default_context(cafile=str(example / "build/dev/dev-smtp-cert.pem"))
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.starttls(context=context)
            client.login("anyone", "anything")
            client.sendmail(
                "a@example.com",
                ["zoë@example.com"],
                "Subject: héllo\r\n\r\nbody\r\n".encode(),
                mail_options=["SMTPUTF8"],
            )
    finally:
        out = stop(proc)
    assert "a@example.com → zoë@example.com: héllo" in out
    [eml] = list((example / "build/dev/mail").glob("*.eml"))
    assert b"body" in eml.read_bytes()


def test_dev_environment_end_to_end(example: Path) -> None:
    proc, port = start(example)
    try:
        (example / "environments/dev.yaml").write_text(
            f"type: smtp\nhost: 127.0.0.1\nport: {port}\nauth: {{enable: false}}\n"
        )
        run = cli("verify", "dev", "--to", "me@example.com", cwd=example)
        assert run.code == 0, run.err
    finally:
        out = stop(proc)
    assert "noreply@example.com → me@example.com: promoter test email (dev)" in out


def test_require_starttls_refuses_mail_and_auth_before_starttls(example: Path) -> None:
    proc, port = start(example, "--require-starttls")
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.ehlo()
            assert client.has_extn("starttls")
            assert client.mail("a@example.com") == (
                530,
                b"5.7.0 Must issue a STARTTLS command first",
            )
            code, _ = client.docmd("AUTH", "PLAIN AGFueW9uZQBjYW5hcnktcmVxdWlyZS10bHM=")
            assert code == 538  # RFC 4954: encryption required for AUTH
        context = ssl.create_default_context(cafile=str(example / "build/dev/dev-smtp-cert.pem"))
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.starttls(context=context)
            client.login("anyone", "canary-require-tls")
            client.sendmail("a@example.com", ["b@example.com"], b"Subject: s\r\n\r\nbody\r\n")
    finally:
        out, err = stop_both(proc)
    assert "a@example.com → b@example.com: s" in out
    assert "canary-require-tls" not in out + err
    for saved in (example / "build/dev/mail").iterdir():  # the AUTH secret is never saved
        assert b"canary-require-tls" not in saved.read_bytes()
    [envelope] = list((example / "build/dev/mail").glob("*.json"))
    assert json.loads(envelope.read_text())["starttls"] is True


def test_a_client_without_starttls_fails_against_require_starttls(example: Path) -> None:
    proc, port = start(example, "--require-starttls")
    try:
        (example / "environments/dev.yaml").write_text(
            f"type: smtp\nhost: 127.0.0.1\nport: {port}\nauth: {{enable: false}}\n"
        )
        run = cli("verify", "dev", "--to", "me@example.com", cwd=example)
    finally:
        out = stop(proc)
    assert run.code != 0
    assert "530" in run.err
    assert "→" not in out  # nothing was accepted
    assert not list((example / "build/dev/mail").glob("*.eml"))


def test_the_envelope_is_saved_beside_each_message(example: Path) -> None:
    proc, port = start(example)
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            message = "From: a@example.com\r\nTo: b@example.com\r\nSubject: s\r\n\r\nbody\r\n"
            client.sendmail(
                "bounce@example.com",
                ["b@example.com", "hidden-bcc@example.org"],
                message.encode(),
            )
    finally:
        stop(proc)
    [eml] = list((example / "build/dev/mail").glob("*.eml"))
    assert b"hidden-bcc" not in eml.read_bytes()  # a Bcc recipient is in the envelope only
    envelope = json.loads(eml.with_suffix(".json").read_text())
    assert envelope == {
        "mailFrom": "bounce@example.com",
        "rcptTo": ["b@example.com", "hidden-bcc@example.org"],
        "starttls": False,
    }
