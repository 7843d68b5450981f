"""A tiny threaded HTTP server base for the REST stand-ins, with injectable faults."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-able, or bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Fault:
    status: int
    count: int
    body: Any
    headers: dict[str, str]
    delay: float = 0.0


class HttpStandin:
    """Subclasses implement ``route(request) -> Response``."""

    def __init__(self, tls_context: ssl.SSLContext | None = None) -> None:
        self.lock = threading.RLock()
        self._faults: list[_Fault] = []
        self.seen: list[tuple[str, str, int]] = []  # (method, path, status): no header values
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else each keep-alive answer waits ~40 ms

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                request = Request(
                    self.command, parts.path, query, self.headers, self.rfile.read(length)
                )
                response = standin._dispatch(request)
                body = response.body
                raw = (
                    body
                    if isinstance(body, bytes)
                    else (b"" if body is None else json.dumps(body).encode())
                )
                self.send_response(response.status)
                if raw and not isinstance(body, bytes):
                    self.send_header("Content-Type", "application/json")
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_PUT = do_POST = do_DELETE = _serve  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls_context is not None:
            self.server.socket = tls_context.wrap_socket(self.server.socket, server_side=True)
        self.port: int = self.server.server_address[1]
        scheme = "https" if tls_context is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def fail_next(
        self,
        status: int,
        count: int = 1,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
    ) -> None:
        with self.lock:
            self._faults.append(_Fault(status, count, body, dict(headers or {}), delay))

    def delay_next(self, seconds: float, count: int = 1) -> None:
        self.fail_next(0, count, delay=seconds)

    def _dispatch(self, request: Request) -> Response:
        with self.lock:
            fault = self._faults[0] if self._faults else None
            if fault is not None:
                fault.count -= 1
                if fault.count <= 0:
                    self._faults.pop(0)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.status:
            response = Response(fault.status, fault.body, fault.headers)
        else:
            response = self.route(request)
        with self.lock:
            self.seen.append((request.method, request.path, response.status))
        return response

    def route(self, request: Request) -> Response:
        raise NotImplementedError

    def __enter__(self) -> HttpStandin:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
