"""Promotion under attack and accident: kills, missing pins, failed commits, old secrets."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import cli, write
from tests.test_promote import LEDGER, PIN, git_repo, set_base, tree_digest

STAGING_OUT = Path("build/staging/conf/external.email.json")
PROD_OUT = Path("build/prod/conf/external.email.json")
CANARY_ID = "canary-client-id-5b1e0d7c"
CANARY_SECRET = "canary-client-secret-93af22"
CANARY_PASSWORD = "canary-smtp-password-41c8e0"


def entries(repo: Path) -> list[dict[str, Any]]:
    path = repo / LEDGER
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# --- item 14: kill -9 at random points of `promote` -------------------------------------

WRITES = ("replace", "rename", "write", "fsync", "unlink", "open")


def _in_child(repo: Path, argv: list[str], kill_at: int | None) -> tuple[int | None, int]:
    """Run ``promoter argv`` in a forked child that SIGKILLs itself before its Nth write call.

    Returns (exit code or None when killed, number of write calls made). Counting
    os-level calls, not promoter's own steps, lets the same test judge any implementation.
    """
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(reader)
        code = 99
        try:
            os.chdir(repo)
            calls = [0]

            def counting(real: Callable[..., Any]) -> Callable[..., Any]:
                def wrapper(*args: Any, **kwargs: Any) -> Any:
                    calls[0] += 1
                    if calls[0] == kill_at:
                        os.kill(os.getpid(), signal.SIGKILL)
                    return real(*args, **kwargs)

                return wrapper

            for name in WRITES:
                real = getattr(os, name)
                setattr(os, name, counting(real))
            from promoter.cli import main

            code = main(argv)
            os.write(writer, str(calls[0]).encode())
        finally:
            os._exit(code)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        count = pipe.read()
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return None, 0
    return os.WEXITSTATUS(status), int(count or 0)


def _pool_size(repo: Path) -> int | None:
    match = re.search(r"^threadPoolSize: (\d+)$", (repo / PIN).read_text(), re.MULTILINE)
    return int(match.group(1)) if match else None


def _check_agreement(repo: Path, promoted_before: int, pin_before: str | None) -> int:
    """Pin, output and ledger agree; returns the number of promotions now recorded."""
    pin_text = (repo / PIN).read_text() if (repo / PIN).exists() else None
    recorded = [e for e in entries(repo) if e["env"] == "staging"]
    if pin_text != pin_before:  # a promotion took effect: history has it, exactly once
        assert len(recorded) == promoted_before + 1
    else:
        assert len(recorded) == promoted_before
    if recorded:
        assert pin_text is not None
        assert recorded[-1]["pin_sha256"] == hashlib.sha256(pin_text.encode()).hexdigest()
        output = json.loads((repo / STAGING_OUT).read_text())
        assert output["threadPoolSize"] == _pool_size(repo)
        assert (repo / STAGING_OUT).stat().st_mode & 0o777 == 0o600
        archive = repo / "ledger/pins" / f"{recorded[-1]['pin_sha256']}.yaml"
        assert archive.read_text() == pin_text
    leftovers = [p for p in repo.rglob("*") if ".git" not in p.parts and p.name.endswith(".tmp")]
    assert leftovers == []
    assert not (repo / "build/.promoter/journal.json").exists()
    for path in repo.rglob("*"):
        if path.is_file() and ".git" not in path.parts and "secrets" not in path.parts:
            if path.name.startswith("external.email.json"):
                continue  # the rendered output holds the resolved password by design
            assert CANARY_PASSWORD not in path.read_text(errors="replace"), path
    return len(recorded)


def test_kill_at_random_points_of_promote_keeps_pin_output_and_ledger_in_step(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from promoter.cli import main

    monkeypatch.chdir(example)
    assert main(["compile", "staging"]) == 0  # children fork with everything imported
    (example / "secrets/staging/idm.email.smtp.password").write_text(CANARY_PASSWORD + "\n")
    argv = ["promote", "dev", "staging"]
    set_base(example, "threadPoolSize: 1\n")
    code, total = _in_child(example, argv, None)
    assert code == 0 and total > 5
    rng = random.Random(1214)
    promoted = len(entries(example))
    kills = 0
    for run in range(2, 122):
        set_base(example, f"threadPoolSize: {run}\n")
        pin_before = (example / PIN).read_text()
        kill_at = rng.randint(1, total + 3)
        code, _ = _in_child(example, argv, kill_at)
        kills += code is None
        assert code in (None, 0)
        # the next command finishes or discards what the kill interrupted
        shown, _ = _in_child(example, ["history", "staging"], None)
        assert shown == 0
        promoted = _check_agreement(example, promoted, pin_before)
    assert kills >= 100


# --- item 13: a stage never promoted has no pin to pass on ------------------------------


def test_promoting_a_stage_that_was_never_promoted_is_refused(example: Path) -> None:
    before = tree_digest(example)
    run = cli("promote", "staging", "prod", cwd=example)
    assert run.code == 1
    assert run.err.splitlines()[-1] == (
        "error: staging has never been promoted, so it has no pin to pass on "
        "(environments/staging.pin.yaml does not exist) (hint: promote dev staging first)"
    )
    assert (
        tree_digest(example, skip="build") == before
        or not (example / "environments/prod.pin.yaml").exists()
    )
    assert not (example / "environments/prod.pin.yaml").exists()


def test_a_deleted_pin_the_ledger_knows_is_refused(example: Path) -> None:
    assert cli("promote", "dev", "staging", cwd=example).code == 0
    sha = entries(example)[-1]["pin_sha256"]
    (example / PIN).unlink()
    run = cli("promote", "staging", "prod", cwd=example)
    assert run.code == 1
    assert run.err.splitlines()[-1] == (
        f"error: environments/staging.pin.yaml is missing, but the ledger records staging's pin "
        f"{sha[:12]}: promoting would pass on the working base instead (hint: restore it (git "
        "checkout -- environments/staging.pin.yaml, or 'promoter rollback staging --to N'), "
        "or promote dev staging again)"
    )
    assert not (example / "environments/prod.pin.yaml").exists()


# --- item 15: a failed git commit says what was written ---------------------------------

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@e",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@e",
}


def test_a_failed_git_commit_says_what_was_written_and_what_failed(example: Path) -> None:
    git_repo(example)
    hook = example / ".git/hooks/pre-commit"
    hook.write_text("#!/bin/sh\necho 'hook says no' >&2\nexit 1\n")
    hook.chmod(0o755)
    run = cli("promote", "dev", "staging", "--commit", cwd=example, env=GIT_ENV)
    assert run.code == 1
    [entry] = entries(example)
    assert entry["result"] == "promoted" and "commit" not in json.dumps(entry["detail"])
    archived = f"ledger/pins/{entry['pin_sha256']}.yaml"
    written = f"environments/staging.pin.yaml, ledger/promotions.jsonl, {archived}"
    assert run.out.splitlines()[-1] == f"not committed: {written}"
    assert "promoted dev → staging: build/staging/conf/external.email.json" in run.out
    assert run.err.splitlines()[-1] == (
        f"error: git commit failed: hook says no (hint: the promotion took effect and is in "
        f"the ledger; {written} are not committed: fix the cause and commit them yourself)"
    )
    log = subprocess.run(
        ["git", "log", "--format=%s"], cwd=example, capture_output=True, text=True, check=True
    )
    assert log.stdout.splitlines() == ["initial"]


def test_commit_outside_a_git_work_tree_writes_nothing(example: Path) -> None:
    before = tree_digest(example)
    run = cli("promote", "dev", "staging", "--commit", cwd=example, env=GIT_ENV)
    assert run.code == 1
    assert run.err.splitlines()[-1] == (
        "error: --commit: this is not a git work tree; nothing written "
        "(hint: git init, or drop --commit)"
    )
    assert tree_digest(example, skip="build") == before
    assert not (example / PIN).exists() and not (example / LEDGER).exists()


# --- item 2: the old side is masked by what it was compiled from ------------------------


def _canary_prod(repo: Path) -> Path:
    creds = repo / "secrets/prod/idm.email.msgraph.credentials"
    creds.write_text(json.dumps({"clientId": CANARY_ID, "clientSecret": CANARY_SECRET}))
    assert cli("promote", "dev", "staging", cwd=repo).code == 0
    assert cli("promote", "staging", "prod", cwd=repo).code == 0
    assert CANARY_ID in (repo / PROD_OUT).read_text()  # the rendered output holds it
    overlay = repo / "environments/prod.yaml"
    text = overlay.read_text()
    literal = re.sub(r"  clientId: \{\$purpose: .*\}\n", "  clientId: literal-client-id\n", text)
    assert literal != text
    overlay.write_text(literal)
    return overlay


@pytest.mark.parametrize("record", ["recorded", "no record"])
def test_a_purpose_turned_literal_never_shows_the_old_secret(example: Path, record: str) -> None:
    _canary_prod(example)
    if record == "no record":  # an output written by an older promoter, or by hand
        (example / "build/prod/conf/.external.email.json.secret-pointers").unlink()
    runs = [
        cli("diff", "prod", cwd=example),
        cli("promote", "staging", "prod", "--dry-run", cwd=example),
    ]
    for run in runs:
        assert run.code == 0, run.err
        assert '  ~ /auth/clientId: <secret> → "literal-client-id"' in run.out
        assert CANARY_ID not in run.out + run.err
        assert CANARY_SECRET not in run.out + run.err


def test_a_purpose_of_any_field_is_masked_on_the_old_side(example: Path) -> None:
    overlay = example / "environments/staging.yaml"
    write(example / "secrets/staging/idm.email.smtp.user", CANARY_ID + "\n")
    overlay.write_text(
        overlay.read_text().replace(
            "username: idm-mailer", "username: {$purpose: {name: idm.email.smtp.user}}"
        )
    )
    assert cli("promote", "dev", "staging", cwd=example).code == 0
    overlay.write_text(
        overlay.read_text().replace(
            "username: {$purpose: {name: idm.email.smtp.user}}", "username: idm-mailer-2"
        )
    )
    for run in (
        cli("diff", "staging", cwd=example),
        cli("promote", "dev", "staging", "--dry-run", cwd=example),
    ):
        assert run.code == 0, run.err
        assert '  ~ /auth/username: <secret> → "idm-mailer-2"' in run.out
        assert CANARY_ID not in run.out + run.err
    assert cli("promote", "dev", "staging", cwd=example).code == 0
    record = example / "build/staging/conf/.external.email.json.secret-pointers"
    assert json.loads(record.read_text()) == ["/auth/password"]
    history = cli("history", "staging", "--format", "json", cwd=example)
    assert CANARY_ID not in history.out + (example / LEDGER).read_text()
