"""Send a test email as AIC's "Send Test Email" does: directly over SMTP or MS Graph,
or through IDM's ``external/email?_action=send``.

Every failure becomes a specific, one-line ``VerifyError`` (exit 1) that names
what to check; no message ever contains a secret value.
"""

from __future__ import annotations

import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path
from typing import Any, cast

from promoter.errors import RefusedError
from promoter.model import MsGraphConfig, SmtpConfig, as_int

MAX_RETRY_AFTER_S = 30.0


class VerifyError(RefusedError):
    """A test email that could not be delivered."""


@dataclass(frozen=True, slots=True)
class Message:
    sender: str
    to: str
    subject: str
    body: str


def _seconds(ms: int) -> float | None:
    return ms / 1000 if ms else None


def _tls_context(ca_file: Path | None) -> ssl.SSLContext:
    from promoter.tls import client_context

    return client_context(ca_file)


def local_part_ascii(address: str) -> bool:
    return address.rsplit("@", 1)[0].isascii()


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
    context = _tls_context(ca_file)
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
    except smtplib.SMTPRecipientsRefused as exc:
        code, reply = next(iter(exc.recipients.values()))
        raise VerifyError(f"recipient refused by {where}: {code} {_text(reply)}") from None
    except smtplib.SMTPSenderRefused as exc:
        raise VerifyError(
            f"sender refused by {where}: {exc.smtp_code} {_text(exc.smtp_error)}"
        ) from None
    except smtplib.SMTPAuthenticationError as exc:
        raise VerifyError(
            f"authentication failed at {where} ({exc.smtp_code})",
            hint="check auth.username and the password in the secret store",
        ) from None
    except ssl.SSLCertVerificationError as exc:
        raise VerifyError(
            f"TLS certificate of {where} is not trusted: {exc.verify_message}",
            hint="pass --ca-file with the CA that signed it",
        ) from None
    except ssl.SSLError as exc:
        raise VerifyError(f"TLS handshake with {where} failed: {exc.reason or exc}") from None
    except TimeoutError:
        raise VerifyError(
            f"timed out talking to {where}", hint="check host, port and firewall"
        ) from None
    except smtplib.SMTPServerDisconnected as exc:
        if "timed out" not in str(exc):
            raise VerifyError(f"{where} closed the connection: {exc}") from None
        # smtplib reports a read timeout as a disconnect
        raise VerifyError(
            f"timed out talking to {where}", hint="check host, port and firewall"
        ) from None
    except ConnectionRefusedError:
        raise VerifyError(f"connection refused by {where}", hint="check host and port") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise VerifyError(f"SMTP with {where} failed: {type(exc).__name__}: {exc}") from None


def _connect(config: SmtpConfig, host: str, context: ssl.SSLContext) -> smtplib.SMTP:
    connect = cast(float, _seconds(as_int(config.connectiontimeout)))  # None: no timeout, as in IDM
    client: smtplib.SMTP
    if config.ssl.enable:
        client = smtplib.SMTP_SSL(host, config.port_number(), timeout=connect, context=context)
    else:
        client = smtplib.SMTP(host, config.port_number(), timeout=connect)
    if client.sock is not None:  # after connecting: one socket timeout serves reads and writes
        timeouts = (as_int(config.timeout), as_int(config.writetimeout))
        io_timeout = min((t for t in timeouts if t), default=0)
        client.sock.settimeout(_seconds(io_timeout))
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
        client.login(username, password)


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


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


AADSTS_MESSAGES = {
    "7000215": "invalid client secret (AADSTS7000215): check clientSecret in the secret store",
    "7000222": "the client secret has expired (AADSTS7000222): create a new one in Azure",
    "700016": "unknown application (AADSTS700016): check clientId and the tenant in tokenEndpoint",
}


def token(config: MsGraphConfig, *, ca_file: Path | None, client: Any = None) -> str:
    """A fresh client_credentials access token (never cached, never printed)."""
    import httpx

    auth = config.auth
    if not isinstance(auth.clientId, str) or not isinstance(auth.clientSecret, str):
        raise VerifyError("clientId/clientSecret are not resolved values")
    form = {
        "client_id": auth.clientId,
        "client_secret": auth.clientSecret,
        "scope": auth.scopeDelimiter.join(auth.scopes()),
        "grant_type": auth.grantType,
    }
    http = client or httpx.Client(verify=_tls_context(ca_file), timeout=_timeout(config))
    try:
        response = http.post(auth.tokenEndpoint, data=form)
    except httpx.HTTPError as exc:
        raise VerifyError(f"cannot reach the token endpoint: {type(exc).__name__}") from None
    finally:
        if client is None:
            http.close()
    if response.status_code == 200:
        value = response.json().get("access_token")
        if isinstance(value, str) and value:
            return value
        raise VerifyError("the token endpoint answered 200 without an access_token")
    raise VerifyError(token_error(response))


def token_error(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        body = {}
    codes = [str(c) for c in body.get("error_codes", [])] if isinstance(body, dict) else []
    for code in codes:
        if code in AADSTS_MESSAGES:
            return AADSTS_MESSAGES[code]
    error = body.get("error", "error") if isinstance(body, dict) else "error"
    return f"token request failed ({response.status_code} {error})"


def _timeout(config: MsGraphConfig) -> float:
    connect = _seconds(as_int(config.connectiontimeout))
    return min(connect, 60.0) if connect else 60.0


def send_graph(config: MsGraphConfig, message: Message, *, ca_file: Path | None) -> str:
    import httpx

    if not all(local_part_ascii(a) for a in (message.sender, message.to)):
        raise VerifyError("MS Graph does not support non-ASCII local parts (nothing was sent)")
    payload = {
        "message": {
            "subject": message.subject,
            "body": {"contentType": "Text", "content": message.body},
            "toRecipients": [{"emailAddress": {"address": message.to}}],
            "from": {"emailAddress": {"address": message.sender}},
        },
        "saveToSentItems": False,
    }
    with httpx.Client(verify=_tls_context(ca_file), timeout=_timeout(config)) as http:
        bearer = token(config, ca_file=ca_file, client=http)
        waited = 0.0
        while True:
            try:
                response = http.post(
                    config.mailEndpoint, json=payload, headers={"Authorization": f"Bearer {bearer}"}
                )
            except httpx.HTTPError as exc:
                raise VerifyError(
                    f"cannot reach the Graph endpoint: {type(exc).__name__}"
                ) from None
            if response.status_code == 202:
                return "sent through MS Graph sendMail (202 Accepted)"
            if response.status_code == 429:
                delay = _retry_after(response)
                if waited + delay <= MAX_RETRY_AFTER_S:
                    time.sleep(delay)
                    waited += delay
                    continue
                raise VerifyError(f"Graph is throttling (429) beyond {MAX_RETRY_AFTER_S:.0f} s")
            raise VerifyError(_graph_error(response))


def _retry_after(response: Any) -> float:
    try:
        return max(float(response.headers.get("Retry-After", "1")), 0.0)
    except ValueError:
        return 1.0


def _graph_error(response: Any) -> str:
    status = response.status_code
    if status == 403:
        return "Graph refused sendMail (403): grant the app the Mail.Send application permission"
    if status == 401:
        return "Graph rejected the access token (401)"
    if status == 404:
        return "Graph has no such mailbox (404): check the user in mailEndpoint"
    return f"Graph answered sendMail with {status}"
