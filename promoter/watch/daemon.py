"""``promoter watch ENV``: hot-swap rotated credentials with no downtime.

Every filesystem event in the store directory (or its parent, for ``..data``
symlink swaps) means "re-check": after a debounce the environment is compiled
afresh, skipped if nothing changed, gated, its new credentials probed, then
delivered and read back, and recorded as the last known good. Any failure keeps
the last known good configuration, is logged as a JSON line (never a secret) and
counted, and is retried on the next change or the periodic resync.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from promoter.errors import InputError, PromoterError, TargetError

DEBOUNCE_CAP = 10  # a steady stream of events delays a reload by at most 10 debounces
MAX_DEBOUNCE_S = 60.0
MIN_RESYNC_S = 1.0


@dataclass(frozen=True, slots=True)
class WatchOptions:
    env: str
    debounce_s: float = 0.2
    resync_s: float = 300.0
    poll: bool = False
    health: str | None = None  # HOST:PORT
    ca_file: Path | None = None
    probe_patience_s: float = 30.0
    verify_to: str | None = None  # recipient of the test email that proves an AIC rotation


def check_options(options: WatchOptions) -> None:
    """Intervals that would make the daemon spin or never wake are usage errors (exit 2)."""
    bounds = (
        ("--debounce-ms", options.debounce_s * 1000, 0.0, MAX_DEBOUNCE_S * 1000),
        ("--resync-s", options.resync_s, MIN_RESYNC_S, 7 * 24 * 3600.0),
        ("--probe-patience-s", options.probe_patience_s, 0.0, 3600.0),
    )
    if options.health is not None:
        health_address(options.health)
    for flag, value, low, high in bounds:
        if not math.isfinite(value) or not low <= value <= high:
            raise InputError(
                f"{flag} must be between {low:g} and {high:g} (got {value:g})",
                hint="the defaults are --debounce-ms 200 --resync-s 300 --probe-patience-s 30",
            )


def health_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) with a port in 0..65535, or exit 2."""
    host, _, port = text.rpartition(":")
    if not (port.isascii() and port.isdigit() and len(port) <= 5 and int(port) <= 65535):
        raise InputError(
            f"--health must be HOST:PORT with a port from 0 to 65535 (got {text!r})",
            hint="e.g. --health 127.0.0.1:9100",
        )
    return host.strip("[]") or "127.0.0.1", int(port)


@dataclass(slots=True)
class Outcome:
    result: str  # success | unchanged | refused | probe-failed | delivery-failed | error
    message: str
    exit_code: int = 0


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
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        self.reloads = Counter(
            "promoter_reloads", "Reloads by result", ["result"], registry=self.registry
        )
        self.last_success = Gauge(
            "promoter_last_reload_success", "1 if the last reload succeeded", registry=self.registry
        )
        self.last_success_time = Gauge(
            "promoter_last_success_timestamp_seconds",
            "Unix time of the last successful delivery",
            registry=self.registry,
        )
        self.probe_seconds = Histogram(
            "promoter_probe_seconds", "Credential probe latency", registry=self.registry
        )
        self.delivery_seconds = Histogram(
            "promoter_delivery_seconds", "Delivery + read-back latency", registry=self.registry
        )

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        data: bytes = generate_latest(self.registry)
        return data


