"""A FIFO where promoter keeps its state (pins, ledger, journal, caches, records, the git
hook): every command answers at once, as it does for an overlay or a secret. Each of these
waited for a writer that never came. Each run has test_hostile_files' time bound."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import cli
from tests.e2e.test_hostile_files import check

PIN = "environments/staging.pin.yaml"
LEDGER = "ledger/promotions.jsonl"
OUTPUT = "build/staging/conf/external.email.json"
RECORD = "build/.promoter/records/build~staging~conf~external.email.json.secret-pointers.json"
DRY_RUN = ("promote", "dev", "staging", "--dry-run")

CASES = [
    # (what is a FIFO, the command, its exit code, what it says)
    (PIN, DRY_RUN, 0, "dry run, nothing written"),
    ("build/.promoter/check-cache.json", ("check",), 0, "3 environments checked: 3 ok, 0 not"),
    (LEDGER, ("history", "staging"), 2, f"error: {LEDGER}: cannot read: not a regular file"),
    (LEDGER, ("rollback", "staging"), 2, f"error: {LEDGER}: cannot read: not a regular file"),
    (
        "build/.promoter/journal.json",
        ("promote", "dev", "staging"),
        2,
        "error: build/.promoter/journal.json: cannot read: not a regular file",
    ),
    (OUTPUT, DRY_RUN, 0, "dry run, nothing written"),
    (RECORD, ("diff", "staging"), 0, ""),
    (".git/hooks/pre-commit", ("install-hook",), 1, "exists and is not promoter's hook"),
    (".git/hooks/pre-commit", ("uninstall-hook",), 1, "is not promoter's hook; left alone"),
]


@pytest.fixture
def promoted(example: Path) -> Path:
    subprocess.run(["git", "init", "-q"], cwd=example, check=True)
    run = cli("promote", "dev", "staging", cwd=example)
    assert run.code == 0, run.err
    for name in (PIN, LEDGER, OUTPUT, RECORD):
        assert (example / name).is_file(), name
    return example


@pytest.mark.parametrize(("name", "args", "code", "says"), CASES, ids=lambda v: str(v))
def test_a_fifo_in_place_of_state_answers_at_once(
    promoted: Path, name: str, args: tuple[str, ...], code: int, says: str
) -> None:
    path = promoted / name
    path.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    got, out = check(promoted, *args)  # bounded in time: a hang fails the run
    assert got == code, out
    assert says in out, out
    assert "internal error" not in out, out
    if code:
        assert path.exists() and not path.is_file()  # refused: left as it was


def test_install_hook_force_replaces_a_fifo_hook(promoted: Path) -> None:
    hook = promoted / ".git/hooks/pre-commit"
    hook.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(hook)
    code, out = check(promoted, "install-hook", "--force")
    assert code == 0, out
    assert hook.is_file() and "promoter" in hook.read_text()
    assert os.access(hook, os.X_OK)
