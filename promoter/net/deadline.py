"""A bound on a whole HTTP request, not on each read.

httpx's timeouts apply to each socket operation: a server that trickles its answer a
byte at a time, each byte inside the read timeout, keeps a request going for ever. A
``Deadline`` learns the sockets its client opens (httpx's ``trace`` extension) and, when
a request has not finished within ``seconds``, shuts them down: the blocked read returns
at once, httpx raises a transport error, and ``expired`` tells the caller why.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpx ``extensions={"trace": ...}``: remember each socket a connection opens."""
        if event == "connection.connect_tcp.complete":
            stream = info.get("return_value")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if isinstance(sock, socket.socket):
                with self._lock:
                    self._sockets.append(sock)

    @contextmanager
    def running(self) -> Iterator[None]:
        """Cut the connections if the block has not finished within ``seconds``."""
        self.expired = False
        timer = threading.Timer(self.seconds, self._cut)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()

    def explain(self, said: str, exc: BaseException) -> str:
        """What to say of a transport error: the bound, when it was the cut (a timeout of
        httpx's own says itself); otherwise ``said``."""
        import httpx  # lazy: only the commands that send requests build a Deadline

        if self.expired and not isinstance(exc, httpx.TimeoutException):
            return f"no complete answer within timeout: {self.seconds:g} s"
        return said

    def _cut(self) -> None:
        self.expired = True
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed
