"""A stand-in that answers every request a byte at a time, forever: a status line, then
header after header, never the blank line that ends them. Each byte comes well within any
read timeout, so only a deadline on the whole request ends the wait."""

from __future__ import annotations

import socket
import threading
import time
from itertools import cycle


class TrickleStandin:
    def __init__(self, interval: float = 0.05, for_at_most: float = 60.0) -> None:
        self.interval = interval
        self.for_at_most = for_at_most  # then hang up: a test without a deadline fails, not hangs
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        self._listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        answer = b"HTTP/1.1 200 OK\r\n"
        header = b"X-Padding: " + b"a" * 40 + b"\r\n"
        with conn:
            try:
                conn.recv(65536)  # the request; its content does not matter
                for byte in (answer[i : i + 1] for i in range(len(answer))):
                    conn.sendall(byte)
                end = time.monotonic() + self.for_at_most
                for byte in cycle(header[i : i + 1] for i in range(len(header))):
                    if self._stop.wait(self.interval) or time.monotonic() > end:
                        return
                    conn.sendall(byte)
            except OSError:
                return  # the client gave up: what we want

    def __enter__(self) -> TrickleStandin:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._listener.close()
        self._thread.join(timeout=5)
