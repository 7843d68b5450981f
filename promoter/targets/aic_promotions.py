"""AIC's promotion endpoints, on the upper tenant: lock, promote, rollback, reports."""

from __future__ import annotations

from typing import Any

from promoter.errors import TargetError
from promoter.targets.aic_session import PROMOTION_READ, PROMOTION_WRITE, AicSession
from promoter.untrusted import scrub


class PromotionEndpoints(AicSession):
    def lock_state(self) -> dict[str, Any]:
        step = "read the promotion lock"
        body = self.status_read(
            "/environment/promotion/lock/state", step=step, headers=PROMOTION_READ
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
        body = self.status_read("/environment/promotion/promote", step=step, headers=PROMOTION_READ)
        return body if isinstance(body, dict) else {}

    def promote(
        self, *, dry_run: bool, description: str, promoter: str, ticket: str | None = None
    ) -> dict[str, Any]:
        """Start a (dry-run) promotion and poll it to the end; the final status."""
        before = self.status()
        body: dict[str, Any] = {
            "dryRun": dry_run,
            "promoter": promoter,
            "promotionDescription": description,
            "unlockEnvironmentsAfterPromotion": False,
        }
        if ticket:
            body["zendeskTicketReference"] = ticket
        self._call(
            "POST",
            "/environment/promotion/promote",
            step="dry-run promotion" if dry_run else "promotion",
            ok=(200, 202),
            json=body,
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


def _same_run(status: dict[str, Any], before: dict[str, Any]) -> bool:
    keys = ("status", "message", "timeStamp", "reportId", "promotionId")
    return all(status.get(key) == before.get(key) for key in keys)
