"""An IDM REST stand-in: config/external.email (PUT, GET), external/email?_action=send, and
email templates (``GET config?_queryFilter``, ``external/email?_action=sendTemplate``).

It keeps the configuration it is given and really sends mail with it: smtp via
smtplib, msgraph via a client_credentials token and Graph sendMail. ``$purpose``
references are read from ``secrets_dir`` on every send, as IDM's FileSystemStore
does, so a rotated secret is used at once. GET shows passwords as ``$crypto``
objects, as IDM stores them encrypted.
"""

from __future__ import annotations

import copy
import json
import secrets
import smtplib
import ssl
import threading
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import httpx

from tests.support.http_standin import HttpStandin, Request, Response
from tests.support.templates_standin import Templates

SECRET_FIELDS = ("password", "clientSecret")


class IdmStandin(HttpStandin):
    def __init__(
        self,
        *,
        tokens: frozenset[str] = frozenset({"good-token"}),
        users: dict[str, str] | None = None,
        secrets_dir: Path | None = None,
        ca_file: Path | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(tls_context)
        self.tokens = set(tokens)
        self.users = dict(users or {"openidm-admin": "openidm-admin"})
        self.secrets_dir = secrets_dir
        self.ca_file = ca_file
        self.config: dict[str, Any] | None = None
        self.sent = 0
        self.send_failures: list[str] = []
        self.mailer = Mailer(ca_file)
        self.templates = Templates()

    @property
    def base(self) -> str:
        return f"{self.url}/openidm"

    def route(self, request: Request) -> Response:
        if request.headers.get("Accept-API-Version") != "resource=1.0":
            return Response(400, {"code": 400, "message": "Accept-API-Version required"})
        if not self._authorised(request):
            return Response(401, {"code": 401, "message": "Access Denied"})
        if request.path == "/openidm/config/external.email":
            if request.method == "PUT":
                body = request.json()
                if not isinstance(body, dict):
                    return Response(400, {"code": 400, "message": "not an object"})
                with self.lock:
                    self.config = body
                return Response(200, {"_id": "external.email", **body})
            if request.method == "GET":
                with self.lock:
                    config = copy.deepcopy(self.config)
                if config is None:
                    return Response(404, {"code": 404, "message": "not found"})
                return Response(200, {"_id": "external.email", **_encrypted(config)})
        if request.path == "/openidm/config" and request.method == "GET":
            return self.templates.query(request)
        if request.path == "/openidm/external/email" and request.method == "POST":
            if request.query.get("_action") == "sendTemplate":
                with self.lock:
                    held = copy.deepcopy(self.config)
                return self.templates.send(request, held, self._deliver_with(held))
            if request.query.get("_action") != "send":
                return Response(400, {"code": 400, "message": "unknown action"})
            return self._send(request.json())
        return Response(404, {"code": 404, "message": "not found"})

    def _authorised(self, request: Request) -> bool:
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            return auth.removeprefix("Bearer ") in self.tokens
        user = request.headers.get("X-OpenIDM-Username")
        return user is not None and self.users.get(user) == request.headers.get(
            "X-OpenIDM-Password"
        )

    def _send(self, message: dict[str, Any]) -> Response:
        with self.lock:
            config = copy.deepcopy(self.config)
        if config is None:
            return Response(500, {"code": 500, "message": "email service not configured"})
        try:
            resolved = self._resolve(config)
            self.mailer.send(resolved, message)
        except Exception as exc:  # the stand-in reports any failure as IDM does: a 500
            with self.lock:
                self.send_failures.append(f"{type(exc).__name__}: {exc}")
            return Response(500, {"code": 500, "message": f"send failed: {type(exc).__name__}"})
        with self.lock:
            self.sent += 1
        return Response(200, {"status": "OK", "message": "Email sent"})

    def _deliver_with(self, config: dict[str, Any] | None) -> Any:
        def deliver(message: dict[str, Any]) -> None:
            assert config is not None
            self.mailer.send(self._resolve(config), message)

        return deliver

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        self.mailer.close()

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            spec = value.get("$purpose")
            if isinstance(spec, dict):
                assert self.secrets_dir is not None, "no secrets_dir for $purpose"
                text = (self.secrets_dir / spec["name"]).read_text().removesuffix("\n")
                pointer = spec.get("jsonPointer")
                return json.loads(text)[pointer.lstrip("/")] if pointer else text
            return {k: self._resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._resolve(v) for v in value]
        return value


class Mailer:
    """Sends one message with a resolved external.email config, as IDM does.

    smtp via smtplib (ssl / starttls / auth / SMTPUTF8 from the config), msgraph via a
    client_credentials token and Graph sendMail. Shared by the IDM and AIC stand-ins.
    """

    def __init__(self, ca_file: Path | None = None) -> None:
        self.ca_file = ca_file
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None

    def send(self, config: dict[str, Any], message: dict[str, Any]) -> None:
        """Raises on any failure (the caller answers it as a 500)."""
        if config.get("type") == "msgraph":
            self._send_graph(config, message)
        else:
            self._send_smtp(config, message)

    def _http(self) -> httpx.Client:
        """One keep-alive client for all sends (thread-safe), as IDM's HTTP client pool."""
        with self._lock:
            if self._client is None:
                verify = ssl.create_default_context(
                    cafile=str(self.ca_file) if self.ca_file else None
                )
                self._client = httpx.Client(timeout=10, verify=verify)
            return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def _send_smtp(self, config: dict[str, Any], message: dict[str, Any]) -> None:
        context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        props = dict(p.split("=", 1) for p in config.get("smtpProperties", []))
        host, port = config["host"], int(config.get("port", 587))
        client: smtplib.SMTP
        if config.get("ssl", {}).get("enable"):
            client = smtplib.SMTP_SSL(host, port, context=context, timeout=10)
        else:
            client = smtplib.SMTP(host, port, timeout=10)
        with client:
            client.ehlo()
            if config.get("starttls", {}).get("enable"):
                client.starttls(context=context)
                client.ehlo()
            auth = config.get("auth", {})
            if auth.get("enable"):
                client.login(auth["username"], auth["password"])
            mail = EmailMessage()
            mail["From"] = message.get("from") or config.get("from")
            mail["To"] = message["to"]
            mail["Subject"] = message.get("subject", "")
            mail.set_content(message.get("body", ""))
            utf8 = props.get("mail.mime.allowutf8") == "true"
            client.send_message(mail, mail_options=["SMTPUTF8"] if utf8 else [])

    def _send_graph(self, config: dict[str, Any], message: dict[str, Any]) -> None:
        auth = config["auth"]
        form = {
            "client_id": auth["clientId"],
            "client_secret": auth["clientSecret"],
            "scope": auth.get("scopeDelimiter", " ").join(auth["scope"]),
            "grant_type": "client_credentials",
        }
        http = self._http()
        answer = http.post(auth["tokenEndpoint"], data=form)
        answer.raise_for_status()
        bearer = answer.json()["access_token"]
        payload = {
            "message": {
                "subject": message.get("subject", ""),
                "body": {"contentType": "Text", "content": message.get("body", "")},
                "toRecipients": [{"emailAddress": {"address": message["to"]}}],
                "from": _graph_address(message.get("from") or config.get("from") or ""),
            },
            "saveToSentItems": False,
        }
        sent = http.post(
            config["mailEndpoint"], json=payload, headers={"Authorization": f"Bearer {bearer}"}
        )
        if sent.status_code != 202:
            error = sent.json().get("error", {}) if sent.content else {}
            raise RuntimeError(f"sendMail answered {sent.status_code} {error.get('code', '')}")


def _graph_address(sender: str) -> dict[str, Any]:
    name, address = parseaddr(sender)
    return {"emailAddress": {"address": address, **({"name": name} if name else {})}}


def _encrypted(config: dict[str, Any]) -> dict[str, Any]:
    auth = config.get("auth")
    if isinstance(auth, dict):
        for name in SECRET_FIELDS:
            if isinstance(auth.get(name), str) and auth[name]:
                auth[name] = {
                    "$crypto": {
                        "type": "x-simple-encryption",
                        "value": {"data": secrets.token_hex(16)},
                    }
                }
    return config
