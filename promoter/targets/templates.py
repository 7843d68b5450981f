"""Email templates on an IDM or AIC target: the listing and the ``sendTemplate`` answer.

Both are remote text: a template's name and From are shown control-escaped, a refusal's
reason scrubbed of anything we sent (the target may echo it), and nothing else of the
answer is read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from promoter.errors import TargetError
from promoter.untrusted import escape_control, http_status, remote_json, scrub

PREFIX = "emailTemplate/"
SEND_ACTION = "sendTemplate"
# IDM lists templates with this filter; AIC leaves its built-in fr* templates out of it,
# and a prefix one letter shorter returns them too (DESIGN.md, "Templates and senders").
IDM_FILTER = '_id sw "emailTemplate"'
AIC_FILTER = '_id sw "emailTemplat"'
_MAX_TEMPLATES = 1000


@dataclass(frozen=True, slots=True)
class EmailTemplate:
    name: str  # as the target names it (remote text: escape before showing)
    enabled: bool
    sender: str  # the template's own From; "" means the provider's


@dataclass(frozen=True, slots=True)
class SendAnswer:
    accepted: bool
    reason: str = ""  # the target's reason for a refusal, scrubbed


def parse_listing(body: object, where: str) -> list[EmailTemplate]:
    """The templates in a CREST query envelope (``result``: config objects)."""
    result = body.get("result") if isinstance(body, dict) else None
    if not isinstance(result, list):
        raise TargetError(f"{where}: the template listing is not a CREST query result")
    templates = []
    for item in result[:_MAX_TEMPLATES]:
        object_id = item.get("_id") if isinstance(item, dict) else None
        if not isinstance(object_id, str) or not object_id.startswith(PREFIX):
            continue
        sender = item.get("from")
        templates.append(
            EmailTemplate(
                name=object_id.removeprefix(PREFIX),
                enabled=item.get("enabled") is True,
                sender=sender.strip() if isinstance(sender, str) else "",
            )
        )
    return templates


def send_body(name: str, to: str) -> dict[str, Any]:
    """The ``sendTemplate`` request, with sample Handlebars data so the fields render."""
    local = to.rsplit("@", 1)[0]
    return {
        "templateName": name,
        "to": to,
        "object": {"userName": local, "givenName": "Verify", "sn": "Promoter", "mail": to},
    }


def parse_answer(response: Any, sent: Iterable[str]) -> SendAnswer:
    """The target's answer to ``sendTemplate``: accepted (200), or refused with its reason
    (CREST ``message``/``reason``), scrubbed of ``sent`` (a target may echo it)."""
    if response.status_code == 200:
        return SendAnswer(accepted=True)
    try:
        body = remote_json(response)
    except ValueError:
        body = None
    reason = ""
    if isinstance(body, dict):
        for key in ("message", "reason"):
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                reason = value
                break
    shown = scrub(reason, sent) if reason else "no reason given"
    return SendAnswer(accepted=False, reason=f"{http_status(response.status_code)}: {shown}")


def shown(text: str, limit: int = 120) -> str:
    """A template's name or From as it may be printed."""
    escaped = escape_control(text)
    return escaped if len(escaped) <= limit else escaped[: limit - 1] + "…"
