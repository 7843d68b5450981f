from __future__ import annotations

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


def test_require_starttls_refuses_mail_before_starttls_and_saves_the_envelope(
    example: Path,
) -> None:
    import json

    proc, port = start(example, "--tls", "--require-starttls")
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.ehlo()
            code, reply = client.mail("a@example.com")
            assert (code, reply) == (530, b"5.7.0 Must issue a STARTTLS command first")
        context = ssl.create_default_context(cafile=str(example / "build/dev/dev-smtp-cert.pem"))
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.starttls(context=context)
            client.sendmail(
                "bounce@example.com",
                ["to@example.com", "hidden-bcc@example.com"],
                b"Subject: hi\r\nTo: to@example.com\r\n\r\nbody\r\n",
            )
    finally:
        stop(proc)
    [record] = list((example / "build/dev/mail").glob("*.json"))
    envelope = json.loads(record.read_text())
    assert envelope["mail_from"] == "bounce@example.com"
    assert envelope["rcpt_tos"] == ["to@example.com", "hidden-bcc@example.com"]
    assert envelope["tls"] is True
    assert (example / "build/dev/mail" / envelope["message"]).is_file()


def test_require_starttls_needs_tls(example: Path) -> None:
    run = cli("dev-smtp", "--require-starttls", cwd=example)
    assert run.code == 2 and "--require-starttls needs --tls" in run.err
