"""Self-service promotions of the AIC tenant stand-in (``/environment/promotion/...``).

One ``Promotions`` object per stand-in; the calls that run a promotion go to the UPPER
env (it pulls from ``env.lower``); ``report/provisional`` goes to the LOWER env (compared
with ``env.upper``). ``AicStandin`` has already checked the token scope and
``Accept-API-Version: resource=1.0``. All state changes happen under the stand-in's lock.

Calls and answers (aic-api.md "Self-service promotions"):

- ``POST lock`` -> ``202 {"description":"Environment lock in progress","promotionId",
  "result":"locking"}``; ``locked`` after ``lock_seconds``. ``409 {"message"}`` when the
  pair is not unlocked, or either env is held by the other pair (staging locked as
  prod's lower refuses a dev -> staging lock, and the reverse).
- ``GET lock/state[?localLockOnly=true]`` -> ``{"description","lowerEnv":{"promotionId",
  "proxyState","state"},"promotionId","result","upperEnv":{...}}``; on an env that is
  only a lower env it shows the pair it is the lower of.
- ``DELETE lock/{promotionId}`` -> ``202 unlocking`` (``unlocked`` after ``lock_seconds``);
  ``409 {"message":"Environment is not in locked state"}`` when not locked (or in
  ``error``), running, or another id.
- ``GET promote`` -> ``{"blockingError","globalLock","message","status","timeStamp",
  "type"[,"promotionId","missingESVs","encryptedSecrets","reportId"]}``: ``UNLOCKED``
  "Environment unlocked"; ``LOCKING``/``UNLOCKING``; locked: ``READY`` "Environment ready
  for promotion"; ``RUNNING`` "Dry run promotion in progress" / "Update configuration" /
  "Rollback in progress"; then ``READY`` "Dry run promotion completed" / "Promotion
  completed" / "Rollback completed" (with ``reportId``); a blocked dry run or promotion
  has ``blockingError:true`` and the lists; a blocked promotion says "Promotion blocked:
  ..." and changes nothing; an injected failure ends ``ERROR`` with ``blockingError:true``.
- ``POST promote {"dryRun": bool, ...}`` -> ``202 {"result":"Promotion process initiated
  successfully"}``; ``409 {"code":409,"message","status":"Conflict"}`` not locked /
  running; ``400`` without a boolean ``dryRun``. Lasts ``promotion_seconds``.
- ``GET report`` (last, else 404), ``report/{id}`` (404 "report not found for given id"),
  ``reports`` (oldest first), ``report/provisional`` (lower env; never stored),
  ``report/provisional-rollback`` (404 when nothing to roll back).
- ``POST rollback`` -> ``202 {"result":"Rollback process initiated successfully"}``
  (restores the upper's config from before the last promotion, writes a ``rollback``
  report); ``409`` not locked / running / nothing to roll back.

Report: ``{"createdDate","dryRun","missingESVs","encryptedSecrets",
"previouslyIgnoredEncryptedSecrets","promoter","promotionDescription","promotionId",
"report":{"AMConfig","IDMConfig"},"reportId","reportName","type"}``; empty lists are
omitted (x-omitempty). ``IDMConfig`` entries: ``{"configItem","configChange":{"added",
"deleted","modified"}}`` of ``{"name","uid"}``: ``external.email`` is "Email > Provider",
``emailTemplate/<n>`` "Email > Templates", another id "IDM > <first segment>"; a
``set_config("am/<realm>/<type>/<name>", ...)`` item lands in ``AMConfig`` (configItem
``<type>``, realm ``/<realm>``). ``missingESVs``: ``esv-*`` ids that the lower's config
(all items) uses without ``|default`` and the upper has neither as variable nor secret.
``encryptedSecrets``: ``<config id>/<pointer>`` of each ``$crypto`` in an added or
modified item (``external.email/auth/password``), unless ``ignoreEncryptedSecrets``;
those ignored by a completed promotion are listed afterwards as
``previouslyIgnoredEncryptedSecrets`` while still present. ``encryptedSecrets`` in the
report and ``reportId`` in the status are additions to the SPEC's schemas.

Test hooks: ``fail_next(apply=1, message=...)``: the next real promotion applies only the
first ``apply`` changed items (sorted by id) then ends ``ERROR`` (no report, stays
locked, rollback restores); ``fail_next_lock(description)``: the next lock ends in
``result:"error"`` (unlockable). ``state``, ``promotion_id``, ``reports``,
``rollback_point`` for assertions.
"""

