"""The plumbing of one AIC tenant connection: auth, calls, refusals, JSON, polling."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from promoter.errors import TargetError
from promoter.net.auth import Provider, provider
from promoter.net.http import Session
from promoter.project.types import AicTarget
from promoter.untrusted import exception_text, http_status, remote_json, scrub

if TYPE_CHECKING:
    import httpx

    from promoter.net.http import Session

IDM_VERSION = {"Accept-API-Version": "resource=1.0"}
ESV_VERSION = {"Accept-API-Version": "resource=1.0"}
PROMOTION_READ = {"Accept-API-Version": "protocol=1.0,resource=1.0"}
PROMOTION_WRITE = {"Accept-API-Version": "protocol=2.1,resource=1.0"}
PRUNE_VERSION = PROMOTION_WRITE  # fr-config-manager's --prune sends the same


class NotReady(TargetError):
    """A status read that failed (5xx, dropped connection, timeout): inside a poll it means
    "not ready yet"; anywhere else it is the usual exit 3."""


@dataclass(frozen=True, slots=True)
class EsvState:
    """What the tenant holds of one ESV (never a secret's value)."""

    id: str
    kind: str  # variable | secret
    exists: bool
    loaded: bool
    value: str | None = None  # a variable's decoded value
    active_version: str | None = None  # a secret's newest version
    loaded_version: str | None = None  # the version a secret's placeholders see now
    changed: str | None = None  # a secret's lastChangeDate (a delete and re-create changes it)


class AicSession:
    def __init__(
        self,
        target: AicTarget,
        *,
        label: str,
        environ: Mapping[str, str] | None = None,
        secrets: Iterable[str] = (),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:

        self.target = target
        self.label = label  # "staging's tenant"
        self.auth: Provider = provider(
            target.auth,
            url=target.url,
            ca_file=target.ca_file,
            timeout=target.timeout,
            retries=target.retries,
            environ=environ,
        )
        self._secrets = list(secrets)
        self._sleep = sleep
        self.session: Session = Session(
            target.url,
            self.auth,
            ca_file=target.ca_file,
            timeout=target.timeout,
            retries=target.retries,
            describe=self._describe,
        )

    def __enter__(self) -> Self:
        self.session.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.session.__exit__(*exc)

    def remember(self, *values: str) -> None:
        """Values a reply must never echo (ESV secret values we send)."""
        self._secrets.extend(v for v in values if v)

    # -- plumbing -------------------------------------------------------------------------

    def _describe(self, exc: Exception, sent: list[str]) -> str:
        text = exception_text(exc, sent + self._sent())
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate" in text.lower():
            return "TLS certificate not trusted (set caFile on the target)"
        return text

    def _sent(self) -> list[str]:
        return self._secrets + self.auth.secrets()

    def _call(
        self,
        method: str,
        path: str,
        *,
        step: str,
        ok: tuple[int, ...] = (200,),
        missing: tuple[int, ...] = (),
        **kwargs: Any,
    ) -> httpx.Response | None:
        response = self.session.call(method, path, step=f"{step} on {self.label}", **kwargs)
        if response.status_code in ok:
            return response
        if response.status_code in missing:
            return None
        raise self.refused(step, response)

    def refused(self, step: str, response: httpx.Response) -> TargetError:
        """``step on staging's tenant: <url> answered 409: <its reason, scrubbed>``."""
        reason = _reason(response)
        text = f": {scrub(reason, self._sent())}" if reason else ""
        hint = None
        if response.status_code == 401:
            hint = self.auth.hint()
        elif response.status_code == 403:
            hint = "the token lacks a scope or the tenant refuses this change here"
        return TargetError(
            f"{step} on {self.label}: {self.target.url} answered "
            f"{http_status(response.status_code)}{text}",
            hint=hint,
        )

    def _json(self, response: httpx.Response | None, step: str) -> Any:
        if response is None:
            return None
        try:
            return remote_json(response)
        except ValueError:
            raise TargetError(
                f"{step} on {self.label}: {self.target.url} answered with no JSON"
            ) from None

    def status_read(self, path: str, *, step: str, headers: Mapping[str, str]) -> Any:
        """GET a status for a poll: a 5xx or a transport failure is ``NotReady`` (a tenant
        restarting may answer 500 or drop the connection for a while), never retried here:
        the poll asks again."""
        try:
            response = self.session.call(
                "GET", path, step=f"{step} on {self.label}", headers=dict(headers), answer_5xx=True
            )
        except TargetError as failed:
            raise NotReady(failed.message) from None
        if response.status_code >= 500:
            raise NotReady(
                f"{step} on {self.label}: {self.target.url} answered "
                f"{http_status(response.status_code)}"
            )
        if response.status_code != 200:
            raise self.refused(step, response)
        return self._json(response, step)

    def poll(self, step: str, done: Callable[[], bool]) -> None:
        """Wait ``poll_interval`` first (each step was just asked for), then check; a failed
        check (``NotReady``) is "not yet" until ``wait_timeout``."""
        deadline = time.monotonic() + self.target.wait_timeout
        self._sleep(self.target.poll_interval)
        last = ""
        while True:
            try:
                if done():
                    return
            except NotReady as failed:
                last = failed.message
            if time.monotonic() >= deadline:
                said = f"; the last poll failed: {scrub(last, self._sent())}" if last else ""
                raise TargetError(
                    f"{step} on {self.label}: not done after {self.target.wait_timeout:g} s{said}",
                    hint="raise waitTimeout on the target, or look at the tenant",
                )
            self._sleep(self.target.poll_interval)


def _reason(response: httpx.Response) -> str:
    """The tenant's own reason: ``message`` (AIC, CREST) or OAuth's ``error``."""
    try:
        body = remote_json(response)
    except ValueError:
        return ""
    if isinstance(body, dict):
        for key in ("message", "reason", "error"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
    return ""


def _decode(raw: str) -> str | None:
    try:
        return base64.b64decode(raw, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
