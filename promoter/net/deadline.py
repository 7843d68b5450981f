"""``timeout:`` bounds a whole request, not each read.

httpx's timeouts apply to each socket operation: a server that sends one byte every
second, with ``timeout: 2``, keeps a request alive forever. A :class:`BoundedClient`
gives every request (connect, TLS handshake, sending, the answer's headers and body) one
deadline: each socket operation may wait only for what is left of it, and an operation
that starts past it fails as httpx's own timeouts do (``ReadTimeout`` and friends), so
callers' retry rules are unchanged.

httpx has no public hook for this; the deadline is put into the connection pools' network
backend (httpcore's public ``NetworkBackend`` interface), which httpx keeps in private
attributes. ``_bound`` fails loudly if that layout changes, and the trickle tests in
tests/e2e/test_hostile_remote.py would fail too.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpcore
import httpx

SOCKET_OPTION = Any
T = TypeVar("T")


class Deadline:
    """The end of the current request, per thread (a client may be shared by threads)."""

    def __init__(self) -> None:
        self._local = threading.local()

    @contextmanager
    def within(self, seconds: float) -> Iterator[None]:
        outer = getattr(self._local, "end", None), getattr(self._local, "seconds", None)
        end = time.monotonic() + seconds
        if outer[0] is None or end < outer[0]:
            self._local.end, self._local.seconds = end, seconds
        try:
            yield
        finally:
            self._local.end, self._local.seconds = outer

    def left(self, timeout: float | None, expired: type[Exception]) -> float | None:
        """What a socket operation may wait: its own timeout, cut to the deadline."""
        end: float | None = getattr(self._local, "end", None)
        if end is None:
            return timeout
        remaining = end - time.monotonic()
        if remaining <= 0:
            raise expired(f"no complete answer within timeout: {self._local.seconds:g} s")
        return remaining if timeout is None else min(timeout, remaining)

    def bounded(
        self,
        operation: Callable[[float | None], T],
        timeout: float | None,
        expired: type[Exception],
    ) -> T:
        """``operation(wait)``; its own timeout, when the deadline cut it, says so."""
        try:
            return operation(self.left(timeout, expired))
        except expired:
            self.left(timeout, expired)  # raises the deadline's message if that was the cause
            raise


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadline: Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._deadline.bounded(
            lambda wait: self._inner.read(max_bytes, wait), timeout, httpcore.ReadTimeout
        )

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._deadline.bounded(
            lambda wait: self._inner.write(buffer, wait), timeout, httpcore.WriteTimeout
        )

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        left = self._deadline.left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, left), self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend, deadline: Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        left = self._deadline.left(timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_tcp(host, port, left, local_address, socket_options)
        return _Stream(stream, self._deadline)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        left = self._deadline.left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_unix_socket(path, left, socket_options), self._deadline)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _bound(client: httpx.Client, deadline: Deadline) -> None:
    """Every pool the client may use (direct, and a proxy from the environment) connects
    through a backend that honours ``deadline``."""
    transports = [client._transport, *client._mounts.values()]
    for transport in transports:
        if transport is None:
            continue
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if not isinstance(backend, httpcore.NetworkBackend):
            raise RuntimeError("httpx's transport layout changed: cannot bound requests")
        pool._network_backend = _Backend(backend, deadline)  # type: ignore[union-attr]


def timed_out(exc: Exception, seconds: float) -> str | None:
    """Words for an answer that did not come (whole) in time: our own words, nothing the
    server sent; ``None`` for any other error."""
    if isinstance(exc, httpx.ReadTimeout | httpx.WriteTimeout):
        return f"{type(exc).__name__}: no complete answer within timeout: {seconds:g} s"
    return None


class BoundedClient(httpx.Client):
    """An ``httpx.Client`` whose ``timeout`` (a number of seconds) bounds each whole
    request, answer body included; connecting alone may take at most 10 s of it."""

    def __init__(self, *, verify: ssl.SSLContext, timeout: float) -> None:
        super().__init__(verify=verify, timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)))
        self.total = timeout
        self._deadline = Deadline()
        _bound(self, self._deadline)

    def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        with self._deadline.within(self.total):
            return super().send(request, **kwargs)