from __future__ import annotations

import copy
import datetime
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.support.http_standin import Request, Response

if TYPE_CHECKING:
    from tests.support.aic_standin import AicStandin

HELD = ("locking", "locked", "unlocking", "error")
NOT_LOCKED = "Environment is not in locked state"


def _stamp() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _conflict(message: str) -> Response:
    return Response(409, {"code": 409, "message": message, "status": "Conflict"})


def _not_found(message: str) -> Response:
    return Response(404, {"code": 404, "message": message, "status": "Not Found"})


@dataclass
class _Fault:
    apply: int
    message: str


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def encrypted_pointers(config_id: str, value: Any, pointer: str = "") -> list[str]:
    """``<config id>/<json pointer>`` of every ``$crypto`` object in ``value``."""
    if isinstance(value, dict):
        if "$crypto" in value:
            return [f"{config_id}{pointer}"]
        return [
            found
            for key, inner in value.items()
            for found in encrypted_pointers(config_id, inner, f"{pointer}/{_escape(key)}")
        ]
    if isinstance(value, list):
        return [
            found
            for index, inner in enumerate(value)
            for found in encrypted_pointers(config_id, inner, f"{pointer}/{index}")
        ]
    return []


def esv_references(value: Any) -> set[str]:
    """ESV ids a config uses without a ``|default``."""
    from tests.support.aic_standin import PLACEHOLDER

    if isinstance(value, dict):
        return {ref for inner in value.values() for ref in esv_references(inner)}
    if isinstance(value, list):
        return {ref for inner in value for ref in esv_references(inner)}
    if isinstance(value, str):
        return {
            m.group(1).replace(".", "-")
            for m in PLACEHOLDER.finditer(value)
            if m.group(1).startswith("esv.") and m.group(2) is None
        }
    return set()


def changed(source: dict[str, Any], target: dict[str, Any]) -> dict[str, str]:
    """id -> added / modified / deleted, turning ``target`` into ``source``."""
    kinds: dict[str, str] = {}
    for config_id in sorted(set(source) | set(target)):
        if config_id not in target:
            kinds[config_id] = "added"
        elif config_id not in source:
            kinds[config_id] = "deleted"
        elif source[config_id] != target[config_id]:
            kinds[config_id] = "modified"
    return kinds


def _describe(config_id: str) -> tuple[str, str, dict[str, str]]:
    """(AMConfig|IDMConfig, configItem, {name, uid[, realm]}) for a config id."""
    parts = config_id.split("/")
    if parts[0] == "am" and len(parts) >= 4:
        return "AMConfig", parts[2], {"name": parts[-1], "realm": f"/{parts[1]}", "uid": config_id}
    if config_id == "external.email":
        return "IDMConfig", "Email > Provider", {"name": config_id, "uid": config_id}
    if parts[0] == "emailTemplate":
        return "IDMConfig", "Email > Templates", {"name": parts[-1], "uid": config_id}
    return "IDMConfig", f"IDM > {parts[0]}", {"name": parts[-1], "uid": config_id}


def report_content(kinds: dict[str, str]) -> dict[str, Any]:
    content: dict[str, dict[str, dict[str, list[dict[str, str]]]]] = {}
    for config_id, kind in kinds.items():
        section, item, meta = _describe(config_id)
        change = content.setdefault(section, {}).setdefault(item, {})
        change.setdefault(kind, []).append(meta)
    return {
        section: [{"configItem": item, "configChange": change} for item, change in items.items()]
        for section, items in content.items()
    }


