"""Self-service promotions of the AIC tenant stand-in (being written: answers 501 for now)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.support.http_standin import Request, Response

if TYPE_CHECKING:
    from tests.support.aic_standin import AicStandin


class Promotions:
    def __init__(self, env: AicStandin) -> None:
        self.env = env

    def holds_lower(self) -> bool:
        return False

    def route(self, request: Request) -> Response:
        return Response(501, {"code": 501, "message": "not implemented yet"})
