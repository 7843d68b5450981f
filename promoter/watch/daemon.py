"""``promoter watch ENV``: hot-swap rotated credentials with no downtime.

Every filesystem event in the store directory (or its parent, for ``..data``
symlink swaps) means "re-check". A rename into place (the kubelet's ``..data``
swap, Vault Agent's or consul-template's rename, ``mv``) carries a complete file,
so it is re-checked at once; any other event (an in-place write: truncate, then
write) after a debounce, so a half-written file is not read. The environment is compiled
afresh, skipped if nothing changed, gated, its new credentials probed, then
delivered and read back, and recorded as the last known good. Any failure keeps
the last known good configuration, is logged as a JSON line (never a secret) and
counted, and is retried on the next change or the periodic resync.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promoter.check.compiler import Compiler
from promoter.errors import PromoterError, RefusedError, TargetError
from promoter.mail.message import VerifyError
from promoter.project.load import load_project
from promoter.project.types import AicTarget
from promoter.promotion.lock import repo_lock
from promoter.targets.record import deliver_recorded
from promoter.watch.digest import process_hmac
from promoter.watch.events import concerns_store, renamed_into_place
from promoter.watch.options import DEBOUNCE_CAP, WatchOptions, check_options, check_recipient
from promoter.watch.outcome import ReloadOutcome
from promoter.watch.rotation import Rotation
from promoter.watch.telemetry import JsonLog, Metrics, serve_health


@dataclass
class Watcher:
    root: Path
    options: WatchOptions
    log: JsonLog
    metrics: Metrics = field(init=False)
    ready: bool = False
    last_good: str | None = None  # keyed digest of output + secret values; memory only
    last_output: str | None = None
    trigger: threading.Event = field(default_factory=threading.Event)
    complete: threading.Event = field(default_factory=threading.Event)  # a rename into place
    stopping: threading.Event = field(default_factory=threading.Event)
    reload_project: bool = False
    store: Path = Path()
    store_identity: tuple[int, int] | None = None  # the directory the watches are armed on
    rotation: Any = None  # promoter.aic_rotation.Rotation, for an AIC target

    def __post_init__(self) -> None:
        self.metrics = Metrics(self.options.env)

    def reload(self) -> ReloadOutcome:
        """One full re-check; never raises."""
        started = time.monotonic()
        try:
            outcome = self._reload()
        except Exception as exc:  # a handler bug must not kill the daemon
            outcome = ReloadOutcome("error", f"internal error ({type(exc).__name__})", 1)
        took = round(time.monotonic() - started, 4)
        level = "info" if outcome.result in ("success", "unchanged") else "error"
        self.log(level, "reload", outcome.message, result=outcome.result, seconds=took)
        self.metrics.reloaded(outcome.result)
        if outcome.result != "unchanged":
            self.metrics.last_success.set(1 if outcome.result == "success" else 0)
        return outcome

    def _reload(self) -> ReloadOutcome:
        from promoter.mail.probe import probe  # lazy: loads pydantic, which check does not need

        try:
            compiled = Compiler(load_project(self.root)).compile(self.options.env)
        except PromoterError as exc:
            return ReloadOutcome("refused", f"cannot compile: {exc}", exc.exit_code)
        blocking = [f for f in compiled.findings if f.blocking]
        if blocking or compiled.text is None or compiled.output is None:
            first = blocking[0] if blocking else None
            where = f"{first.location}: " if first and first.location else ""
            detail = f"{where}{first.rule} {first.message}" if first else "invalid"
            return ReloadOutcome("refused", f"kept last known good: {detail}", 1)
        if isinstance(compiled.env.target, AicTarget):  # ESV versions: promoter.aic_rotation
            return self._rotate(compiled)
        digest = _state_digest(compiled.text, compiled.secret_values())
        if digest == self.last_good:
            return ReloadOutcome("unchanged", "no change")
        config = compiled.resolved_config()
        started = time.monotonic()
        try:
            proven = probe(
                config, ca_file=self.options.ca_file, patience_s=self.options.probe_patience_s
            )
        except VerifyError as exc:
            return ReloadOutcome("probe-failed", f"kept last known good: probe failed: {exc}", 1)
        finally:
            self.metrics.probe_seconds.observe(time.monotonic() - started)
        if compiled.env.render == "resolved" or compiled.text != self.last_output:
            with contextlib.ExitStack() as held:
                busy = self._lock(held)
                if busy is not None:
                    return busy
                # a promotion may have changed the repo while the probe ran: deliver only
                # what was probed, and re-check at once otherwise
                again = Compiler(load_project(self.root)).compile(self.options.env)
                if again.text is None or _state_digest(again.text, again.secret_values()) != digest:
                    self.trigger.set()
                    return ReloadOutcome(
                        "changed",
                        "kept last known good: the repo changed during the probe; re-checking",
                        1,
                    )
                started = time.monotonic()
                try:
                    summary = deliver_recorded(self.root, compiled)
                except TargetError as exc:
                    return ReloadOutcome("delivery-failed", f"kept last known good: {exc}", 3)
                finally:
                    self.metrics.delivery_seconds.observe(time.monotonic() - started)
        else:
            summary = "references unchanged; IDM reads the store itself"
        self.last_good = digest
        self.last_output = compiled.text
        self.ready = True
        self.metrics.last_success_time.set(time.time())
        return ReloadOutcome("success", f"{proven}; {summary} (sha256 {compiled.sha256})")

    def _lock(self, held: contextlib.ExitStack) -> ReloadOutcome | None:
        """Take the repo lock into ``held`` (waiting up to --lock-wait), or say it is busy.

        Busy is retried at once: the watcher keeps waiting, a --lock-wait at a time.
        """
        what = f"watch {self.options.env}"
        try:
            held.enter_context(repo_lock(self.root, wait=self.options.lock_wait, what=what))
        except RefusedError as exc:
            self.trigger.set()
            return ReloadOutcome("lock-busy", f"kept last known good: {exc.message}; waiting", 1)
        return None

    def _rotate(self, compiled: Any) -> ReloadOutcome:

        if self.rotation is None:
            self.rotation = Rotation(self.options.env, self.options.verify_to or "", self.log)
        with contextlib.ExitStack() as held:  # the tenant is written: under the repo lock
            busy = self._lock(held)
            if busy is not None:
                return busy
            outcome: ReloadOutcome = self.rotation.reload(compiled)
        if outcome.result == "success":
            self.ready = True
            self.metrics.last_success_time.set(time.time())
        return outcome

    # --- the loop -------------------------------------------------------------------------

    def run(self) -> int:
        self._signals()
        server = self._serve_health()  # first: an address in use stops the start cleanly
        observer = self._observe()
        self.log("info", "start", f"watching {self.options.env}")
        try:
            self.reload()
            # What the first re-check loaded (modules, schemas, clients) lives as long as the
            # daemon: out of the collector's sight, a collection stays short (rotation latency).
            gc.freeze()
            while not self.stopping.is_set():
                fired = self.trigger.wait(self.options.resync_s)
                if self.stopping.is_set():
                    break
                if fired:
                    self._debounce()
                if self.complete.is_set():  # events from here on start a new wait
                    self.complete.clear()
                    self.trigger.clear()
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
        """Wait until events pause for one debounce, but never longer than DEBOUNCE_CAP of them;
        a rename into place ends the wait: what it brought is complete."""
        deadline = time.monotonic() + self.options.debounce_s * DEBOUNCE_CAP
        while not self.complete.is_set():
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
        )  # lazy: watchdog only for the commands that use it
        from watchdog.observers import Observer  # lazy: watchdog only for the commands that use it

        # lazy: watchdog only for the commands that use it
        from watchdog.observers.polling import PollingObserver

        store = load_project(self.root).env(self.options.env).store.directory
        self.store = store
        self.store_identity = _identity(store)
        watcher = self

        reads = {EVENT_TYPE_OPENED, EVENT_TYPE_CLOSED_NO_WRITE}  # our own reads make these

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                if event.event_type not in reads and concerns_store(event, store):
                    if renamed_into_place(event, store):
                        watcher.complete.set()
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
        return serve_health(
            self.options.health,
            ready=lambda: self.ready,
            metrics=self.metrics,
            log=self.log,
            source=self.options.health_from,
        )


def _identity(directory: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(directory)
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


def _check_target(root: Path, options: WatchOptions) -> None:

    try:
        target = load_project(root).env(options.env).target
    except PromoterError:
        return  # reported by the first re-check, as before
    check_recipient(target, options.verify_to, options.env)


def _state_digest(text: str, secrets: list[str]) -> str:
    h = process_hmac()
    h.update(text.encode())
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
