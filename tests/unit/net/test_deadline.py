"""BoundedClient: ``timeout`` bounds the whole request, whatever the server trickles."""

from __future__ import annotations

import httpx
import pytest

from promoter.net.deadline import BoundedClient
from promoter.net.tls import client_context
from tests.support.trickle_standin import TrickleStandin


def test_a_trickled_answer_ends_at_the_deadline() -> None:
    # without the deadline the stand-in hangs up after 10 s: RemoteProtocolError, not this
    with TrickleStandin(interval=0.02, for_at_most=10) as server:
        with BoundedClient(verify=client_context(None), timeout=0.3) as client:
            with pytest.raises(
                httpx.ReadTimeout, match=r"no complete answer within timeout: 0.3 s"
            ):
                client.get(server.url + "/")


def test_proxies_from_the_environment_are_bounded_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    with BoundedClient(verify=client_context(None), timeout=1) as client:
        mounted = [t for t in client._mounts.values() if t is not None]
    assert mounted
    assert all(type(t._pool._network_backend).__name__ == "_Backend" for t in mounted)  # type: ignore[attr-defined]
