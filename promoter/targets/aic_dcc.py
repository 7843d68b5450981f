"""Direct Configuration sessions on a controlled (immutable) AIC tenant.

``aic-api.md`` "2026 additions": init → ``SESSION_INITIALISED`` → config writes with
``X-Configuration-Type: mutable`` → apply → ``SESSION_APPLIED`` (sometimes through
``MUTABLE_RESTART_*``). The session calls and ESV calls go without the header. A session
someone else opened is never taken over; a failure (or ^C) before apply aborts ours.
The session's PUTs are never repeated blindly; only the state reads are polls.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from promoter.errors import TargetError
from promoter.targets.aic_session import PROMOTION_READ, AicSession

SESSION = "/environment/direct-configuration/session"
MUTABLE = {"X-Configuration-Type": "mutable"}
FINISHED = ("NO_SESSION", "SESSION_APPLIED", "SESSION_ABORTED")
_STATE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")


class DccEndpoints(AicSession):
    def session_state(self) -> str:
        step = "read the configuration session state"
        body = self.status_read(f"{SESSION}/state", step=step, headers=PROMOTION_READ)
        status = body.get("status") if isinstance(body, dict) else None
        # shown, logged and kept in the ledger: a state name (SESSION_APPLIED), nothing else
        if not isinstance(status, str) or not _STATE.fullmatch(status):
            raise TargetError(f"{step} on {self.label}: the answer has no status")
        return status

    def session_call(self, action: str) -> None:
        self._call(
            "PUT",
            f"{SESSION}/{action}",
            step=f"{action} the configuration session",
            headers=PROMOTION_READ,
            idempotent=False,  # never repeated blindly: the tenant may have acted on it
        )


@dataclass(slots=True)
class SessionRun:
    """One session: the states seen, in order (for the output and the ledger)."""

    client: Any  # an AicClient (DccEndpoints + IDM config)
    env: str
    say: Callable[[str], None]
    states: list[str] = field(default_factory=list)
    applied: bool = False

    def _seen(self, status: str) -> str:
        if not self.states or self.states[-1] != status:
            self.states.append(status)
        return status

    def wait(self, step: str, wanted: str) -> None:
        def done() -> bool:
            status = self._seen(self.client.session_state())
            if status == "ERROR":
                raise TargetError(f"{step} on {self.client.label}: the session went to ERROR")
            return status == wanted

        self.client.poll(step, done)

    def deliver(self, config: Mapping[str, Any], mismatch: Callable[[Any], list[str]]) -> None:
        """Open, write, read back, apply, wait, read back live."""
        label = self.client.label
        held = self._seen(self.client.session_state())
        if held not in FINISHED:
            raise TargetError(
                f"{label} has a Direct Configuration session open ({held}), not ours: "
                "left untouched, nothing written",
                hint="wait until it is applied or aborted, then deliver again",
            )
        self.client.session_call("init")
        self._seen("SESSION_INITIALISE_REQUESTED")
        step = "open the configuration session"
        try:
            self.wait("wait for the configuration session", "SESSION_INITIALISED")
            step = "write external.email in the session"
            self.client.put_config(config, staged=True)
            step = "read back external.email in the session"
            differs = mismatch(self.client.get_config(staged=True))
            if differs:
                raise TargetError(f"the session's copy differs at {', '.join(differs)}")
            step = "apply the configuration session"
            self.client.session_call("apply")
            self.applied = True
        except (Exception, KeyboardInterrupt) as failure:
            if self.applied:
                raise
            self._abort(step, failure)
        self.say(f"{self.env}'s tenant: session applied; waiting for SESSION_APPLIED")
        try:
            self.wait("wait for the session to apply", "SESSION_APPLIED")
            differs = mismatch(self.client.get_config())
            if differs:
                raise TargetError(f"after the session, the tenant differs at {', '.join(differs)}")
        except TargetError as failure:
            state = self.states[-1] if self.states else "unknown"
            raise TargetError(
                f"direct configuration on {label}: after apply: {failure.message}; the session "
                f"is {state}",
                hint=f"look at what the tenant holds: promoter diff {self.env}",
            ) from None

    def _abort(self, step: str, failure: BaseException) -> None:
        reason = failure.message if isinstance(failure, TargetError) else type(failure).__name__
        if isinstance(failure, KeyboardInterrupt):
            reason = "interrupted"
        try:
            self.client.session_call("abort")
            self._seen("SESSION_ABORT_REQUESTED")
            done = "the session was aborted"
        except TargetError as refused:
            done = f"aborting the session failed too ({refused.message})"
        raise TargetError(
            f"direct configuration on {self.client.label}: {step} failed: {reason}; {done}, "
            "nothing applied",
            hint="the tenant keeps its config; fix the cause and deliver again",
        ) from None
