"""Run `promoter watch` as a real daemon process and drive the world around it."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.support.smtp_standin import free_port


class Daemon:
    def __init__(
        self,
        repo: Path,
        env: str,
        *args: str,
        environ: dict[str, str] | None = None,
        health_host: str = "127.0.0.1",
    ):
        self.health = free_port()
        address = f"[{health_host}]" if ":" in health_host else health_host
        self.health_url = f"http://{address}:{self.health}"
        command = [
            sys.executable,
            "-m",
            "promoter",
            "watch",
            env,
            "--debounce-ms",
            "50",
            "--health",
            f"{address}:{self.health}",
            *args,
        ]
        self.proc = subprocess.Popen(
            command,
            cwd=repo,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(environ or {})},
        )
        self.lines: list[str] = []
        self.stdout = ""  # read by stop()
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._lock:
                self.lines.append(line)

    def logs(self) -> list[dict[str, Any]]:
        with self._lock:
            lines = list(self.lines)
        return [json.loads(line) for line in lines if line.startswith("{")]

    def raw_logs(self) -> str:
        with self._lock:
            return "".join(self.lines)

    def wait_log(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 15.0, after: int = 0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for record in self.logs()[after:]:
                if predicate(record):
                    return record
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"no such log line; logs: {self.raw_logs()[-3000:]}")

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"{self.health_url}{path}", timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
        except OSError:
            return 0, ""

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.get("/readyz")[0] == 200:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"watcher never ready; logs: {self.raw_logs()[-3000:]}")

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def stop(self, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self._reader.join(timeout=5)
            if self.proc.stdout is not None and not self.proc.stdout.closed:
                self.stdout += self.proc.stdout.read()  # the daemon's stdout, for canary tests
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream is not None:
                    stream.close()
        return code


class Sender:
    """Sends mail through the IDM stand-in continuously and counts failures."""

    def __init__(
        self, idm_base: str, token: str, rate_per_s: float = 50.0, workers: int = 4
    ) -> None:
        self.url = f"{idm_base}/external/email"
        self.headers = {"Authorization": f"Bearer {token}", "Accept-API-Version": "resource=1.0"}
        self.interval = workers / rate_per_s  # each worker sends its share of the rate
        self.sent = 0
        self.failed: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(workers)]

    def _run(self) -> None:
        with httpx.Client(timeout=10) as client:
            due = time.monotonic()
            first = True  # under load a worker may start after stop(): it still sends once
            while first or not self._stop.is_set():
                first = False
                try:
                    answer = client.post(
                        self.url,
                        params={"_action": "send"},
                        headers=self.headers,
                        json={
                            "to": "user@example.com",
                            "subject": "s",
                            "body": "b",
                            "type": "text/plain",
                        },
                    )
                    with self._lock:
                        if answer.status_code == 200:
                            self.sent += 1
                        else:
                            self.failed.append(f"{answer.status_code} {answer.text[:200]}")
                except httpx.HTTPError as exc:
                    with self._lock:
                        self.failed.append(type(exc).__name__)
                due += self.interval  # a fixed schedule: the rate holds while sends are fast
                self._stop.wait(max(0.0, due - time.monotonic()))

    def __enter__(self) -> Sender:
        self.started = time.monotonic()
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)
        self.elapsed = time.monotonic() - self.started

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed if getattr(self, "elapsed", 0) else 0.0


def replace_file(path: Path, text: str) -> None:
    """Write a new version beside it and rename it into place (Vault Agent, editors)."""
    tmp = path.with_name(f".{path.name}.new")
    tmp.write_text(text)
    os.replace(tmp, path)


_stamps = itertools.count(1)


def atomic_writer_update(
    volume: Path, files: dict[str, str], *, cleanup: bool = True
) -> Path | None:
    """Update a Secret volume the kubelet's way (pkg/volume/util/atomic_writer.go).

    1. the payload goes into a fresh timestamped directory ``..YYYY_MM_DD_hh_mm_ss.N``;
    2. ``..data_tmp`` links to it; 3. ``..data_tmp`` is renamed over ``..data``;
    4. each user-visible name links to ``..data/<name>`` (made once; a plain file there
    is replaced); 5. the previous timestamped directory is removed (with ``cleanup``;
    else it is returned, for the caller to remove later).
    """
    stamp = volume / time.strftime(f"..%Y_%m_%d_%H_%M_%S.{os.getpid()}{next(_stamps):06d}")
    stamp.mkdir()
    for name, text in files.items():
        (stamp / name).write_text(text)
    data = volume / "..data"
    old = os.readlink(data) if data.is_symlink() else None
    (volume / "..data_tmp").symlink_to(stamp.name)
    os.replace(volume / "..data_tmp", data)
    for name in files:
        visible = volume / name
        if not visible.is_symlink():
            if visible.exists():
                visible.unlink()
            visible.symlink_to(f"..data/{name}")
    if old is None:
        return None
    if cleanup:
        shutil.rmtree(volume / old)
    return volume / old


def wait_until(check: Callable[[], bool], timeout: float = 15.0, what: str = "condition") -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")
