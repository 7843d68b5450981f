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

from collections.abc import Iterable, Mapping
from typing import Any

from promoter.errors import InputError, TargetError
from promoter.project.types import AicTarget
from promoter.targets.aic_dcc import MUTABLE, DccEndpoints
from promoter.targets.aic_esvs import EsvEndpoints
from promoter.targets.aic_info import InfoEndpoints
from promoter.targets.aic_promotions import PromotionEndpoints
from promoter.targets.aic_session import ESV_VERSION, IDM_VERSION, EsvState
from promoter.targets.templates import (
    AIC_FILTER,
    SEND_ACTION,
    EmailTemplate,
    SendAnswer,
    parse_answer,
    parse_listing,
    send_body,
)

CONFIG_PATH = "/openidm/config/external.email"
SEND_PATH = "/openidm/external/email"


class AicClient(EsvEndpoints, PromotionEndpoints, InfoEndpoints, DccEndpoints):
    """One tenant environment: its IDM config and restarts, plus the ESV and promotion endpoints."""

    # -- IDM config -----------------------------------------------------------------------

    def get_config(self, *, staged: bool = False) -> dict[str, Any] | None:
        """The live config, or (``staged``) the copy in our Direct Configuration session."""
        step = "read external.email"
        headers = {**IDM_VERSION, **MUTABLE} if staged else IDM_VERSION
        body = self._json(
            self._call("GET", CONFIG_PATH, step=step, missing=(404,), headers=headers), step
        )
        if body is None:
            return None
        if not isinstance(body, dict):
            raise TargetError(f"{step} on {self.label}: the answer is not an object")
        body.pop("_id", None)
        body.pop("_rev", None)
        return body

    def put_config(self, config: Mapping[str, Any], *, staged: bool = False) -> None:
        """PUT the config; ``staged``: into our session (with the header, never repeated)."""
        self._call(
            "PUT",
            CONFIG_PATH,
            step="write external.email",
            json=dict(config),
            headers={**IDM_VERSION, **MUTABLE} if staged else IDM_VERSION,
            idempotent=not staged,
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

    # -- email templates ------------------------------------------------------------------

    def list_templates(self) -> list[EmailTemplate]:
        step = "list the email templates"
        response = self._call(
            "GET",
            "/openidm/config",
            step=step,
            params={"_queryFilter": AIC_FILTER},
            headers=IDM_VERSION,
        )
        return parse_listing(self._json(response, step), f"{step} on {self.label}")

    def send_template(self, name: str, to: str, *, secrets: Iterable[str] = ()) -> SendAnswer:
        """Send one template; a refusal (the template, the relay) is an answer, not an error."""
        step = "send an email template"
        response = self.session.call(
            "POST",
            SEND_PATH,
            step=f"{step} on {self.label}",
            json=send_body(name, to),
            params={"_action": SEND_ACTION},
            headers=IDM_VERSION,
            idempotent=False,
            answer_5xx=True,
        )
        if response.status_code in (401, 403):
            raise self.refused(step, response)
        return parse_answer(response, [*secrets, *self._sent()])

    # -- restart --------------------------------------------------------------------------

    def restart_status(self) -> str:
        step = "read the restart status"
        body = self.status_read("/environment/startup", step=step, headers=ESV_VERSION)
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


def read_config(env: Any) -> dict[str, Any] | None:
    """``external.email`` as ``env``'s AIC tenant holds it (``promoter import aic:ENV``)."""
    target = env.target
    if not isinstance(target, AicTarget):
        raise InputError(
            f"aic:{env.name}: {env.name}'s target is not an AIC tenant",
            hint=f"give {env.name} target: {{aic: https://<tenant-fqdn>, serviceAccount: ...}}",
        )
    with AicClient(target, label=f"{env.name}'s tenant") as client:
        return client.get_config()
