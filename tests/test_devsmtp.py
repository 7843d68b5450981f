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
        [sys.executable, "-m", "promoter.cli", "dev-smtp", "--listen", "127.0.0.1:0", *args],
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
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0
    return out


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
