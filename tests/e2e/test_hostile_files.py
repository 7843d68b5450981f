"""Hostile files: a store entry swapped for a symlink while it is read, FIFOs, devices and
sparse giants as secrets or overlays. Nothing escapes the store, nothing hangs (each CLI
run has a time bound: a hang fails the run, it is not measured), nothing is read whole."""

from __future__ import annotations

import contextlib
import json
import os
import random
import resource
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from promoter.compile.secretstore import SecretLookupError, SecretStore
from promoter.project.types import StoreSpec
from tests.conftest import write

OUTSIDE = "Canary-outside-the-store-5Tb"
PW = "secrets/staging/idm.email.smtp.password"
CREDS = "secrets/prod/idm.email.msgraph.credentials"
STAGING = "environments/staging.yaml"
RUNS = 300
TIMEOUT_S = 30  # a bound, not a measurement: a FIFO that blocks never returns at all


class Swapper:
    """Renames a regular file and a symlink to ``outside`` over ``name`` in a tight loop,
    and (with ``data``) a directory link between an inside and an outside directory."""

    def __init__(self, store: Path, outside: Path) -> None:
        self.store = store
        self.stop = threading.Event()
        self.swaps = 0
        write(store / "inside/pw", "inside-value")
        write(outside / "pw", OUTSIDE)
        write(store / "pw", "inside-value")
        os.symlink("inside", store / "..data")
        self.thread = threading.Thread(target=self._run, args=(outside,), daemon=True)

    def _run(self, outside: Path) -> None:
        file_tmp, link_tmp = self.store / ".pw.file", self.store / ".pw.link"
        data_in, data_out = self.store / ".data.in", self.store / ".data.out"
        while not self.stop.is_set():  # half the time inside, half the time leading out
            write(file_tmp, "inside-value")
            os.replace(file_tmp, self.store / "pw")
            os.symlink("inside", data_in)
            os.replace(data_in, self.store / "..data")
            time.sleep(0.0005)
            os.symlink(outside / "pw", link_tmp)
            os.replace(link_tmp, self.store / "pw")
            os.symlink(outside, data_out)
            os.replace(data_out, self.store / "..data")
            time.sleep(0.0005)
            self.swaps += 1

    def __enter__(self) -> Swapper:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


@pytest.mark.parametrize("name", ["pw", "via-data"])
def test_a_symlink_swapped_in_while_reading_never_escapes(tmp_path: Path, name: str) -> None:
    store_dir, outside = tmp_path / "store", tmp_path / "outside"
    store_dir.mkdir()
    os.symlink("..data/pw", store_dir / "via-data")  # the Kubernetes layout
    outcomes: dict[str, int] = {}
    with Swapper(store_dir, outside) as swapper:
        for _ in range(RUNS):
            try:
                value = SecretStore(StoreSpec(store_dir, "store")).lookup(name, None)[0]
                outcome = "inside" if value == "inside-value" else f"ESCAPED: {value}"
            except SecretLookupError as exc:  # any other exception fails the test
                outcome = str(exc)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert swapper.swaps > 0
    assert not [o for o in outcomes if o.startswith("ESCAPED")], outcomes
    assert set(outcomes) <= {"inside", f"secret '{name}' is a link that leaves the store"}
    assert outcomes.get("inside", 0) > 0, outcomes  # both outcomes were really exercised


def test_links_that_stay_inside_are_followed(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    write(store_dir / "..2026_01_01/pw", "k8s-value")
    os.symlink("..2026_01_01", store_dir / "..data")
    os.symlink("..data/pw", store_dir / "pw")
    os.symlink(store_dir.resolve() / "..data/pw", store_dir / "absolute")
    os.symlink("sub/../..data/pw", store_dir / "dotted")
    (store_dir / "sub").mkdir()
    os.symlink("../../outside", store_dir / "climbs")
    for name in ("pw", "absolute", "dotted"):
        assert SecretStore(StoreSpec(store_dir, "s")).lookup(name, None)[0] == "k8s-value"
    with pytest.raises(SecretLookupError, match="'climbs' is a link that leaves the store"):
        SecretStore(StoreSpec(store_dir, "s")).lookup("climbs", None)


MEMORY_BOUND = 1024 * 1024 * 1024  # address space: a 1.5 GB file read whole does not fit


def check(repo: Path, *args: str) -> tuple[int, str]:
    """The CLI in a subprocess with a time bound and an address-space bound."""

    def bound() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BOUND, MEMORY_BOUND))

    proc = subprocess.run(
        [sys.executable, "-m", "promoter", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        preexec_fn=bound,
        env={**os.environ, "PYTHONFAULTHANDLER": ""},
    )
    assert "Traceback" not in proc.stderr
    return proc.returncode, proc.stdout + proc.stderr


def test_a_fifo_as_secret_is_refused_without_waiting(example: Path) -> None:
    (example / PW).unlink()
    os.mkfifo(example / PW)
    code, out = check(example, "check", "staging")
    assert code == 1
    assert "EMAIL009 secret 'idm.email.smtp.password' is not a regular file" in out


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "sparse"])
def test_an_overlay_that_is_not_a_small_regular_file(example: Path, kind: str) -> None:
    overlay = example / STAGING
    overlay.unlink()
    if kind == "fifo":
        os.mkfifo(overlay)
    elif kind == "dev-zero":
        overlay.symlink_to("/dev/zero")
    else:
        with overlay.open("wb") as handle:
            handle.truncate(1536 * 1024 * 1024)  # sparse: 1.5 GB long, no blocks used
    expected = "file is larger than 1 MiB" if kind == "sparse" else "not a regular file"
    for args in (("check", "staging"), ("compile", "staging", "-o", "build/x.json")):
        code, out = check(example, *args)
        assert code == 2, out
        assert f"{STAGING}: {expected}" in out
    assert not (example / "build/x.json").exists()


