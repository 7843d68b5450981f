"""The AIC tenant client: IDM config, ESV variables and secrets, restart, promotions.

One ``AicClient`` per tenant environment (``https://<tenant-fqdn>``), authenticated by
the target's provider from ``promoter.auth``. Endpoints, bodies and headers follow
``aic-api.md``. Every refusal becomes ``TargetError`` (exit 3) naming the step and the
tenant's own reason (its ``message``, scrubbed of anything we sent); an ESV secret value
is sent base64-encoded and never shown. Polling waits ``poll_interval`` seconds between
status reads (1 s by default; tests set less in promoter.yaml) up to ``wait_timeout``.

Designed to be driven step by step (the promotion flow, the watcher's rotation):
``new_secret_version`` → ``restart_if_needed`` → ``wait_ready`` → ``send`` →
``set_version_status(..., "DISABLED")``.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from promoter.errors import TargetError
from promoter.net.auth import Provider, provider
from promoter.project.types import AicTarget
from promoter.untrusted import exception_text, http_status, scrub

if TYPE_CHECKING:
    import httpx

    from promoter.net.http import Session

CONFIG_PATH = "/openidm/config/external.email"
SEND_PATH = "/openidm/external/email"
IDM_VERSION = {"Accept-API-Version": "resource=1.0"}
ESV_VERSION = {"Accept-API-Version": "resource=1.0"}
PROMOTION_READ = {"Accept-API-Version": "protocol=1.0,resource=1.0"}
PROMOTION_WRITE = {"Accept-API-Version": "protocol=2.1,resource=1.0"}


@dataclass(frozen=True, slots=True)
class EsvState:
    """What the tenant holds of one ESV (never a secret's value)."""

    id: str
    kind: str  # variable | secret
    exists: bool
    loaded: bool
    value: str | None = None  # a variable's decoded value
    active_version: str | None = None  # a secret's newest version


class AicClient:
    def __init__(
        self,
        target: AicTarget,
        *,
        label: str,
        environ: Mapping[str, str] | None = None,
        secrets: Iterable[str] = (),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        from promoter.net.http import Session

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

    def __enter__(self) -> AicClient:
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
            return response.json()
        except ValueError:
            raise TargetError(
                f"{step} on {self.label}: {self.target.url} answered with no JSON"
            ) from None

    # -- IDM config -----------------------------------------------------------------------

    def get_config(self) -> dict[str, Any] | None:
        step = "read external.email"
        body = self._json(
            self._call("GET", CONFIG_PATH, step=step, missing=(404,), headers=IDM_VERSION), step
        )
        if body is None:
            return None
        if not isinstance(body, dict):
            raise TargetError(f"{step} on {self.label}: the answer is not an object")
        body.pop("_id", None)
        body.pop("_rev", None)
        return body

    def put_config(self, config: Mapping[str, Any]) -> None:
        self._call(
            "PUT", CONFIG_PATH, step="write external.email", json=dict(config), headers=IDM_VERSION
        )

    def send(self, message: Mapping[str, Any]) -> None:
        self._call(
            "POST",
            SEND_PATH,
            step="send a test email",
            json=dict(message),
            params={"_action": "send"},
            headers=IDM_VERSION,
        )

    # -- ESVs -----------------------------------------------------------------------------

    def variable(self, esv: str) -> EsvState:
        step = f"read variable {esv}"
        body = self._json(
            self._call(
                "GET",
                f"/environment/variables/{esv}",
                step=step,
                missing=(404,),
                headers=ESV_VERSION,
            ),
            step,
        )
        if not isinstance(body, dict):
            return EsvState(esv, "variable", False, False)
        raw = body.get("valueBase64")
        value = _decode(raw) if isinstance(raw, str) else None
        return EsvState(esv, "variable", True, body.get("loaded") is True, value)

    def put_variable(self, esv: str, value: str, *, create: bool) -> None:
        body: dict[str, Any] = {"valueBase64": base64.b64encode(value.encode()).decode()}
        if create:
            body.update(expressionType="string", description="managed by promoter")
        self._call(
            "PUT",
            f"/environment/variables/{esv}",
            step=f"set variable {esv}",
            json=body,
            headers=ESV_VERSION,
        )

    def secret(self, esv: str) -> EsvState:
        step = f"read secret {esv}"
        body = self._json(
            self._call(
                "GET", f"/environment/secrets/{esv}", step=step, missing=(404,), headers=ESV_VERSION
            ),
            step,
        )
        if not isinstance(body, dict):
            return EsvState(esv, "secret", False, False)
        active = body.get("activeVersion")
        loaded = body.get("loaded") is True and body.get("loadedVersion") == active
        return EsvState(esv, "secret", True, loaded, active_version=str(active or ""))

    def create_secret(self, esv: str, value: str) -> None:
        self.remember(value)
        self._call(
            "PUT",
            f"/environment/secrets/{esv}",
            step=f"create secret {esv}",
            json={
                "valueBase64": base64.b64encode(value.encode()).decode(),
                "description": "managed by promoter",
                "encoding": "generic",
                "useInPlaceholders": True,
            },
            headers=ESV_VERSION,
            idempotent=False,  # a second PUT is refused: "the secret already exists"
        )

    def new_secret_version(self, esv: str, value: str) -> str:
        """Add a version (the tenant keeps the latest if the value is unchanged); its number."""
        self.remember(value)
        step = f"add a version to secret {esv}"
        body = self._json(
            self._call(
                "POST",
                f"/environment/secrets/{esv}/versions",
                step=step,
                params={"_action": "create"},
                json={"valueBase64": base64.b64encode(value.encode()).decode()},
                headers=ESV_VERSION,
            ),
            step,
        )
        version = body.get("version") if isinstance(body, dict) else None
        return str(version or "")

    def set_version_status(self, esv: str, version: str, status: str) -> None:
        """ENABLED or DISABLED (the watcher disables the previous version once proven)."""
        self._call(
            "POST",
            f"/environment/secrets/{esv}/versions/{version}",
            step=f"set secret {esv} version {version} {status}",
            params={"_action": "changestatus"},
            json={"status": status},
            headers=ESV_VERSION,
            idempotent=True,
        )

    # -- restart --------------------------------------------------------------------------

    def restart_status(self) -> str:
        step = "read the restart status"
        body = self._json(
            self._call("GET", "/environment/startup", step=step, headers=ESV_VERSION), step
        )
        status = body.get("restartStatus") if isinstance(body, dict) else None
        return status if isinstance(status, str) else ""

    def restart(self) -> bool:
        """Ask for a restart; False when one is already running (409)."""
        answer = self._call(
            "POST",
            "/environment/startup",
            step="restart",
            params={"_action": "restart"},
            json=[],
            headers=ESV_VERSION,
            missing=(409,),
        )
        return answer is not None

    def wait_ready(self) -> None:
        self.poll("wait for the restart", lambda: self.restart_status() == "ready")

    def restart_if_needed(self, states: Iterable[EsvState]) -> bool:
        """Restart (and wait until ready) when an ESV in use is not loaded."""
        if all(s.loaded or not s.exists for s in states):
            return False
        if not self.restart():
            self.wait_ready()  # another restart was running: it may not have our values
            self.restart()
        self.wait_ready()
        return True

    def poll(self, step: str, done: Callable[[], bool]) -> None:
        """Wait ``poll_interval`` first (each step was just asked for), then check."""
        deadline = time.monotonic() + self.target.wait_timeout
        self._sleep(self.target.poll_interval)
        while not done():
            if time.monotonic() >= deadline:
                raise TargetError(
                    f"{step} on {self.label}: not done after {self.target.wait_timeout:g} s",
                    hint="raise waitTimeout on the target, or look at the tenant",
                )
            self._sleep(self.target.poll_interval)

    # -- promotion (on the upper environment) ---------------------------------------------

    def lock_state(self) -> dict[str, Any]:
        step = "read the promotion lock"
        body = self._json(
            self._call(
                "GET", "/environment/promotion/lock/state", step=step, headers=PROMOTION_READ
            ),
            step,
        )
        return body if isinstance(body, dict) else {}

    def lock(self) -> str:
        step = "lock for a promotion"
        body = self._json(
            self._call(
                "POST",
                "/environment/promotion/lock",
                step=step,
                ok=(200, 202),
                headers=PROMOTION_WRITE,
            ),
            step,
        )
        promotion = body.get("promotionId") if isinstance(body, dict) else None
        if not isinstance(promotion, str) or not promotion:
            raise TargetError(f"{step} on {self.label}: the answer has no promotionId")
        self.poll("wait for the lock", lambda: self.lock_state().get("result") == "locked")
        return promotion

    def unlock(self, promotion: str) -> None:
        self._call(
            "DELETE",
            f"/environment/promotion/lock/{promotion}",
            step="unlock",
            ok=(200, 202),
            headers=PROMOTION_WRITE,
        )
        self.poll("wait for the unlock", lambda: self.lock_state().get("result") == "unlocked")

    def status(self) -> dict[str, Any]:
        step = "read the promotion status"
        body = self._json(
            self._call("GET", "/environment/promotion/promote", step=step, headers=PROMOTION_READ),
            step,
        )
        return body if isinstance(body, dict) else {}

    def promote(self, *, dry_run: bool, description: str) -> dict[str, Any]:
        """Start a (dry-run) promotion and poll it to the end; the final status."""
        before = self.status()
        self._call(
            "POST",
            "/environment/promotion/promote",
            step="dry-run promotion" if dry_run else "promotion",
            ok=(200, 202),
            json={
                "dryRun": dry_run,
                "promoter": "promoter",
                "promotionDescription": description,
                "unlockEnvironmentsAfterPromotion": False,
            },
            headers=PROMOTION_WRITE,
        )
        step = "dry-run promotion" if dry_run else "promotion"
        return self._wait_status(step, before, dry_run=dry_run)

    def rollback(self, *, description: str) -> dict[str, Any]:
        before = self.status()
        self._call(
            "POST",
            "/environment/promotion/rollback",
            step="rollback",
            ok=(200, 202),
            json={
                "promoter": "promoter",
                "promotionDescription": description,
                "unlockEnvironmentsAfterPromotion": False,
            },
            headers=PROMOTION_WRITE,
        )
        return self._wait_status("rollback", before)

    def _wait_status(
        self, step: str, before: dict[str, Any], *, dry_run: bool = False
    ) -> dict[str, Any]:
        """Poll the status to the end of ``step``; raise if it failed (a dry run's blocking
        findings are returned: the caller reads them from the report and the status).

        ``before`` is the status read before ``step`` was started: until the status has
        been RUNNING or differs from it, a "completed" is the previous run's (the dry run's
        right before a promotion), not this one's.
        """
        final: dict[str, Any] = {}
        running = False

        def finished() -> bool:
            nonlocal final, running
            final = self.status()
            if final.get("status") == "RUNNING":
                running = True
                return False
            if not running and _same_run(final, before):
                return False
            message = final.get("message")
            completed = isinstance(message, str) and "complet" in message.lower()
            return running or completed or final.get("blockingError") is True

        self.poll(f"wait for the {step}", finished)
        failed = final.get("status") == "ERROR" or (
            final.get("blockingError") is True and not dry_run
        )
        if failed:
            message = final.get("message")
            reason = scrub(message, self._sent()) if isinstance(message, str) else "no reason"
            raise TargetError(f"{step} on {self.label} failed: {reason}")
        return final

    def report(self, report_id: str | None = None) -> dict[str, Any]:
        path = "/environment/promotion/report" + (f"/{report_id}" if report_id else "")
        step = "read the promotion report"
        body = self._json(self._call("GET", path, step=step, headers=PROMOTION_READ), step)
        return body if isinstance(body, dict) else {}

    def provisional_report(self) -> dict[str, Any] | None:
        """What a promotion would bring from the tenant below (asked of that lower tenant);
        ``None`` when it has none to give."""
        step = "read the provisional report"
        body = self._json(
            self._call(
                "GET",
                "/environment/promotion/report/provisional",
                step=step,
                missing=(404,),
                headers=PROMOTION_READ,
            ),
            step,
        )
        return body if isinstance(body, dict) else None

    def provisional_rollback(self) -> dict[str, Any]:
        step = "read the provisional rollback report"
        body = self._json(
            self._call(
                "GET",
                "/environment/promotion/report/provisional-rollback",
                step=step,
                headers=PROMOTION_READ,
            ),
            step,
        )
        return body if isinstance(body, dict) else {}


def _reason(response: httpx.Response) -> str:
    """The tenant's own reason: ``message`` (AIC, CREST) or OAuth's ``error``."""
    try:
        body = response.json()
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


def read_config(env: Any) -> dict[str, Any] | None:
    """``external.email`` as ``env``'s AIC tenant holds it (``promoter import aic:ENV``)."""
    target = env.target
    if not isinstance(target, AicTarget):
        from promoter.errors import InputError

        raise InputError(
            f"aic:{env.name}: {env.name}'s target is not an AIC tenant",
            hint=f"give {env.name} target: {{aic: https://<tenant-fqdn>, serviceAccount: ...}}",
        )
    with AicClient(target, label=f"{env.name}'s tenant") as client:
        return client.get_config()


def _same_run(status: dict[str, Any], before: dict[str, Any]) -> bool:
    keys = ("status", "message", "timeStamp", "reportId", "promotionId")
    return all(status.get(key) == before.get(key) for key in keys)
