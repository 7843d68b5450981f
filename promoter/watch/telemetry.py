"""What the watcher tells: JSON log lines, Prometheus metrics, and the health server."""

from __future__ import annotations

import errno
import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO

from promoter.errors import InputError
from promoter.watch.options import health_address
from promoter.watch.outcome import RESULTS


class JsonLog:
    def __init__(self, stream: TextIO, env: str) -> None:
        self.stream = stream
        self.env = env
        self.lock = threading.Lock()

    def __call__(self, level: str, event: str, message: str, **extra: Any) -> None:
        record = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "level": level,
            "env": self.env,
            "event": event,
            "message": message,
            **extra,
        }
        with self.lock:
            self.stream.write(json.dumps(record) + "\n")
            self.stream.flush()


class Metrics:
    """The watcher's Prometheus metrics, every series labelled with the environment.

    Each result of ``promoter_reloads_total`` is exported at 0 from the start, so an
    ``increase(...{result="refused"}[5m])`` alert sees the first failure; the
    ``process_*`` metrics (memory, CPU, open files) come from prometheus-client's
    process collector.
    """

    def __init__(self, env: str = "") -> None:
        # lazy: prometheus_client only for the commands that use it
        from prometheus_client import (
            CollectorRegistry,
            Counter,
            Gauge,
            Histogram,
            ProcessCollector,
        )

        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        labels = ["env"]
        counter = Counter(
            "promoter_reloads", "Reloads by result", ["env", "result"], registry=self.registry
        )
        for result in RESULTS:
            counter.labels(env=env, result=result)
        self._reloads = counter
        self.env = env
        self.last_success = Gauge(
            "promoter_last_reload_success",
            "1 if the last reload succeeded",
            labels,
            registry=self.registry,
        ).labels(env=env)
        self.last_success_time = Gauge(
            "promoter_last_success_timestamp_seconds",
            "Unix time of the last successful delivery",
            labels,
            registry=self.registry,
        ).labels(env=env)
        self.probe_seconds = Histogram(
            "promoter_probe_seconds", "Credential probe latency", labels, registry=self.registry
        ).labels(env=env)
        self.delivery_seconds = Histogram(
            "promoter_delivery_seconds",
            "Delivery + read-back latency",
            labels,
            registry=self.registry,
        ).labels(env=env)

    def reloaded(self, result: str) -> None:
        self._reloads.labels(env=self.env, result=result).inc()

    def render(self) -> bytes:
        # lazy: prometheus_client only for the commands that use it
        from prometheus_client import generate_latest

        data: bytes = generate_latest(self.registry)
        return data


Log = Callable[..., None]


def serve_health(
    address: str,
    *,
    ready: Callable[[], bool],
    metrics: Metrics,
    log: Log,
    source: str = "--health",
) -> Any:
    """Serve /healthz, /readyz and /metrics on ``address`` (HOST:PORT) in a daemon thread.

    An address that cannot be bound (in use, not local, no permission) is an input
    error (exit 2) naming ``source``: a supervisor restarting the daemon would only
    loop on it.
    """

    host, port = health_address(address, source=source)

    class Health(BaseHTTPRequestHandler):
        head = False

        def do_HEAD(self) -> None:  # noqa: N802
            self._answer(head=True)

        def do_GET(self) -> None:  # noqa: N802
            self._answer(head=False)

        def _answer(self, *, head: bool) -> None:
            self.head = head
            if self.path == "/healthz":
                self._send(200, b"ok\n", "text/plain")
            elif self.path == "/readyz":
                ok = ready()
                self._send(200 if ok else 503, b"ready\n" if ok else b"not ready\n", "text/plain")
            elif self.path == "/metrics":
                self._send(200, metrics.render(), "text/plain; version=0.0.4")
            else:
                self._send(404, b"not found\n", "text/plain")

        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not self.head:  # HEAD: the same status and headers, no body
                self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server_class = ThreadingHTTPServer
    if ":" in host:  # an IPv6 address: [::1]:9100

        class Server6(ThreadingHTTPServer):
            address_family = socket.AF_INET6

        server_class = Server6
    try:
        server = server_class((host, port), Health)
    except OSError as exc:
        why = "the address is in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise InputError(
            f"{source} {address}: cannot listen there: {why or type(exc).__name__}",
            hint="give each watcher its own port (--health HOST:PORT, or PROMOTER_HEALTH "
            "in the systemd instance's environment file)",
        ) from None
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    bound = server.server_address[1]
    shown = f"[{host}]" if ":" in host else host
    log("info", "health", f"serving /healthz /readyz /metrics on {shown}:{bound}")
    return server