def test_a_sparse_secret_is_refused_by_size(example: Path) -> None:
    with (example / PW).open("wb") as handle:
        handle.truncate(1536 * 1024 * 1024)
    code, out = check(example, "check", "staging")
    assert code == 1
    assert "secret 'idm.email.smtp.password' is larger than 64 KiB" in out


def test_a_pointer_that_does_not_resolve_never_lists_the_keys(example: Path) -> None:
    pasted = "Canary-key-that-is-a-value-3Jv"
    write(example / CREDS, json.dumps({"clientId": "id", pasted: "x"}))
    code, out = check(example, "check", "prod")
    assert code == 1
    assert "jsonPointer 'clientSecret' does not resolve" in out
    assert pasted not in out and "fields present" not in out


# --- temporary files: 0600 at open, unique, orphans cleaned ---------------------------------

WRITER = """
import os, sys
from pathlib import Path
from promoter.targets.file import write_atomic
os.umask(0)  # the mode must come from the open itself, not from a friendly umask
path = Path(sys.argv[1])
print("ready", flush=True)
for i in range(int(sys.argv[2])):
    write_atomic(path, ("secret-%d " % i) * 5000, secret=True)
"""


def writer(path: Path, count: int, *, quiet: bool = False) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(count)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL if quiet else subprocess.PIPE,
        text=True,
    )


def modes(directory: Path) -> dict[str, int]:
    found = {}
    for name in os.listdir(directory):
        with contextlib.suppress(FileNotFoundError):
            found[name] = stat.S_IMODE(os.lstat(directory / name).st_mode)
    return found


def test_parallel_writers_never_collide(tmp_path: Path) -> None:
    out = tmp_path / "external.email.json"
    procs = [writer(out, 150) for _ in range(3)]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    results = [(p.returncode, err) for p, err in zip(procs, errors, strict=True)]
    assert results == [(0, "")] * 3
    assert modes(tmp_path) == {out.name: 0o600, f"{out.name}.bak": 0o600}


def test_a_writer_killed_anywhere_leaves_nothing_readable_and_no_orphans(tmp_path: Path) -> None:
    out = tmp_path / "external.email.json"
    from promoter.files.atomic import write_atomic

    write_atomic(out, "first", secret=True)
    rng = random.Random(12)
    seen_temp = 0
    for _ in range(60):
        proc = writer(out, 10_000, quiet=True)
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        time.sleep(rng.uniform(0.0, 0.05))  # kills it somewhere in its writes
        proc.kill()
        proc.communicate()
        found = modes(tmp_path)
        assert set(found.values()) <= {0o600}, found
        seen_temp += any(name.endswith(".tmp") for name in found)
    write_atomic(out, "final", secret=True)
    assert modes(tmp_path) == {out.name: 0o600, f"{out.name}.bak": 0o600}
    assert out.read_text() == "final"
    assert seen_temp > 0  # some kills really hit a write in progress


def test_a_write_removes_only_its_own_dead_temporary_files(tmp_path: Path) -> None:
    """Writing ``out`` must not delete a live writer's temp of ``out.json`` (the pid was read
    as 'json') nor a promotion's staged file that its journal will rename."""
    import os

    from promoter.files.atomic import write_atomic

    live = tmp_path / f".out.json.{os.getpid()}.0123456789ab.tmp"
    staged = tmp_path / ".out.json.txn-abc123def456.tmp"
    dead = tmp_path / ".out.999999999.0123456789ab.tmp"
    for path in (live, staged, dead):
        path.write_text("x")
    write_atomic(tmp_path / "out", "new\n", secret=False)
    write_atomic(tmp_path / "out.json", "{}\n", secret=False)
    assert live.exists() and staged.exists()
    assert not dead.exists()
    assert (tmp_path / "out").read_text() == "new\n"
