"""Send a test email as AIC's "Send Test Email" does: directly over SMTP or MS Graph,
or through IDM's ``external/email?_action=send``.

Every failure becomes a specific, one-line ``VerifyError`` (exit 1) that names
what to check; no message ever contains a secret value.
"""

from __future__ import annotations

import base64
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path
from typing import Any, cast

from promoter.mail.message import Message, VerifyError, local_part_ascii, seconds, tls_context
from promoter.model.email import SmtpConfig, as_int
from promoter.untrusted import (
    exception_text,
    scrub,
    smtp_auth_plain,
    smtp_status,
)


def send_smtp(config: SmtpConfig, message: Message, *, ca_file: Path | None) -> str:
    """Deliver over SMTP honouring ssl, starttls (+ required), auth, timeouts and SMTPUTF8."""
    props = {k: v.strip().lower() for k, v in config.smtpProperties.items()}
    utf8 = props.get("mail.mime.allowutf8") == "true"
    addresses = (message.sender, message.to)
    if not utf8 and not all(local_part_ascii(a) for a in addresses):
        raise VerifyError(
            "a non-ASCII local part needs mail.mime.allowutf8=true (nothing was sent)",
            hint="add it to smtpProperties if your SMTP server supports SMTPUTF8",
        )
    where = f"{(config.host or '').strip()}:{config.port}"

    def deliver(client: smtplib.SMTP) -> None:
        options = ["SMTPUTF8"] if utf8 and not all(a.isascii() for a in addresses) else []
        if options and not client.has_extn("smtputf8"):
            raise VerifyError(f"{where} does not offer SMTPUTF8; the address needs it")
        client.send_message(_email(config, message), mail_options=options)

    smtp_session(config, ca_file=ca_file, then=deliver)
    return f"sent over SMTP to {where}"


def smtp_session(config: SmtpConfig, *, ca_file: Path | None, then: Any = None) -> None:
    """Connect, secure (SSL/STARTTLS), log in, run ``then(client)``, quit: errors translated."""
    props = {k: v.strip().lower() for k, v in config.smtpProperties.items()}
    host = (config.host or "").strip()
    if not host:
        raise VerifyError("no host: the built-in SMTP server cannot be reached from here")
    where = f"{host}:{config.port}"
    context = tls_context(ca_file)
    try:
        client = _connect(config, host, context)
        try:
            _secure_and_login(client, config, props, context, where)
            if then is not None:
                then(client)
        finally:
            _quit(client)
    except VerifyError:
        raise
    except (OSError, smtplib.SMTPException) as exc:
        message, hint = _smtp_failure(exc, where, _sent(config))
        raise VerifyError(message, hint=hint) from None


def _sent(config: SmtpConfig) -> list[str]:
    """What we may send the server and it may echo back: credentials in every form."""
    if config.auth is None:
        return []
    username, password = config.auth.username, config.auth.password
    values = [v for v in (username, password) if isinstance(v, str)]
    if isinstance(username, str) and isinstance(password, str):
        values.append(smtp_auth_plain(username, password))
    return values


def _smtp_failure(exc: BaseException, where: str, sent: list[str]) -> tuple[str, str | None]:
    """(message, hint) for a failed SMTP session: known fields only, never the reply text."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()), (0, b""))
        return f"recipient refused by {where}: {smtp_status(code, reply)}", None
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return f"sender refused by {where}: {smtp_status(exc.smtp_code, exc.smtp_error)}", None
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return (
            f"authentication failed at {where} ({smtp_status(exc.smtp_code, exc.smtp_error)})",
            "check auth.username and the password in the secret store",
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{where} refused: {smtp_status(exc.smtp_code, exc.smtp_error)}", None
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"TLS certificate of {where} is not trusted: {scrub(exc.verify_message or '', sent)}",
            "pass --ca-file with the CA that signed it",
        )
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake with {where} failed: {scrub(str(exc.reason or exc), sent)}", None
    timed_out = isinstance(exc, smtplib.SMTPServerDisconnected) and "timed out" in str(exc)
    if isinstance(exc, TimeoutError) or timed_out:  # smtplib reports a read timeout so
        return f"timed out talking to {where}", "check host, port and firewall"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"{where} closed the connection", None
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused by {where}", "check host and port"
    return f"SMTP with {where} failed: {exception_text(exc, sent)}", None


def _connect(config: SmtpConfig, host: str, context: ssl.SSLContext) -> smtplib.SMTP:
    connect = cast(float, seconds(as_int(config.connectiontimeout)))  # None: no timeout, as in IDM
    client: smtplib.SMTP
    if config.ssl.enable:
        client = smtplib.SMTP_SSL(host, config.port_number(), timeout=connect, context=context)
    else:
        client = smtplib.SMTP(host, config.port_number(), timeout=connect)
    if client.sock is not None:  # after connecting: one socket timeout serves reads and writes
        timeouts = (as_int(config.timeout), as_int(config.writetimeout))
        io_timeout = min((t for t in timeouts if t), default=0)
        client.sock.settimeout(seconds(io_timeout))
    return client


def _secure_and_login(
    client: smtplib.SMTP,
    config: SmtpConfig,
    props: dict[str, str],
    context: ssl.SSLContext,
    where: str,
) -> None:
    client.ehlo()
    if config.starttls.enable and not config.ssl.enable:
        if client.has_extn("starttls"):
            client.starttls(context=context)
            client.ehlo()
        elif props.get("mail.smtp.starttls.required") == "true":
            raise VerifyError(
                f"{where} does not offer STARTTLS, and mail.smtp.starttls.required is true"
            )
    if config.auth is not None and config.auth.enable is True:
        username, password = config.auth.username, config.auth.password
        if not isinstance(username, str) or not isinstance(password, str):
            raise VerifyError("auth.username/password are not resolved values")
        _login(client, username, password, where)


def _login(client: smtplib.SMTP, username: str, password: str, where: str) -> None:
    """``client.login``, but a non-ASCII name or password is sent as UTF-8 (RFC 4616):
    smtplib encodes AUTH as ASCII and would fail with the character in its message."""
    if username.isascii() and password.isascii():
        client.login(username, password)
        return
    offered = (client.esmtp_features.get("auth") or "").upper().split()
    if "PLAIN" in offered:
        plain = smtp_auth_plain(username, password).encode("utf-8")
        code, reply = client.docmd("AUTH", "PLAIN " + base64.b64encode(plain).decode("ascii"))
    elif "LOGIN" in offered:
        code, reply = client.docmd("AUTH", "LOGIN")
        for value in (username, password):
            if code != 334:
                break
            code, reply = client.docmd(base64.b64encode(value.encode("utf-8")).decode("ascii"))
    else:
        raise VerifyError(
            f"{where} offers no AUTH PLAIN or LOGIN, which a non-ASCII username or password needs"
        )
    if code not in (235, 503):
        raise smtplib.SMTPAuthenticationError(code, reply)


def _email(config: SmtpConfig, message: Message) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = (
        formataddr((config.fromName, message.sender)) if config.fromName else message.sender
    )
    mail["To"] = message.to
    mail["Subject"] = message.subject
    mail["Message-ID"] = make_msgid(
        domain=message.sender.rsplit("@", 1)[-1].encode("idna").decode()
    )
    mail.set_content(message.body)
    return mail


def _quit(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        client.close()
