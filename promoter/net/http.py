"""One HTTP session to a target: auth headers, one retry after a 401, backoff on 5xx.

Connection errors and connect timeouts (nothing was sent) are retried for every call;
read timeouts and 5xx answers only for idempotent calls (GET, PUT, DELETE), so a POST
is never sent twice. Answers below 500 are returned to the caller, which knows what they mean.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promoter.errors import TargetError
from promoter.net.deadline import Deadline
from promoter.net.tls import client_context
from promoter.untrusted import sent_strings

if TYPE_CHECKING:
    import httpx

    from promoter.net.auth import Provider


class Session:
    def __init__(
        self,
        base: str,
        auth: Provider,
        *,
        ca_file: Path | None,
        timeout: float,
        retries: int,
        describe: Callable[[Exception, list[str]], str],
        name: str | None = None,
        reach: str | None = None,
    ) -> None:
        self.base = base
        self.name = name or base  # who answers: "IDM answered PUT … with 500"
        self.reach = reach or base  # who could not be reached: "cannot reach IDM at …"
        self.auth = auth
        self.ca_file = ca_file
        self.timeout = timeout
        self.retries = retries
        self.describe = describe
        self.requests = 0  # HTTP requests sent (figures, tests)
        self._client: httpx.Client | None = None
        self._depth = 0
        self._deadline = Deadline(timeout)  # each attempt, whole: a trickling answer is cut

    def __enter__(self) -> Session:
        self._depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0 and self._client is not None:
            self._client.close()
            self._client = None

    def _http(self) -> httpx.Client:
        import httpx  # lazy: httpx only for the commands that use it

        if self._client is None:
            timeout = httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0))
            self._client = httpx.Client(verify=client_context(self.ca_file), timeout=timeout)
        return self._client

    def call(
        self,
        method: str,
        path: str,
        *,
        step: str | None = None,
        json: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        idempotent: bool | None = None,
        answer_5xx: bool = False,
        retries: int | None = None,
    ) -> httpx.Response:
        """Send one request; the answer (status < 500), or TargetError naming ``step``.

        ``answer_5xx``: a 5xx is the answer too (its body says why: a relay's refusal behind
        IDM's send actions), returned once, never retried. ``retries``: this call's, when
        not the session's.

        ``describe`` words a transport error; it is given what this request sent (body,
        query, headers), which a hostile server may echo back inside the error.
        """
        import httpx  # lazy: httpx only for the commands that use it

        if idempotent is None:
            idempotent = method in ("GET", "PUT", "DELETE", "HEAD")
        attempts = 1 + (self.retries if retries is None else retries)
        problem = ""
        refreshed = False
        attempt = 0
        with self:
            client = self._http()
            while attempt < attempts:
                if attempt:
                    time.sleep(min(0.2 * 2 ** (attempt - 1), 2.0))
                attempt += 1
                sent = {**(headers or {}), **self.auth.headers()}
                self.requests += 1
                try:
                    with self._deadline.running():
                        response = client.request(
                            method,
                            self.base + path,
                            json=json,
                            params=params,
                            headers=sent,
                            extensions={"trace": self._deadline.trace},
                        )
                except httpx.TransportError as exc:
                    said = self.describe(exc, sent_strings(json, params, sent))
                    said = self._deadline.explain(said, exc)
                    problem = f"cannot reach {self.reach}: {said}"
                    # not connected: nothing was sent, so even a POST may go again
                    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout) or idempotent:
                        continue
                    break
                if response.status_code >= 500 and not answer_5xx:
                    problem = f"{self.name} answered {method} {path} with {response.status_code}"
                    if idempotent:
                        continue
                    break
                if response.status_code == 401 and not refreshed and self.auth.invalidate():
                    refreshed = True  # the token expired early or was revoked: one fresh try
                    attempt -= 1
                    continue
                return response
        tries = f" (after {attempt} attempts)" if attempt > 1 else ""
        raise TargetError(f"{step}: {problem}{tries}" if step else f"{problem}{tries}")
