"""The stand-in's 2026 additions (``aic-api.md`` "2026 additions"): environment info and
Direct Configuration sessions on a controlled tenant.

- ``GET /environment/info`` (any valid token): ``{"immutable": not mutable, "locked",
  "region", "tier", "config_promotion_done", "placeholder_management", ...}``;
  ``info`` (a dict) overrides fields per tenant.
- ``/environment/direct-configuration/session/{init,state,apply,abort}`` (any valid
  token; ``init``/``apply``/``abort`` are PUTs with no body, ``state`` a GET), each
  answering ``{"editable", "status"}``. ``init`` on a mutable tenant or one not
  ``controlled`` → 403; while a session is open → 409. States move on every
  ``dwell`` seconds (None: at ``release()``): ``SESSION_INITIALISE_REQUESTED`` →
  ``SESSION_INITIALISING`` → ``SESSION_INITIALISED``; apply (only in
  ``SESSION_INITIALISED``, else 409) → [``MUTABLE_RESTART_REQUESTED`` →
  ``MUTABLE_RESTART_PROGRESSING`` when ``restart_states``] → ``SESSION_APPLY_REQUESTED`` →
  ``SESSION_APPLYING`` → ``SESSION_APPLIED`` (the staged configs go live) or ``ERROR``
  when ``fail_apply``; abort (only while initialising or initialised, else 409) →
  ``SESSION_ABORT_REQUESTED`` → ``NO_SESSION`` (the staged configs are dropped).
- Config writes with ``X-Configuration-Type: mutable``: accepted only in
  ``SESSION_INITIALISED`` (into the staged copy), else IDM's 403. A GET with the header
  during a session shows the staged config; a plain GET shows the live one.

Test hooks: ``dcc.status`` (settable: a session someone else opened), ``dcc.seen_states``,
``dcc.inits``, ``dcc.applies``, ``dcc.aborts``, ``dcc.dwell``, ``dcc.restart_states``,
``dcc.fail_apply``, ``dcc.controlled``.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from tests.support.http_standin import Request, Response

if TYPE_CHECKING:
    from tests.support.aic_standin import AicStandin

SESSION_PATH = "/environment/direct-configuration/session/"
HEADER = "X-Configuration-Type"
ABORTABLE = ("SESSION_INITIALISE_REQUESTED", "SESSION_INITIALISING", "SESSION_INITIALISED")
CLOSED = ("NO_SESSION", "SESSION_APPLIED", "SESSION_ABORTED")
EDITABLE = ("SESSION_INITIALISE_REQUESTED", "SESSION_INITIALISED")


def staged_write(request: Request) -> bool:
    return request.headers.get(HEADER, "").strip().lower() == "mutable"


class DirectConfig:
    def __init__(self, standin: AicStandin, *, dwell: float | None = 0.02) -> None:
        self.standin = standin
        self.controlled = True
        self.dwell = dwell
        self.restart_states = False
        self.fail_apply = False
        self.status = "NO_SESSION"
        self.seen_states: list[str] = []
        self.inits = self.applies = self.aborts = 0
        self.staged: dict[str, dict[str, Any]] | None = None
        self._generation = 0

    def answer(self) -> Response:
        return Response(200, {"editable": self.status in EDITABLE, "status": self.status})

    def _set(self, status: str) -> None:
        self.status = status
        self.seen_states.append(status)

    def _walk(self, states: list[str], done: Any = None) -> None:
        """Move through ``states`` one per ``dwell``; ``done`` runs with the last one."""
        generation = self._generation

        def step(rest: list[str]) -> None:
            if generation != self._generation:
                return  # aborted meanwhile
            self._set(rest[0])
            if len(rest) == 1:
                if done is not None:
                    done()
                return
            self.standin.later(self.dwell, lambda: step(rest[1:]))

        self.standin.later(self.dwell, lambda: step(states))

    def route(self, request: Request) -> Response:
        action = request.path.removeprefix(SESSION_PATH)
        with self.standin.lock:
            if action == "state" and request.method == "GET":
                return self.answer()
            if request.method != "PUT" or action not in ("init", "apply", "abort"):
                return Response(404, {"code": 404, "message": "Not Found"})
            return getattr(self, f"_{action}")()

    def _init(self) -> Response:
        if self.standin.mutable or not self.controlled:
            return Response(403, {"code": 403, "message": "This tenant is not controlled"})
        if self.status not in CLOSED:
            return Response(409, {"code": 409, "message": f"A session is open: {self.status}"})
        self.inits += 1
        self._generation += 1
        self.staged = copy.deepcopy(self.standin.configs)
        self._set("SESSION_INITIALISE_REQUESTED")
        self._walk(["SESSION_INITIALISING", "SESSION_INITIALISED"])
        return self.answer()

    def _apply(self) -> Response:
        if self.status != "SESSION_INITIALISED":
            return Response(409, {"code": 409, "message": f"Cannot apply in {self.status}"})
        self.applies += 1
        self._generation += 1
        restart = ["MUTABLE_RESTART_REQUESTED", "MUTABLE_RESTART_PROGRESSING"]
        states = (restart if self.restart_states else []) + ["SESSION_APPLY_REQUESTED"]
        self._set(states[0])
        end = "ERROR" if self.fail_apply else "SESSION_APPLIED"

        def live() -> None:
            if end == "SESSION_APPLIED" and self.staged is not None:
                self.standin.configs = self.staged
            self.staged = None

        self._walk([*states[1:], "SESSION_APPLYING", end], live)
        return self.answer()

    def _abort(self) -> Response:
        if self.status not in ABORTABLE:
            return Response(409, {"code": 409, "message": f"Cannot abort in {self.status}"})
        self.aborts += 1
        self._generation += 1
        self.staged = None
        self._set("SESSION_ABORT_REQUESTED")
        self._walk(["NO_SESSION"])
        return self.answer()

    # -- config writes and reads ------------------------------------------------------------

    def put(self, config_id: str, body: dict[str, Any]) -> Response | None:
        """A write with the header: staged, or IDM's 403 outside SESSION_INITIALISED."""
        if self.status != "SESSION_INITIALISED" or self.staged is None:
            return Response(
                403,
                {
                    "code": 403,
                    "reason": "Forbidden",
                    "message": f"No configuration session is open for writes ({self.status})",
                },
            )
        self.staged[config_id] = copy.deepcopy(body)
        return Response(200, {"_id": config_id, **body})

    def get(self, config_id: str) -> dict[str, Any] | None:
        """The staged config (a GET with the header during a session), else the live one."""
        source = self.staged if self.staged is not None else self.standin.configs
        return copy.deepcopy(source.get(config_id))


def info(standin: AicStandin, overrides: dict[str, Any]) -> Response:
    body: dict[str, Any] = {
        "immutable": not standin.mutable,
        "locked": False,
        "region": "europe-west1",
        "tier": "development" if standin.mutable else "production",
        "config_promotion_done": False,
        "placeholder_management": "CUSTOMER",
        "placeholder_management_migration_date": "",
        "warning_message_html": "",
        "message_box_title": "",
        "message_box_html": "",
        "message_variant": "",
    }
    body.update(overrides)
    return Response(200, body)
