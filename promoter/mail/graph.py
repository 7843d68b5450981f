"""A test email through Microsoft Graph: the client-credentials token, then sendMail."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from promoter.mail.message import (
    Message,
    SecretNotYetValid,
    VerifyError,
    local_part_ascii,
    seconds,
    tls_context,
)
from promoter.model.email import MsGraphConfig, as_int
from promoter.untrusted import (
    aadsts_codes,
    http_status,
    oauth_error,
    remote_json,
)

MAX_RETRY_AFTER_S = 30.0


PROPAGATING = "7000215"  # the only token error that waiting can cure


AADSTS_MESSAGES = {
    "7000215": "invalid client secret (AADSTS7000215): check clientSecret in the secret store",
    "7000222": "the client secret has expired (AADSTS7000222): create a new one in Azure",
    "700016": "unknown application (AADSTS700016): check clientId and the tenant in tokenEndpoint",
}


def token(config: MsGraphConfig, *, ca_file: Path | None, client: Any = None) -> str:
    """A fresh client_credentials access token (never cached, never printed)."""
    import httpx  # lazy: httpx only for the commands that use it

    auth = config.auth
    if not isinstance(auth.clientId, str) or not isinstance(auth.clientSecret, str):
        raise VerifyError("clientId/clientSecret are not resolved values")
    form = {
        "client_id": auth.clientId,
        "client_secret": auth.clientSecret,
        "scope": auth.scopeDelimiter.join(auth.scopes()),
        "grant_type": auth.grantType,
    }
    http = client or httpx.Client(verify=tls_context(ca_file), timeout=_timeout(config))
    try:
        response = http.post(auth.tokenEndpoint, data=form)
    except httpx.HTTPError as exc:
        raise VerifyError(
            f"cannot reach the token endpoint {auth.tokenEndpoint}: {type(exc).__name__}"
        ) from None
    finally:
        if client is None:
            http.close()
    body = _json_body(response)
    if response.status_code == 200:
        value = body.get("access_token") if isinstance(body, dict) else None
        if isinstance(value, str) and value:
            return value
        raise VerifyError("the token endpoint answered 200 without an access_token")
    if PROPAGATING in aadsts_codes(body):
        raise SecretNotYetValid(token_error(response.status_code, body))
    raise VerifyError(token_error(response.status_code, body))


def _json_body(response: Any) -> object:
    try:
        body: object = remote_json(response)
    except ValueError:  # not JSON (an HTML error page, garbage): no fields to show
        return None
    return body


def token_error(status: int, body: object) -> str:
    """Known fields only: the status, AADSTS codes, the OAuth ``error`` code. The body may
    echo the request (client_secret=...), so no free text from it is ever shown."""
    codes = aadsts_codes(body)
    for code in codes:
        if code in AADSTS_MESSAGES:
            return AADSTS_MESSAGES[code]
    fields = [http_status(status)]
    fields += [f"AADSTS{code}" for code in codes[:3]]
    error = oauth_error(body)
    if error:
        fields.append(error)
    return f"token request failed ({' '.join(fields)})"


def _timeout(config: MsGraphConfig) -> float:
    connect = seconds(as_int(config.connectiontimeout))
    return min(connect, 60.0) if connect else 60.0


def send_graph(config: MsGraphConfig, message: Message, *, ca_file: Path | None) -> str:
    import httpx  # lazy: httpx only for the commands that use it

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
    with httpx.Client(verify=tls_context(ca_file), timeout=_timeout(config)) as http:
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


def _graph_code(response: Any) -> str | None:
    """Graph's ``error.code``: a known identifier only, never its free text."""
    error = _json_body(response)
    code = error.get("error", {}).get("code") if isinstance(error, dict) else None
    if isinstance(code, str) and code.isascii() and code.isalnum() and len(code) <= 64:
        return code
    return None


def _retry_after(response: Any) -> float:
    try:
        return max(float(response.headers.get("Retry-After", "1")), 0.0)
    except ValueError:
        return 1.0


def _graph_error(response: Any) -> str:
    status = response.status_code
    if status == 403 and _graph_code(response) == "ErrorSendAsDenied":
        return (
            "Graph refused the From address (403 ErrorSendAsDenied): it sends as the mailbox "
            "in mailEndpoint; set from: to that mailbox, or grant the app Send As"
        )
    if status == 403:
        return "Graph refused sendMail (403): grant the app the Mail.Send application permission"
    if status == 401:
        return "Graph rejected the access token (401)"
    if status == 404:
        return "Graph has no such mailbox (404): check the user in mailEndpoint"
    return f"Graph answered sendMail with {http_status(status)}"
