"""Hostile remote parties: stand-ins written to echo back what we sent them, answer garbage,
or break the connection mid-answer. Whatever they send, no secret reaches stdout, stderr,
the watcher's log or the ledger, and each failure is one line with the contract's exit code."""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.conftest import Run, cli, set_target, write
from tests.support.http_standin import HttpStandin, Request, Response
from tests.support.smtp_standin import SmtpStandin

CLIENT_ID = "00000000-0000-0000-0000-EXAMPLE00000"
CLIENT_SECRET = "Canary-hostile-client-secret-4Kq/+="
SMTP_PASSWORD = "Canary-hostile-smtp-pw-8Zr"
IDM_TOKEN = "Canary-hostile-idm-bearer-2Wd"
CREDS = "secrets/prod/idm.email.msgraph.credentials"
SMTP_SECRET = "secrets/staging/idm.email.smtp.password"


def forms(value: str) -> list[str]:
    """The encodings a hostile server may echo a value in."""
    data = value.encode()
    return [
        value,
        quote(value, safe=""),
        quote_plus(value),
        json.dumps(value)[1:-1],
        base64.b64encode(data).decode().rstrip("="),
        base64.b64encode(b"\0idm-mailer\0" + data).decode()[16:],  # AUTH PLAIN, after the user
    ]


def assert_absent(value: str, *texts: str) -> None:
    for text in texts:
        for form in forms(value):
            assert form not in text, f"{form!r} leaked"


def ledger_text(repo: Path) -> str:
    path = repo / "ledger/promotions.jsonl"
    return path.read_text() if path.exists() else ""


# --- a token endpoint that echoes the request body -----------------------------------------


class EchoingTokenEndpoint(HttpStandin):
    """Refuses every request, quoting the form it was sent in every field it has."""

    def __init__(self, tls_context: Any, *, html: bool = False) -> None:
        super().__init__(tls_context)
        self.html = html

    def route(self, request: Request) -> Response:
        echo = request.body.decode()
        if self.html:
            return Response(400, f"<html><pre>you sent {echo}</pre></html>".encode())
        return Response(
            401,
            {
                "error": f"invalid_client you sent {echo}",
                "error_description": f"AADSTS90002: bad request\n{echo}\x1b[2J",
                "error_codes": [90002],
                "echo": echo,
            },
        )


