"""Email templates as the IDM and AIC stand-ins hold them, and their ``sendTemplate`` action.

Contract (DESIGN.md, "Templates and senders"): templates are config objects
``emailTemplate/<name>`` (``enabled``, ``from`` (blank: the provider's), ``subject`` and
``message`` per locale, ``defaultLocale``, ``mimeType``), listed with ``GET
/openidm/config?_queryFilter=_id sw "emailTemplate"`` (a CREST query envelope), sent with
``POST /openidm/external/email?_action=sendTemplate`` and ``{"templateName", "to", "cc",
"bcc", "_locale", "object"}``: 200 ``{"status":"OK","message":"Email sent"}``, else a
CREST error (``code``, ``reason``, ``message``). The From is the template's unless
blank, else the provider's. ``{{object.field}}`` renders from ``object`` (the
Handlebars fields the seed's templates use).

``builtin_prefix`` models AIC: its built-in ``fr*`` templates are left out of
``_id sw "emailTemplate"`` and returned by ``_id sw "emailTemplat"``.
"""

from __future__ import annotations

import copy
import re
import smtplib
import threading
from collections.abc import Callable
from typing import Any

from tests.support.http_standin import Request, Response

PREFIX = "emailTemplate/"
_FILTER = re.compile(r'^_id sw "([^"]*)"$')
_FIELD = re.compile(r"\{\{\s*object\.(\w+)\s*\}\}")


def crest(status: int, reason: str, message: str) -> Response:
    return Response(status, {"code": status, "reason": reason, "message": message})


def template(
    *,
    from_: str = "",
    enabled: bool = True,
    subject: str = "Hello {{object.givenName}}",
    message: str = "<p>Dear {{object.givenName}} {{object.sn}} ({{object.userName}})</p>",
) -> dict[str, Any]:
    return {
        "enabled": enabled,
        "from": from_,
        "defaultLocale": "en",
        "mimeType": "text/html",
        "subject": {"en": subject},
        "message": {"en": message},
    }


class Templates:
    """The templates one stand-in holds, and what was sent with them."""

    def __init__(self, *, builtin_prefix: str | None = None) -> None:
        self.held: dict[str, dict[str, Any]] = {}
        self.sent: list[dict[str, Any]] = []  # what sendTemplate delivered, as the mailer got it
        self.builtin_prefix = builtin_prefix
        self.refusal: str | None = None  # answer every send with a 500 carrying this message
        self._lock = threading.Lock()

    def add(self, name: str, value: dict[str, Any] | None = None, **fields: Any) -> None:
        with self._lock:
            self.held[name] = copy.deepcopy(value) if value is not None else template(**fields)

    def query(self, request: Request) -> Response:
        match = _FILTER.match(request.query.get("_queryFilter", ""))
        if match is None:
            return crest(400, "Bad Request", "Unsupported query filter")
        prefix = match.group(1)
        with self._lock:
            held = copy.deepcopy(self.held)
        result = []
        for name, value in sorted(held.items()):
            object_id = PREFIX + name
            if not object_id.startswith(prefix):
                continue
            builtin = self.builtin_prefix and name.startswith(self.builtin_prefix)
            if builtin and prefix == "emailTemplate":
                continue  # AIC's quirk: the full prefix leaves the built-ins out
            result.append({"_id": object_id, **value})
        return Response(
            200,
            {
                "result": result,
                "resultCount": len(result),
                "pagedResultsCookie": None,
                "totalPagedResultsPolicy": "NONE",
                "totalPagedResults": -1,
                "remainingPagedResults": -1,
            },
        )

    def send(
        self,
        request: Request,
        provider: dict[str, Any] | None,
        deliver: Callable[[dict[str, Any]], None],
    ) -> Response:
        """Render the named template and hand the message to ``deliver`` (which really sends)."""
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not body.get("to") or not body.get("templateName"):
            return crest(400, "Bad Request", "sendTemplate needs templateName and to")
        name = str(body["templateName"])
        with self._lock:
            held = copy.deepcopy(self.held.get(name))
        if held is None:
            return crest(404, "Not Found", f"Email template {PREFIX}{name} not found")
        if not held.get("enabled", False):
            return crest(400, "Bad Request", f"Email template {name} is disabled")
        if provider is None:
            return crest(500, "Internal Server Error", "Email service not configured")
        if self.refusal is not None:
            return crest(500, "Internal Server Error", self.refusal)
        data = body.get("object") if isinstance(body.get("object"), dict) else {}
        locale = str(body.get("_locale") or held.get("defaultLocale") or "en")
        message = {
            "from": held.get("from") or provider.get("from") or "",
            "to": body["to"],
            "subject": _render(_localised(held.get("subject"), locale), data),
            "body": _render(_localised(held.get("message"), locale), data),
        }
        try:
            deliver(message)
        except smtplib.SMTPResponseException as exc:
            reply = exc.smtp_error.decode("utf-8", "replace")
            return crest(
                500, "Internal Server Error", f"Failed to send email: {exc.smtp_code} {reply}"
            )
        except Exception as exc:  # any other failure: IDM's 500 naming the error's kind
            return crest(500, "Internal Server Error", f"Failed to send email: {exc}")
        with self._lock:
            self.sent.append({"template": name, **message})
        return Response(200, {"status": "OK", "message": "Email sent"})


def _localised(value: Any, locale: str) -> str:
    if isinstance(value, dict):
        chosen = value.get(locale, next(iter(value.values()), ""))
        return str(chosen)
    return str(value or "")


def _render(text: str, data: dict[str, Any]) -> str:
    return _FIELD.sub(lambda m: str(data.get(m.group(1), "")), text)
