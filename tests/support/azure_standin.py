"""Stand-ins for Azure's token endpoint (client_credentials) and Graph sendMail."""

from __future__ import annotations

import re
import secrets
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from tests.support.http_standin import HttpStandin, Request, Response

_TOKEN_PATH = re.compile(r"^/([^/]+)/oauth2/v2\.0/token$")
_SEND_PATH = re.compile(r"^/v1\.0/users/([^/]+)/sendMail$")


def aad_error(status: int, error: str, code: int, text: str) -> Response:
    return Response(
        status,
        {
            "error": error,
            "error_description": f"AADSTS{code}: {text}",
            "error_codes": [code],
            "timestamp": "2026-11-23 10:00:00Z",
            "trace_id": "00000000-0000-0000-0000-000000000000",
            "correlation_id": "00000000-0000-0000-0000-000000000000",
        },
    )


class TokenStandin(HttpStandin):
    def __init__(self, tls_context: ssl.SSLContext | None = None) -> None:
        super().__init__(tls_context)
        self.valid: dict[str, set[str]] = {}
        self.expired: dict[str, set[str]] = {}
        self.tokens: dict[str, str] = {}  # access token -> client_id
        self.requests = 0

    def token_endpoint(self, tenant: str = "tenant.example") -> str:
        return f"{self.url}/{tenant}/oauth2/v2.0/token"

    def add_secret(self, client_id: str, secret: str) -> None:
        with self.lock:
            self.valid.setdefault(client_id, set()).add(secret)

    def revoke_secret(self, client_id: str, secret: str) -> None:
        with self.lock:
            self.valid.get(client_id, set()).discard(secret)

    def expire_secret(self, client_id: str, secret: str) -> None:
        with self.lock:
            self.revoke_secret(client_id, secret)
            self.expired.setdefault(client_id, set()).add(secret)

    def route(self, request: Request) -> Response:
        if request.method != "POST" or not _TOKEN_PATH.match(request.path):
            return Response(404, {"error": "not_found"})
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        with self.lock:
            self.requests += 1
            if form.get("grant_type") != "client_credentials":
                return aad_error(400, "unsupported_grant_type", 70003, "unsupported grant")
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
            if client_id not in self.valid and client_id not in self.expired:
                return aad_error(
                    400,
                    "unauthorized_client",
                    700016,
                    f"Application with identifier '{client_id}' was not found.",
                )
            if secret in self.expired.get(client_id, set()):
                return aad_error(
                    401, "invalid_client", 7000222, "The provided client secret keys are expired."
                )
            if secret not in self.valid.get(client_id, set()):
                return aad_error(401, "invalid_client", 7000215, "Invalid client secret provided.")
            access = secrets.token_urlsafe(24)
            self.tokens[access] = client_id
        return Response(
            200,
            {
                "token_type": "Bearer",
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": access,
            },
        )


class GraphStandin(HttpStandin):
    def __init__(self, tokens: TokenStandin, tls_context: ssl.SSLContext | None = None) -> None:
        super().__init__(tls_context)
        self.token_standin = tokens
        self.sent: list[dict[str, Any]] = []
        self.send_as: set[str] = set()  # mailboxes the app may send as (Send As permission)

    def mail_endpoint(self, user: str = "noreply@example.onmicrosoft.com") -> str:
        return f"{self.url}/v1.0/users/{user}/sendMail"

    def route(self, request: Request) -> Response:
        match = _SEND_PATH.match(request.path)
        if request.method != "POST" or not match:
            return Response(404, {"error": {"code": "NotFound", "message": "no such resource"}})
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        with self.token_standin.lock:
            known = bearer in self.token_standin.tokens
        if not known:
            return Response(
                401,
                {
                    "error": {
                        "code": "InvalidAuthenticationToken",
                        "message": "Access token is empty or invalid.",
                    }
                },
            )
        try:
            body = request.json()
            message = body["message"]
            recipients = [r["emailAddress"]["address"] for r in message["toRecipients"]]
            record = {
                "user": match.group(1),
                "subject": message["subject"],
                "body": message["body"]["content"],
                "to": recipients,
                "raw": body,
            }
        except (ValueError, KeyError, TypeError):
            return Response(400, {"error": {"code": "ErrorInvalidRequest", "message": "bad body"}})
        sender = _from_address(message)
        mailbox = match.group(1).lower()
        if sender and sender.lower() != mailbox and sender.lower() not in self.send_as:
            return Response(
                403,
                {
                    "error": {
                        "code": "ErrorSendAsDenied",
                        "message": "The user account which was used to submit this request "
                        "does not have the right to send mail on behalf of the specified "
                        "sending account., Cannot submit message.",
                    }
                },
            )
        with self.lock:
            self.sent.append(record)
        return Response(202)


def _from_address(message: dict[str, Any]) -> str | None:
    try:
        address = message["from"]["emailAddress"]["address"]
    except (KeyError, TypeError):
        return None
    return address if isinstance(address, str) and address else None


def point_prod_at(repo: Path, token: TokenStandin, graph: GraphStandin) -> None:
    """Make the example's prod overlay use these stand-ins instead of Azure."""
    overlay = repo / "environments/prod.yaml"
    text = overlay.read_text()
    text = text.replace(
        "https://graph.microsoft.com/v1.0/users/noreply@example.onmicrosoft.com/sendMail",
        graph.mail_endpoint(),
    )
    text = text.replace(
        "https://login.microsoftonline.com/example.onmicrosoft.com/oauth2/v2.0/token",
        token.token_endpoint(),
    )
    overlay.write_text(text)
