"""``GET /environment/info``: the tenant says whether its static config is mutable.

The tenant is the authority on its own mutability (not its place in ``order``). The
answer is kept for the run, per tenant URL: a run asks each tenant once.
"""

from __future__ import annotations

from promoter.errors import TargetError
from promoter.targets.aic_session import PROMOTION_READ, AicSession

_ANSWERS: dict[str, bool] = {}


class InfoEndpoints(AicSession):
    def immutable(self) -> bool:
        """True when the tenant's static config changes only by promotion (or a session)."""
        url = self.target.url
        if url in _ANSWERS:
            return _ANSWERS[url]
        step = "read the environment info"
        body = self._json(
            self._call("GET", "/environment/info", step=step, headers=PROMOTION_READ), step
        )
        value = body.get("immutable") if isinstance(body, dict) else None
        if not isinstance(value, bool):
            raise TargetError(
                f"{step} on {self.label}: {url} answered without a true/false 'immutable'"
            )
        _ANSWERS[url] = value
        return value


def forget() -> None:
    """Drop the answers kept for this run (a long-running watcher asks again)."""
    _ANSWERS.clear()
