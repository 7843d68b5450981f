"""IDM's REST API for external.email: PUT, GET, and the send action.

Credentials come from the target's auth provider (``promoter.auth``: environment
variables or a key file named in promoter.yaml, never the repo) and never appear in
a message; a 401 fetches a fresh token once. Connection errors and 5xx answers are
retried with backoff (the PUT is idempotent); other answers are final.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from promoter.errors import TargetError
from promoter.net.auth import Provider, provider
from promoter.net.http import Session
from promoter.project.auth import HeadersAuth
from promoter.project.types import IdmTarget
from promoter.targets.templates import (
    IDM_FILTER,
    SEND_ACTION,
    EmailTemplate,
    SendAnswer,
    parse_answer,
    parse_listing,
    send_body,
)
from promoter.untrusted import exception_text, remote_json

CONFIG_PATH = "/config/external.email"
SEND_PATH = "/external/email"
API_VERSION = "resource=1.0"


class IdmClient:
    """IDM's REST API. Used as a context manager, its requests share one connection."""

    def __init__(self, target: IdmTarget, environ: Mapping[str, str] | None = None) -> None:
        self.target = target
        self.auth: Provider = provider(
            self._settings(),
            url=target.url,
            ca_file=target.ca_file,
            timeout=target.timeout,
            retries=target.retries,
            environ=environ,
        )
        self.auth.headers()  # a missing variable is an input error before anything is sent
        self.session = Session(
            target.url,
            self.auth,
            ca_file=target.ca_file,
            timeout=target.timeout,
            retries=target.retries,
            describe=lambda exc, sent: _describe(exc, sent + self.auth.secrets()),
            name="IDM",
            reach=f"IDM at {target.url}",
        )

    def __enter__(self) -> IdmClient:
        self.session.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.session.__exit__(*exc)

    def _settings(self) -> Any:
        t = self.target
        if t.auth is None and t.username_env and t.password_env:
            return HeadersAuth(t.username_env, t.password_env)
        return t.auth

    def _credential_hint(self) -> str:
        return self.auth.hint()

    def put_config(self, config: Mapping[str, Any]) -> None:
        response = self._request("PUT", CONFIG_PATH, json=dict(config), retry=True)
        self._json(response, "PUT")

    def get_config(self) -> dict[str, Any] | None:
        response = self._request("GET", CONFIG_PATH, retry=True, missing_ok=True)
        if response is None:
            return None
        body = self._json(response, "GET")
        if not isinstance(body, dict):
            raise TargetError(f"IDM at {self.target.url} answered GET with a non-object")
        body.pop("_id", None)
        body.pop("_rev", None)
        return body

    def send(self, message: Mapping[str, Any]) -> dict[str, Any]:
        response = self._request("POST", SEND_PATH, json=dict(message), params={"_action": "send"})
        assert response is not None
        body = self._json(response, "POST")
        return body if isinstance(body, dict) else {}

    def list_templates(self) -> list[EmailTemplate]:
        response = self._request("GET", "/config", params={"_queryFilter": IDM_FILTER}, retry=True)
        return parse_listing(self._json(response, "GET"), f"IDM at {self.target.url}")

    def send_template(self, name: str, to: str, *, secrets: Iterable[str] = ()) -> SendAnswer:
        """Send one template; a refusal (the template, the relay) is an answer, not an error."""
        response = self.session.call(
            "POST",
            SEND_PATH,
            json=send_body(name, to),
            params={"_action": SEND_ACTION},
            headers={"Accept-API-Version": API_VERSION},
            idempotent=False,
            answer_5xx=True,
            retries=0,
        )
        if response.status_code in (401, 403):
            raise TargetError(self._rejected("POST", SEND_PATH, response.status_code))
        return parse_answer(response, [*secrets, *self.auth.secrets()])

    def _json(self, response: Any, method: str) -> Any:
        """The answer's JSON; a 200 with an HTML page (a proxy, a login page) is a failure."""
        try:
            return remote_json(response)
        except ValueError:
            raise TargetError(
                f"IDM at {self.target.url} answered {method} with a body that is not JSON",
                hint="check the URL: a proxy or login page may be answering instead of IDM",
            ) from None

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        retry: bool = False,
        missing_ok: bool = False,
    ) -> Any:
        headers = {"Accept-API-Version": API_VERSION}
        response = self.session.call(
            method,
            path,
            json=json,
            params=params,
            headers=headers,
            idempotent=retry,
            retries=None if retry else 0,
        )
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code >= 400:
            raise TargetError(self._rejected(method, path, response.status_code))
        return response

    def _rejected(self, method: str, path: str, status: int) -> str:
        if status == 401:
            return f"IDM rejected the credentials (401): {self._credential_hint()}"
        if status == 403:
            return f"IDM refused {method} {path} (403): the account lacks the rights"
        if status == 404:
            return f"IDM has no {path} (404): check the URL {self.target.url}"
        return f"IDM answered {method} {path} with {status}"


def _describe(exc: Exception, sent: list[str]) -> str:
    """The exception's type and scrubbed first line: a protocol error can quote what the
    server sent back, and a hostile server sends back what we sent (the PUT body)."""
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate" in text.lower():
        return "TLS certificate not trusted (set caFile on the target)"
    return exception_text(exc, sent)
