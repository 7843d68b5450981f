"""IDM's REST API for external.email: PUT, GET, and the send action.

Credentials come from environment variables named in promoter.yaml, never from
the repo, and never appear in a message. Connection errors and 5xx answers are
retried with backoff (the PUT is idempotent); other answers are final.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

from promoter.errors import InputError, TargetError
from promoter.project import IdmTarget
from promoter.untrusted import exception_text, sent_strings

CONFIG_PATH = "/config/external.email"
SEND_PATH = "/external/email"
API_VERSION = "resource=1.0"


class IdmClient:
    def __init__(self, target: IdmTarget, environ: Mapping[str, str] | None = None) -> None:
        self.target = target
        self.environ = os.environ if environ is None else environ
        self._headers = {"Accept-API-Version": API_VERSION, **self._auth_headers()}

    def _auth_headers(self) -> dict[str, str]:
        t = self.target
        if t.bearer_env:
            return {"Authorization": f"Bearer {self._env(t.bearer_env)}"}
        if t.username_env and t.password_env:
            return {
                "X-OpenIDM-Username": self._env(t.username_env),
                "X-OpenIDM-Password": self._env(t.password_env),
            }
        raise InputError(
            f"no credentials configured for {t.url}",
            hint="set bearerEnv, or usernameEnv and passwordEnv, on the target in promoter.yaml",
        )

    def _env(self, name: str) -> str:
        value = self.environ.get(name)
        if not value:
            raise InputError(f"environment variable {name} is not set", hint=f"export {name}=...")
        return value

    def _credential_hint(self) -> str:
        t = self.target
        if t.bearer_env:
            return f"check the token in ${t.bearer_env}"
        return f"check ${t.username_env} and ${t.password_env}"

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

    def _json(self, response: Any, method: str) -> Any:
        """The answer's JSON; a 200 with an HTML page (a proxy, a login page) is a failure."""
        try:
            return response.json()
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
        import httpx

        url = self.target.url + path
        from promoter.tls import client_context

        verify = client_context(self.target.ca_file)
        attempts = 1 + (self.target.retries if retry else 0)
        timeout = httpx.Timeout(self.target.timeout, connect=min(self.target.timeout, 10.0))
        problem = ""
        with httpx.Client(verify=verify, timeout=timeout) as client:
            for attempt in range(attempts):
                if attempt:
                    time.sleep(min(0.2 * 2 ** (attempt - 1), 2.0))
                try:
                    response = client.request(
                        method, url, json=json, params=params, headers=self._headers
                    )
                except httpx.TransportError as exc:
                    sent = sent_strings(json, params, self._headers)
                    problem = f"cannot reach IDM at {self.target.url}: {_describe(exc, sent)}"
                    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout) or retry:
                        continue
                    break
                if response.status_code >= 500:
                    problem = f"IDM answered {method} {path} with {response.status_code}"
                    continue
                if response.status_code == 404 and missing_ok:
                    return None
                if response.status_code >= 400:
                    raise TargetError(self._rejected(method, path, response.status_code))
                return response
        raise TargetError(problem + (f" (after {attempts} attempts)" if attempts > 1 else ""))

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