@dataclass
class Watcher:
    root: Path
    options: WatchOptions
    log: JsonLog
    metrics: Metrics = field(default_factory=Metrics)
    ready: bool = False
    last_good: str | None = None  # keyed digest of output + secret values; memory only
    last_output: str | None = None
    trigger: threading.Event = field(default_factory=threading.Event)
    stopping: threading.Event = field(default_factory=threading.Event)
    reload_project: bool = False
    store: Path = Path()
    store_identity: tuple[int, int] | None = None  # the directory the watches are armed on
    rotation: Any = None  # promoter.aic_rotation.Rotation, for an AIC target

    def reload(self) -> Outcome:
        """One full re-check; never raises."""
        try:
            outcome = self._reload()
        except Exception as exc:  # a handler bug must not kill the daemon
            outcome = Outcome("error", f"internal error ({type(exc).__name__})", 1)
        level = "info" if outcome.result in ("success", "unchanged") else "error"
        self.log(level, "reload", outcome.message, result=outcome.result)
        self.metrics.reloads.labels(result=outcome.result).inc()
        if outcome.result != "unchanged":
            self.metrics.last_success.set(1 if outcome.result == "success" else 0)
        return outcome

    def _reload(self) -> Outcome:
        from promoter.check.compiler import Compiler
        from promoter.mail.probe import probe
        from promoter.mail.send import VerifyError
        from promoter.project.load import AicTarget, load_project
        from promoter.targets.record import deliver_recorded

        try:
            compiled = Compiler(load_project(self.root)).compile(self.options.env)
        except PromoterError as exc:
            return Outcome("refused", f"cannot compile: {exc}", exc.exit_code)
        blocking = [f for f in compiled.findings if f.blocking]
        if blocking or compiled.text is None or compiled.output is None:
            first = blocking[0] if blocking else None
            where = f"{first.location}: " if first and first.location else ""
            detail = f"{where}{first.rule} {first.message}" if first else "invalid"
            return Outcome("refused", f"kept last known good: {detail}", 1)
        if isinstance(compiled.env.target, AicTarget):  # ESV versions: promoter.aic_rotation
            return self._rotate(compiled)
        digest = _state_digest(compiled.text, compiled.secret_values())
        if digest == self.last_good:
            return Outcome("unchanged", "no change")
        config = compiled.resolved_config()
        started = time.monotonic()
        try:
            proven = probe(
                config, ca_file=self.options.ca_file, patience_s=self.options.probe_patience_s
            )
        except VerifyError as exc:
            return Outcome("probe-failed", f"kept last known good: probe failed: {exc}", 1)
        finally:
            self.metrics.probe_seconds.observe(time.monotonic() - started)
        if compiled.env.render == "resolved" or compiled.text != self.last_output:
            started = time.monotonic()
            try:
                summary = deliver_recorded(self.root, compiled)
            except TargetError as exc:
                return Outcome("delivery-failed", f"kept last known good: {exc}", 3)
            finally:
                self.metrics.delivery_seconds.observe(time.monotonic() - started)
        else:
            summary = "references unchanged; IDM reads the store itself"
        self.last_good = digest
        self.last_output = compiled.text
        self.ready = True
        self.metrics.last_success_time.set(time.time())
        return Outcome("success", f"{proven}; {summary} (sha256 {compiled.sha256})")

    def _rotate(self, compiled: Any) -> Outcome:
        from promoter.watch.rotation import Rotation

        if self.rotation is None:
            self.rotation = Rotation(self.options.env, self.options.verify_to or "", self.log)
        outcome: Outcome = self.rotation.reload(compiled)
        if outcome.result == "success":
            self.ready = True
            self.metrics.last_success_time.set(time.time())
        return outcome

    # --- the loop -------------------------------------------------------------------------

    def run(self) -> int:
        self._signals()
        observer = self._observe()
        server = self._serve_health()
        self.log("info", "start", f"watching {self.options.env}")
        try:
            self.reload()
            while not self.stopping.is_set():
                fired = self.trigger.wait(self.options.resync_s)
                if self.stopping.is_set():
                    break
                if fired:
                    self._debounce()
                if self.reload_project or self._store_replaced():
                    self.reload_project = False
                    observer.stop()
                    observer = self._observe()  # re-armed on the directory now at the path
                self.reload()
        finally:
            observer.stop()
            if server is not None:
                server.shutdown()
                server.server_close()
        self.log("info", "stop", "stopped")
        return 0

    def _debounce(self) -> None:
        """Wait until events pause for one debounce, but never longer than DEBOUNCE_CAP of them."""
        deadline = time.monotonic() + self.options.debounce_s * DEBOUNCE_CAP
        while True:
            self.trigger.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if not self.trigger.wait(min(self.options.debounce_s, left)) or self.stopping.is_set():
                return

    def _store_replaced(self) -> bool:
        return _identity(self.store) != self.store_identity

    def _signals(self) -> None:
        def stop(*_: Any) -> None:
            self.stopping.set()
            self.trigger.set()

        def hup(*_: Any) -> None:
            self.reload_project = True
            self.trigger.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, hup)

    def _observe(self) -> Any:
        from watchdog.events import (
            EVENT_TYPE_CLOSED_NO_WRITE,
            EVENT_TYPE_OPENED,
            FileSystemEventHandler,
        )
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver

        from promoter.project.load import load_project

        store = load_project(self.root).env(self.options.env).store.directory
        self.store = store
        self.store_identity = _identity(store)
        watcher = self

        reads = {EVENT_TYPE_OPENED, EVENT_TYPE_CLOSED_NO_WRITE}  # our own reads make these

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                if event.event_type not in reads and _concerns_store(event, store):
                    watcher.trigger.set()

        observer = PollingObserver(timeout=0.1) if self.options.poll else Observer()
        for directory in {store, store.parent}:
            if directory.is_dir():
                observer.schedule(Handler(), str(directory), recursive=False)
        observer.start()
        return observer

    def _serve_health(self) -> Any:
        if not self.options.health:
            return None
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        host, port = health_address(self.options.health)
        watcher = self

        class Health(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path == "/healthz":
                    self._send(200, b"ok\n", "text/plain")
                elif self.path == "/readyz":
                    ok = watcher.ready
                    self._send(
                        200 if ok else 503, b"ready\n" if ok else b"not ready\n", "text/plain"
                    )
                elif self.path == "/metrics":
                    self._send(200, watcher.metrics.render(), "text/plain; version=0.0.4")
                else:
                    self._send(404, b"not found\n", "text/plain")

            def _send(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        server_class = ThreadingHTTPServer
        if ":" in host:  # an IPv6 address: [::1]:9100

            class Server6(ThreadingHTTPServer):
                address_family = socket.AF_INET6

            server_class = Server6
        server = server_class((host, port), Health)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        bound = server.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        self.log("info", "health", f"serving /healthz /readyz /metrics on {shown}:{bound}")
        return server


def _identity(directory: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(directory)
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


def _concerns_store(event: Any, store: Path) -> bool:
    """An event inside the store, or on the store directory itself (not on its siblings).

    The parent is watched only to see the store (or its ``..data`` link) swapped:
    a log file beside the store must not keep postponing a rotation.
    """
    for raw in (event.src_path, getattr(event, "dest_path", "")):
        if not raw:
            continue
        path = Path(os.fsdecode(raw))
        if path == store or path.parent == store:
            return True
    return False


def _check_target(root: Path, options: WatchOptions) -> None:
    from promoter.project.load import load_project
    from promoter.watch.rotation import check_recipient

    try:
        target = load_project(root).env(options.env).target
    except PromoterError:
        return  # reported by the first re-check, as before
    check_recipient(target, options.verify_to, options.env)


_DIGEST_KEY = os.urandom(32)  # per process: the digest is comparable only in memory


def _state_digest(text: str, secrets: list[str]) -> str:
    h = hmac.new(_DIGEST_KEY, text.encode(), hashlib.sha256)
    for value in secrets:
        h.update(b"\0" + value.encode())
    return h.hexdigest()


def run_watch(root: Path, options: WatchOptions, *, once: bool) -> int:
    check_options(options)
    _check_target(root, options)
    watcher = Watcher(root, options, JsonLog(sys.stderr, options.env))
    if once:
        return watcher.reload().exit_code
    return watcher.run()
