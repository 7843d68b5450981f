"""The repo lock between real processes: `deliver` and the watcher wait for it as `promote`
does, so neither writes a target or the repo's records while another promoter command does."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from promoter.cli.main import main
from tests.conftest import BIN, cli
from tests.e2e.test_verify import point_staging_at
from tests.support.smtp_standin import SmtpStandin

STAGING_OUT = Path("build/staging/conf/external.email.json")
LEDGER = Path("ledger/promotions.jsonl")
CANARY = "canary-lock-password-7d31c9"


@contextmanager
def lock_held(repo: Path, what: str = "") -> Iterator[subprocess.Popen[str]]:
    """Another process holding the repo lock until the block ends."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path\n"
            "from promoter.promotion.lock import repo_lock\n"
            "with repo_lock(Path(sys.argv[1]), wait=0, what=sys.argv[2]):\n"
            "    print('locked', flush=True); sys.stdin.readline()\n",
            str(repo),
            what,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield holder
    finally:
        holder.stdin.close()  # releases the lock
        holder.wait(10)
        holder.stdout.close()


def promoter(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(BIN / "promoter"), *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def state(repo: Path) -> tuple[bytes | None, bytes | None]:
    """What the target and the ledger hold."""
    out, ledger = repo / STAGING_OUT, repo / LEDGER
    return (
        out.read_bytes() if out.exists() else None,
        ledger.read_bytes() if ledger.exists() else None,
    )


def test_deliver_refuses_after_lock_wait_and_writes_nothing(example: Path) -> None:
    before = state(example)
    with lock_held(example, "promote dev staging") as holder:
        run = cli("deliver", "staging", "--lock-wait", "0.2", cwd=example)
        assert state(example) == before
    assert run.code == 1
    assert run.out == ""
    assert run.err.splitlines()[-1] == (
        f"error: another promoter command holds the repo lock (pid {holder.pid}: promote dev "
        "staging) (hint: wait for it, or check build/.promoter/lock; --lock-wait SECONDS)"
    )


def test_deliver_waits_for_the_lock_then_delivers(example: Path) -> None:
    before = state(example)
    with lock_held(example):
        waiting = promoter("deliver", "staging", "--lock-wait", "30", cwd=example)
        time.sleep(0.5)  # long enough for an unlocked deliver to have written
        assert waiting.poll() is None
        assert state(example) == before
    out, err = waiting.communicate(timeout=30)
    assert waiting.returncode == 0, err
    assert "wrote build/staging/conf/external.email.json" in out
    entry = json.loads((example / LEDGER).read_text().splitlines()[-1])
    assert (entry["action"], entry["env"]) == ("deliver", "staging")


def test_a_promotion_names_the_deliver_that_holds_the_lock(example: Path) -> None:
    with lock_held(example, "deliver staging") as holder:
        run = cli("promote", "dev", "staging", "--lock-wait", "0", cwd=example)
    assert run.code == 1
    assert f"(pid {holder.pid}: deliver staging)" in run.err


@pytest.mark.parametrize("value", ["nan", "-1", "inf", "soon"])
@pytest.mark.parametrize(
    "argv", [("deliver", "staging"), ("watch", "staging", "--once"), ("promote", "dev", "staging")]
)
def test_a_lock_wait_that_is_not_seconds_is_a_usage_error(
    example: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], value: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["-C", str(example), *argv, "--lock-wait", value])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"--lock-wait: must be seconds from 0 to 86400 (got '{value}')" in err, err
    assert not (example / "build/.promoter/lock").exists()


@pytest.fixture
def smtp(tls: Any) -> Iterator[SmtpStandin]:
    with SmtpStandin(tls, users={"idm-mailer": CANARY}) as standin:
        yield standin


def staging_for_the_watcher(repo: Path, smtp: SmtpStandin) -> None:
    point_staging_at(repo, smtp.port)
    (repo / "secrets/staging/idm.email.smtp.password").write_text(CANARY)


def reloads(err: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in err.splitlines() if '"reload"' in line]


@pytest.mark.slow  # two watcher runs and a probe against the SMTP stand-in
def test_the_watcher_waits_for_the_lock_before_it_delivers(
    example: Path, smtp: SmtpStandin, tls: Any
) -> None:
    staging_for_the_watcher(example, smtp)
    before = state(example)
    ca = ("--ca-file", str(tls.ca_file))
    with lock_held(example, "promote dev staging") as holder:
        busy = cli("watch", "staging", "--once", *ca, "--lock-wait", "0.2", cwd=example)
        assert state(example) == before
        waiting = promoter("watch", "staging", "--once", *ca, "--lock-wait", "30", cwd=example)
        time.sleep(0.8)  # long enough for an unlocked watcher to have probed and written
        assert waiting.poll() is None
        assert state(example) == before
    assert busy.code == 1, busy.err
    [record] = reloads(busy.err)
    assert record["result"] == "lock-busy"
    assert record["message"] == (
        "kept last known good: another promoter command holds the repo lock "
        f"(pid {holder.pid}: promote dev staging); waiting"
    )
    out, err = waiting.communicate(timeout=30)
    assert waiting.returncode == 0, err
    [record] = reloads(err)
    assert record["result"] == "success"
    assert state(example)[0] not in (None, before[0])  # delivered once the lock was free
    for text in (busy.out, busy.err, out, err):
        assert CANARY not in text


@pytest.mark.slow  # a watcher run with a probe against the SMTP stand-in (~2 s)
def test_a_busy_lock_keeps_the_watcher_from_writing(
    example: Path, smtp: SmtpStandin, tls: Any
) -> None:
    staging_for_the_watcher(example, smtp)
    before = state(example)
    with lock_held(example, "deliver staging"):
        run = cli(
            "watch",
            "staging",
            "--once",
            "--ca-file",
            str(tls.ca_file),
            "--lock-wait",
            "0",
            cwd=example,
        )
        assert state(example) == before
    assert run.code == 1, run.err
    [record] = reloads(run.err)
    assert record["result"] == "lock-busy"
    assert CANARY not in run.out + run.err