def point_prod_token_at(repo: Path, url: str) -> None:
    overlay = repo / "environments/prod.yaml"
    text = overlay.read_text().replace(
        "https://login.microsoftonline.com/example.onmicrosoft.com/oauth2/v2.0/token", url
    )
    overlay.write_text(text)
    write(repo / CREDS, json.dumps({"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}))


@pytest.mark.parametrize("html", [False, True], ids=["json", "html"])
def test_an_echoing_token_endpoint_shows_known_fields_only(
    example: Path, tls: Any, html: bool
) -> None:
    with EchoingTokenEndpoint(tls.server_context(), html=html) as endpoint:
        point_prod_token_at(example, f"{endpoint.url}/tenant/oauth2/v2.0/token")
        ca = ("--ca-file", str(tls.ca_file))
        verify = cli("verify", "prod", "--to", "ops@example.com", *ca, cwd=example)
        watch = cli("watch", "prod", "--once", "--probe-patience-s", "0", *ca, cwd=example)
    expected = "token request failed (400)" if html else "token request failed (401 AADSTS90002)"
    assert verify.code == 1, verify.err
    assert verify.err.splitlines()[-1] == f"error: {expected}"
    assert watch.code == 1, watch.err
    [record] = [json.loads(line) for line in watch.err.splitlines() if '"reload"' in line]
    assert record["message"] == f"kept last known good: probe failed: {expected}"
    assert_absent(CLIENT_SECRET, verify.out, verify.err, watch.out, watch.err, ledger_text(example))


# --- an SMTP server that rejects MAIL FROM with a transcript -------------------------------


class TranscriptSmtp(SmtpStandin):
    """Accepts the login, then refuses MAIL FROM quoting the whole session back, AUTH line
    (base64 of \\0user\\0password) and the password in clear included."""

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword):
            self.plain = base64.b64encode(b"\0" + data.login + b"\0" + data.password).decode()
            self.password = data.password.decode()
        return super()._authenticate(server, session, envelope, mechanism, data)

    async def handle_MAIL(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        return (
            "550-5.7.1 Policy rejection; your session was:\r\n"
            f"550-AUTH PLAIN {self.plain}\r\n"
            f"550-error: fake.yaml:1:1: injected {self.password}\r\n"
            f"550 5.7.1 MAIL FROM:<{address}>"
        )


@pytest.fixture
def transcript_smtp(tls: Any) -> Iterator[TranscriptSmtp]:
    with TranscriptSmtp(tls, users={"idm-mailer": SMTP_PASSWORD}) as standin:
        yield standin


def point_staging_at(repo: Path, port: int, password: str) -> None:
    overlay = repo / "environments/staging.yaml"
    text = overlay.read_text().replace("host: smtp.staging.example.com", "host: 127.0.0.1")
    overlay.write_text(text.replace("port: 587", f"port: {port}"))
    write(repo / SMTP_SECRET, password)


def test_an_smtp_rejection_transcript_shows_the_codes_only(
    example: Path, tls: Any, transcript_smtp: TranscriptSmtp
) -> None:
    point_staging_at(example, transcript_smtp.port, SMTP_PASSWORD)
    run = cli(
        "verify", "staging", "--to", "ops@example.com", "--ca-file", str(tls.ca_file), cwd=example
    )
    assert run.code == 1, run.err
    assert run.err.splitlines() == [
        f"error: sender refused by 127.0.0.1:{transcript_smtp.port}: 550 5.7.1"
    ]
    assert transcript_smtp.plain  # the stand-in really had the AUTH line to echo
    assert_absent(SMTP_PASSWORD, run.out, run.err, ledger_text(example))
    assert transcript_smtp.plain not in run.err


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_a_non_ascii_smtp_password_logs_in_as_utf8(example: Path, tls: Any, debug: bool) -> None:
    password = "Canary-pässwörd-çü"
    with SmtpStandin(tls, users={"idm-mailer": password}) as smtp:
        point_staging_at(example, smtp.port, password)
        args = ["--debug"] if debug else []
        args += ["verify", "staging", "--to", "ops@example.com", "--ca-file", str(tls.ca_file)]
        ok = cli(*args, cwd=example)
        write(example / SMTP_SECRET, "Canary-wröng-pässwörd")
        refused = cli(*args, cwd=example)
    assert ok.code == 0, ok.err
    assert [m.login for m in smtp.messages()] == ["idm-mailer"]
    assert refused.code == 1
    assert f"authentication failed at 127.0.0.1:{smtp.port} (535 5.7.8)" in refused.err
    for run in (ok, refused):
        assert not any(ch in run.out + run.err for ch in "äöçü"), run.err


# --- an IDM stand-in answering garbage, and one breaking the connection --------------------


class GarbageIdm(HttpStandin):
    def route(self, request: Request) -> Response:
        page = b"<html><body>Welcome! Please sign in.</body></html>"
        return Response(200, page, {"Content-Type": "text/html"})


def use_idm(repo: Path, url: str) -> None:
    set_target(repo, "prod", f"{{idm: '{url}/openidm', bearerEnv: IDM_TOKEN, retries: 0}}")
    write(repo / CREDS, json.dumps({"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}))


def run_with_token(repo: Path, *args: str) -> Run:
    return cli(*args, cwd=repo, env={"IDM_TOKEN": IDM_TOKEN})


def test_an_idm_answering_html_is_a_target_failure(example: Path) -> None:
    with GarbageIdm() as idm:
        use_idm(example, idm.url)
        deliver = run_with_token(example, "deliver", "prod")
        verify = run_with_token(example, "verify", "prod", "--to", "a@example.com", "--via", "idm")
    assert deliver.code == 3, deliver.err
    assert deliver.err.splitlines()[-1] == (
        f"error: IDM at {idm.url}/openidm answered PUT with a body that is not JSON "
        "(hint: check the URL: a proxy or login page may be answering instead of IDM)"
    )
    assert verify.code == 3, verify.err
    assert "answered POST with a body that is not JSON" in verify.err
    for run in (deliver, verify):
        assert_absent(CLIENT_SECRET, run.out, run.err)
        assert_absent(IDM_TOKEN, run.out, run.err)


class BreakingServer:
    """Reads the whole request, then answers with the request body where a status line or
    a header should be, or promises a body and hangs up half-way: a protocol error."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.bodies: list[bytes] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                body = self._read(conn)
                self.bodies.append(body)
                answers = {
                    "status": b"HTTP/1.1 " + body + b"\r\n\r\n",
                    "header": b"HTTP/1.1 200 OK\r\n" + body + b"\r\n\r\n",
                    "cut": b"HTTP/1.1 200 OK\r\nContent-Length: 99999\r\n\r\n" + body,
                }
                conn.sendall(answers[self.mode])

    @staticmethod
    def _read(conn: socket.socket) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        lengths = [ln for ln in head.split(b"\r\n") if ln.lower().startswith(b"content-length:")]
        length = int(lengths[0].split(b":")[1]) if lengths else 0
        while len(body) < length:
            body += conn.recv(65536)
        return body

    def __enter__(self) -> BreakingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


@pytest.mark.parametrize("mode", ["status", "header", "cut"])
def test_a_protocol_error_quoting_the_put_body_is_scrubbed(example: Path, mode: str) -> None:
    with BreakingServer(mode) as server:
        use_idm(example, server.url)
        run = run_with_token(example, "deliver", "prod")
    assert run.code == 3, run.err
    [line] = run.err.splitlines()
    assert line.startswith(f"error: cannot reach IDM at {server.url}/openidm: RemoteProtocolError")
    assert CLIENT_SECRET.encode() in b"".join(server.bodies)  # it had the secret to echo
    assert_absent(CLIENT_SECRET, run.out, run.err, ledger_text(example))
    assert_absent(IDM_TOKEN, run.out, run.err)
