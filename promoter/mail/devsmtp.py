"""``promoter dev-smtp``: a local SMTP sink for development (a minimal Mailpit).

Accepts any AUTH, stores every message as an .eml file with its envelope (MAIL FROM and
every RCPT TO, Bcc included) in a .json beside it, and prints one line per message.
``--tls`` offers STARTTLS with a self-signed certificate made at start;
``--require-starttls`` refuses MAIL before STARTTLS (``530 5.7.0``), as a relay that
``mail.smtp.starttls.required=true`` is meant for does.
"""

from __future__ import annotations

import datetime
import ipaddress
import itertools
import json
import logging
import os
import signal
import socket
import ssl
import sys
import tempfile
import threading
import time
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from promoter.errors import InputError
from promoter.untrusted import escape_control


class _Sink:
    def __init__(self, maildir: Path, cert_copy: Path, *, require_starttls: bool = False) -> None:
        self.maildir = maildir
        self.cert_copy = cert_copy
        self.require_starttls = require_starttls
        self.counter = itertools.count(1)
        self.lock = threading.Lock()

    async def handle_MAIL(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.require_starttls and session.ssl is None:
            return "530 5.7.0 Must issue a STARTTLS command first"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        content: bytes = envelope.original_content or envelope.content
        with self.lock:
            number = next(self.counter)
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{number:04d}.eml"
        envelope_record = {
            "mail_from": str(envelope.mail_from),
            "rcpt_tos": [str(r) for r in envelope.rcpt_tos],
            "tls": session.ssl is not None,
            "message": name,
        }
        # envelope first, each renamed into place: whoever sees an .eml finds it whole,
        # and its envelope beside it
        record = (json.dumps(envelope_record, indent=2) + "\n").encode()
        _place(self.maildir / f"{name[:-4]}.json", record)
        _place(self.maildir / name, content)
        parsed = message_from_bytes(content, policy=policy.default)
        # the client's text (decoded MIME words included): ESC, BEL or a newline never raw
        subject = escape_control(str(parsed.get("Subject", "")))
        sender = escape_control(str(envelope.mail_from))
        rcpts = escape_control(", ".join(str(r) for r in envelope.rcpt_tos))
        print(f"{sender} → {rcpts}: {subject} ({name})", flush=True)
        return "250 Message accepted for delivery"

    async def handle_exception(self, error: Exception) -> str:
        """One line instead of aiosmtpd's traceback (a client that rejects our certificate)."""
        # lazy: aiosmtpd only for the commands that use it
        from aiosmtpd.smtp import TLSSetupException

        if isinstance(error, TLSSetupException):
            cause = error.__cause__
            reason = getattr(cause, "reason", None) or type(cause or error).__name__
            print(
                f"dev-smtp: STARTTLS failed ({str(reason).lower().replace('_', ' ')}): the client "
                f"does not trust the certificate; give it {self.cert_copy} (verify --ca-file)",
                file=sys.stderr,
                flush=True,
            )
            return "454 4.7.0 TLS not available"
        print(f"dev-smtp: session error ({type(error).__name__})", file=sys.stderr, flush=True)
        return "451 4.3.0 dev-smtp could not handle that"


def _quiet_login_data(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith("Session.login_data is deprecated")


def _accept_any(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    from aiosmtpd.smtp import AuthResult  # lazy: aiosmtpd only for the commands that use it

    host, port = session.peer[:2] if session.peer else ("?", 0)
    print(
        f"{host}:{port} AUTH {escape_control(mechanism)} accepted (dev-smtp accepts any)",
        flush=True,
    )
    return AuthResult(success=True)


def self_signed_context(directory: Path, cert_copy: Path) -> ssl.SSLContext:
    """A fresh self-signed certificate; a copy goes to ``cert_copy`` for --ca-file."""

    from cryptography import x509  # lazy: cryptography only for the commands that use it

    # lazy: cryptography only for the commands that use it
    from cryptography.hazmat.primitives import hashes, serialization

    # lazy: cryptography only for the commands that use it
    from cryptography.hazmat.primitives.asymmetric import ec

    # lazy: cryptography only for the commands that use it
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "promoter dev-smtp")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_copy.write_bytes(cert_file.read_bytes())
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


def _free_port(host: str) -> int:

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def run_dev_smtp(listen: str, maildir: Path, *, tls: bool, require_starttls: bool = False) -> int:
    from aiosmtpd.controller import Controller  # lazy: aiosmtpd only for the commands that use it

    host, _, port_text = listen.rpartition(":")
    if not host or not port_text.isdigit():
        raise InputError(f"--listen {listen!r} is not HOST:PORT", hint="e.g. 127.0.0.1:2525")
    if require_starttls and not tls:
        raise InputError("--require-starttls needs --tls", hint="dev-smtp --tls --require-starttls")
    port = int(port_text) or _free_port(host)  # aiosmtpd's ready check needs a real port
    maildir.mkdir(parents=True, exist_ok=True)
    # aiosmtpd itself sets its deprecated Session.login_data on every AUTH and logs a
    # warning about it; we print our own line per AUTH instead.
    logging.getLogger("mail.log").addFilter(_quiet_login_data)
    stop = threading.Event()
    with tempfile.TemporaryDirectory() as tmp:
        kwargs: dict[str, Any] = {
            "authenticator": _accept_any,
            "auth_require_tls": False,
            "enable_SMTPUTF8": True,
        }
        cert_copy = maildir.parent / "dev-smtp-cert.pem"
        if tls:
            kwargs["tls_context"] = self_signed_context(Path(tmp), cert_copy)
        sink = _Sink(maildir, cert_copy, require_starttls=require_starttls)
        controller = Controller(sink, hostname=host, port=port, **kwargs)
        controller.start()
        try:
            extra = f" with STARTTLS (trust {cert_copy})" if tls else ""
            extra += ", MAIL refused before STARTTLS" if require_starttls else ""
            print(f"dev-smtp listening on {host}:{port}{extra}, saving to {maildir}", flush=True)
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stop.set())
            stop.wait()
        finally:
            controller.stop()
    print("dev-smtp stopped", file=sys.stderr)
    return 0


def _place(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_bytes(data)
    os.replace(temp, path)