class Promotions:
    def __init__(self, env: AicStandin) -> None:
        self.env = env
        self.state = "unlocked"
        self.promotion_id = ""
        self.description = ""
        self.running = False
        self.reports: list[dict[str, Any]] = []
        self.started: list[dict[str, Any]] = []  # bodies of POST promote, in order
        self.rollback_point: dict[str, dict[str, Any]] | None = None
        self.ignored: set[str] = set()
        self._progress: dict[str, Any] = {}
        self._stamp = _stamp()
        self._fault: _Fault | None = None
        self._lock_fault: str | None = None

    # -- test hooks ------------------------------------------------------------------------

    def fail_next(
        self, *, apply: int = 1, message: str = "Promotion failed: Update configuration failed"
    ) -> None:
        with self.env.lock:
            self._fault = _Fault(apply, message)

    def fail_next_lock(self, description: str = "Lock failed on the lower environment") -> None:
        with self.env.lock:
            self._lock_fault = description

    def holds_lower(self) -> bool:
        """Whether this pair's lock holds its lower env (its config writes are refused)."""
        return self.state in HELD

    # -- routing ---------------------------------------------------------------------------

    def route(self, request: Request) -> Response:
        rest = request.path.removeprefix("/environment/promotion").strip("/")
        method = request.method
        with self.env.lock:
            if rest == "lock/state" and method == "GET":
                return self._lock_state(request.query.get("localLockOnly") == "true")
            if rest == "report/provisional" and method == "GET":
                return self._provisional()
            if self.env.lower is None:
                return _not_found("This environment has no lower environment to promote from")
            if rest == "lock" and method == "POST":
                return self._lock()
            if rest.startswith("lock/") and method == "DELETE":
                return self._unlock(rest.removeprefix("lock/"))
            if rest == "promote" and method == "GET":
                return Response(200, self._status())
            if rest == "promote" and method == "POST":
                return self._start(request)
            if rest == "rollback" and method == "POST":
                return self._start_rollback(request)
            if rest == "reports" and method == "GET":
                return Response(200, [self._meta(r) for r in self.reports])
            if rest == "report" and method == "GET":
                if not self.reports:
                    return _not_found("No promotion report found")
                return Response(200, copy.deepcopy(self.reports[-1]))
            if rest == "report/provisional-rollback" and method == "GET":
                return self._provisional_rollback()
            if rest.startswith("report/") and method == "GET":
                wanted = rest.removeprefix("report/")
                found = next((r for r in self.reports if r["reportId"] == wanted), None)
                if found is None:
                    return _not_found("report not found for given id")
                return Response(200, copy.deepcopy(found))
        return _not_found(f"No such promotion call: {method} {request.path}")

    # -- lock ------------------------------------------------------------------------------

    def _lock_state(self, local_only: bool) -> Response:
        pair = self
        if self.env.lower is None and self.env.upper is not None:
            pair = self.env.upper.promotions  # a lower env shows the pair it is the lower of
        side = {"promotionId": pair.promotion_id, "proxyState": pair.state, "state": pair.state}
        body: dict[str, Any] = {
            "description": pair.description,
            "promotionId": pair.promotion_id,
            "result": pair.state,
        }
        if not local_only:
            body["lowerEnv"], body["upperEnv"] = side, dict(side)
        return Response(200, body)

    def _lock(self) -> Response:
        if self.state != "unlocked":
            return Response(409, {"message": f"Environment is not unlocked: {self.state}"})
        lower, upper = self.env.lower, self.env.upper
        if lower is not None and lower.lower is not None and lower.promotions.state != "unlocked":
            return Response(409, {"message": "The lower environment is locked by a promotion"})
        if upper is not None and upper.promotions.state != "unlocked":
            return Response(409, {"message": "This environment is locked by a promotion"})
        self.state, self.promotion_id, self.description = "locking", str(uuid.uuid4()), ""
        self._set(status="READY", message="Environment ready for promotion", type="promotion")
        fault, self._lock_fault = self._lock_fault, None

        def finish() -> None:
            if fault is not None:
                self.state, self.description = "error", fault
            else:
                self.state = "locked"

        self.env.later(self.env.lock_seconds, finish)
        return Response(
            202,
            {
                "description": "Environment lock in progress",
                "promotionId": self.promotion_id,
                "result": "locking",
            },
        )

    def _unlock(self, promotion_id: str) -> Response:
        if (
            self.state not in ("locked", "error")
            or self.running
            or promotion_id != self.promotion_id
        ):
            return Response(409, {"message": NOT_LOCKED})
        self._begin_unlock()
        return Response(
            202,
            {
                "description": "Environment unlocking in progress",
                "promotionId": promotion_id,
                "result": "unlocking",
            },
        )

    def _begin_unlock(self) -> None:
        self.state = "unlocking"

        def finish() -> None:
            self.state, self.promotion_id, self.description = "unlocked", "", ""
            self._progress = {}

        self.env.later(self.env.lock_seconds, finish)

    # -- status ----------------------------------------------------------------------------

    def _set(self, **fields: Any) -> None:
        self._progress = {"blockingError": False, **fields}
        self._stamp = _stamp()

    def _status(self) -> dict[str, Any]:
        if self.state == "unlocked":
            return {
                "blockingError": False,
                "globalLock": "UNLOCKED",
                "message": "Environment unlocked",
                "status": "UNLOCKED",
                "timeStamp": self._stamp,
                "type": "promotion",
            }
        if self.state == "locked":
            body = {"globalLock": "LOCKED", **self._progress}
        else:
            message = {
                "locking": "Environment lock in progress",
                "unlocking": "Environment unlocking in progress",
                "error": self.description,
            }[self.state]
            body = {
                "blockingError": self.state == "error",
                "globalLock": self.state.upper(),
                "message": message,
                "status": self.state.upper(),
                "type": "promotion",
            }
        return {**body, "promotionId": self.promotion_id, "timeStamp": self._stamp}

    # -- promotion -------------------------------------------------------------------------

    def _can_start(self) -> Response | None:
        if self.state != "locked":
            return _conflict("Environment is not locked")
        if self.running:
            return _conflict("A promotion or rollback is already running")
        return None

    def _start(self, request: Request) -> Response:
        refused = self._can_start()
        if refused is not None:
            return refused
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("dryRun"), bool):
            return Response(
                400, {"code": 400, "message": "dryRun is required", "status": "Bad Request"}
            )
        dry_run = body["dryRun"]
        self.started.append(copy.deepcopy(body))  # the metadata each promotion was given
        lower = self.env.lower
        assert lower is not None
        source = copy.deepcopy(lower.configs)
        self.running = True
        message = "Dry run promotion in progress" if dry_run else "Update configuration"
        self._set(status="RUNNING", message=message, type="promotion")
        self.env.later(self.env.promotion_seconds, lambda: self._finish(body, source))
        return Response(202, {"result": "Promotion process initiated successfully"})

    def _analyse(
        self, source: dict[str, Any], target: dict[str, Any], *, ignore: bool
    ) -> tuple[dict[str, str], list[str], list[str], list[str]]:
        """(changes, missingESVs, encryptedSecrets, previouslyIgnoredEncryptedSecrets)."""
        kinds = changed(source, target)
        with_esvs = set(self.env.esvs.variables) | set(self.env.esvs.secrets)
        missing = sorted({ref for v in source.values() for ref in esv_references(v)} - with_esvs)
        encrypted = sorted(
            pointer
            for config_id, kind in kinds.items()
            if kind != "deleted"
            for pointer in encrypted_pointers(config_id, source[config_id])
        )
        present = {p for cid, v in source.items() for p in encrypted_pointers(cid, v)}
        previously = sorted(present & self.ignored)
        return kinds, missing, [] if ignore else encrypted, previously

    def _finish(self, body: dict[str, Any], source: dict[str, Any]) -> None:
        self.running = False
        dry_run, ignore = body["dryRun"], body.get("ignoreEncryptedSecrets") is True
        kinds, missing, encrypted, previously = self._analyse(
            source, self.env.configs, ignore=ignore
        )
        problems = {
            k: v for k, v in (("missingESVs", missing), ("encryptedSecrets", encrypted)) if v
        }
        blocking = bool(problems)
        if not dry_run and blocking:
            self._set(
                status="READY",
                message="Promotion blocked: missing ESVs or encrypted secrets",
                type="promotion",
                **problems,
            )
            self._progress["blockingError"] = True
            return
        if not dry_run:
            self.rollback_point = copy.deepcopy(self.env.configs)
            fault, self._fault = self._fault, None
            if fault is not None:
                for config_id in list(kinds)[: fault.apply]:
                    self._apply(config_id, source)
                self._set(status="ERROR", message=fault.message, type="promotion")
                self._progress["blockingError"] = True
                return
            for config_id in kinds:
                self._apply(config_id, source)
            if ignore:
                self.ignored |= {
                    p
                    for cid in kinds
                    if cid in source
                    for p in encrypted_pointers(cid, source[cid])
                }
        report = self._report(
            body,
            kinds,
            dry_run=dry_run,
            kind="promotion",
            lists={**problems, "previouslyIgnoredEncryptedSecrets": previously},
        )
        self.reports.append(report)
        done = "Dry run promotion completed" if dry_run else "Promotion completed"
        self._set(
            status="READY", message=done, type="promotion", reportId=report["reportId"], **problems
        )
        self._progress["blockingError"] = blocking
        if not dry_run and body.get("unlockEnvironmentsAfterPromotion") is True:
            self._begin_unlock()

    def _apply(self, config_id: str, source: dict[str, Any]) -> None:
        if config_id in source:
            self.env.configs[config_id] = copy.deepcopy(source[config_id])
        else:
            self.env.configs.pop(config_id, None)

    def _report(
        self,
        body: dict[str, Any],
        kinds: dict[str, str],
        *,
        dry_run: bool,
        kind: str,
        lists: dict[str, list[str]],
    ) -> dict[str, Any]:
        report_id = str(uuid.uuid4())
        now = datetime.datetime.now(datetime.UTC)
        report: dict[str, Any] = {
            "createdDate": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "dryRun": dry_run,
            **{name: values for name, values in lists.items() if values},
            "promoter": str(body.get("promoter", "")),
            "promotionDescription": str(body.get("promotionDescription", "")),
            "promotionId": self.promotion_id,
            "report": report_content(kinds),
            "reportId": report_id,
            "reportName": (
                f"Report_{now.strftime('%Y-%m-%dT%H-%M')}+00Z_"
                f"dryrun={'true' if dry_run else 'false'}_{report_id}"
            ),
            "type": kind,
        }
        return report

    @staticmethod
    def _meta(report: dict[str, Any]) -> dict[str, Any]:
        keys = ("createdDate", "dryRun", "promoter", "promotionId", "reportId", "type")
        return {key: report[key] for key in keys}

    def _provisional(self) -> Response:
        upper = self.env.upper
        if upper is None:
            return _not_found("This environment has no upper environment")
        kinds, missing, encrypted, previously = upper.promotions._analyse(
            self.env.configs, upper.configs, ignore=False
        )
        lists = {
            "missingESVs": missing,
            "encryptedSecrets": encrypted,
            "previouslyIgnoredEncryptedSecrets": previously,
        }
        body = {"promoter": "", "promotionDescription": "provisional"}
        return Response(
            200, upper.promotions._report(body, kinds, dry_run=True, kind="promotion", lists=lists)
        )

    # -- rollback --------------------------------------------------------------------------

    def _provisional_rollback(self) -> Response:
        if self.rollback_point is None:
            return _not_found("There is no promotion to roll back")
        kinds = changed(self.rollback_point, self.env.configs)
        body = {"promoter": "", "promotionDescription": "provisional rollback"}
        return Response(200, self._report(body, kinds, dry_run=True, kind="rollback", lists={}))

    def _start_rollback(self, request: Request) -> Response:
        refused = self._can_start()
        if refused is not None:
            return refused
        if self.rollback_point is None:
            return _conflict("There is no promotion to roll back")
        try:
            body = request.json()
        except ValueError:
            body = None
        body = body if isinstance(body, dict) else {}
        self.running = True
        self._set(status="RUNNING", message="Rollback in progress", type="rollback")

        def finish() -> None:
            self.running = False
            point = self.rollback_point
            assert point is not None
            kinds = changed(point, self.env.configs)
            self.env.configs = copy.deepcopy(point)
            self.rollback_point = None
            report = self._report(body, kinds, dry_run=False, kind="rollback", lists={})
            self.reports.append(report)
            self._set(
                status="READY",
                message="Rollback completed",
                type="rollback",
                reportId=report["reportId"],
            )
            if body.get("unlockEnvironmentsAfterPromotion") is True:
                self._begin_unlock()

        self.env.later(self.env.promotion_seconds, finish)
        return Response(202, {"result": "Rollback process initiated successfully"})
