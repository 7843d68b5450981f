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
from tests.e2e.test_promote import LEDGER, PIN, git_repo, set_base, tree_digest

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
            from promoter.cli.main import main

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


@pytest.mark.slow
def test_kill_at_random_points_of_promote_keeps_pin_output_and_ledger_in_step(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from promoter.cli.main import main

    monkeypatch.chdir(example)
    assert main(["compile", "staging"]) == 0  # children fork with everything imported
    (example / "secrets/staging/idm.email.smtp.password").write_text(CANARY_PASSWORD + "\n")
    argv = ["promote", "dev", "staging"]
    set_base(example, "threadPoolSize: 1\n")
    assert _in_child(example, argv, None)[0] == 0
    set_base(example, "threadPoolSize: 200\n")  # a second promotion also keeps a .bak
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
    assert tree_digest(example, skip="build") == before  # no pin, no ledger, no output
    assert not (example / "build/prod").exists()


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
    # issue 19 item 7: no plain success, no git_commit for a commit that did not happen
    assert entry["result"] == "promoted-uncommitted"
    assert entry["detail"]["commit"] == "failed"
    assert "git_commit" not in entry
    archived = f"ledger/pins/{entry['pin_sha256']}.yaml"
    written = f"environments/staging.pin.yaml, ledger/promotions.jsonl, {archived}"
    assert run.out.splitlines()[-1] == f"not committed: {written}"
    assert "promoted dev → staging: build/staging/conf/external.email.json" in run.out
    assert "(promoted-uncommitted)" in run.out
    assert run.err.splitlines()[-1] == (
        f"error: git commit failed: hook says no (hint: the promotion took effect and is in "
        f"the ledger as promoted-uncommitted; {written} are not committed: fix the cause and "
        "commit them yourself)"
    )
    history = cli("history", "staging", cwd=example)
    assert history.code == 0 and "promoted-uncommitted" in history.out
    assert not list((example / "ledger").glob("*.bak"))
    log = subprocess.run(
        ["git", "log", "--format=%s"], cwd=example, capture_output=True, text=True, check=True
    )
    assert log.stdout.splitlines() == ["initial"]


def test_a_failed_commit_after_a_good_one_keeps_the_good_entry(example: Path) -> None:
    git_repo(example)
    assert cli("promote", "dev", "staging", "--commit", cwd=example, env=GIT_ENV).code == 0
    hook = example / ".git/hooks/pre-commit"
    hook.write_text("#!/bin/sh\necho 'hook says no' >&2\nexit 1\n")
    hook.chmod(0o755)
    assert cli("promote", "staging", "prod", "--commit", cwd=example, env=GIT_ENV).code == 1
    good, failed = entries(example)
    assert good["result"] == "promoted" and good["env"] == "staging"
    history = subprocess.run(
        ["git", "rev-list", "HEAD"], cwd=example, capture_output=True, text=True, check=True
    ).stdout.split()
    assert good["git_commit"] in history
    assert failed["env"] == "prod" and failed["result"] == "promoted-uncommitted"
    assert "git_commit" not in failed


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
        records = example / "build/.promoter/records"
        (records / "build~prod~conf~external.email.json.secret-pointers.json").unlink()
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
    record = (
        example
        / "build/.promoter/records/build~staging~conf~external.email.json.secret-pointers.json"
    )
    held = {p.name for p in (example / "build/staging/conf").iterdir()}
    assert held <= {"external.email.json", "external.email.json.bak"}, held  # issue 22 item 5
    assert json.loads(record.read_text()) == ["/auth/password"]
    history = cli("history", "staging", "--format", "json", cwd=example)
    assert CANARY_ID not in history.out + (example / LEDGER).read_text()


# --- item 12: a key holding '=' cannot smuggle a weak protocol past EMAIL004 -------------


def test_a_key_with_an_equals_sign_is_refused_at_its_line(example: Path) -> None:
    overlay = example / "environments/staging.yaml"
    overlay.write_text(overlay.read_text() + '  "mail.smtp.ssl.protocols=SSLv3 TLSv1": true\n')
    line = len(overlay.read_text().splitlines())
    for run in (cli("check", "staging", cwd=example), cli("compile", "staging", cwd=example)):
        assert run.code == 1
        assert (
            f"error: environments/staging.yaml:{line}:3: an smtpProperties key may not contain "
            "'=': IDM splits 'key=value' at the first '=' (hint: write the key and its value "
            "separately: 'mail.smtp.ssl.protocols: ...')"
        ) in run.err.splitlines()
        assert "SSLv3" not in run.out


# --- item 9: environment names are identifiers; paths stay in the repo unless allowed ----

NAME_HINT = (
    "(hint: letters, digits, '_' and '-', starting with a letter or digit (at most 63): "
    "it names files such as environments/<env>.pin.yaml)"
)
OUTSIDE_HINT = "(hint: keep it under the repo, or set allowOutsideRepo: true for this environment)"


@pytest.mark.parametrize(
    ("yaml", "error"),
    [
        (
            "environments:\n  ../evil: {tier: development}\n",
            f"error: promoter.yaml:2:3: '../evil' is not an environment name {NAME_HINT}",
        ),
        (
            'order: [dev, "a/b"]\n',
            f"error: promoter.yaml:1:14: 'a/b' is not an environment name {NAME_HINT}",
        ),
        (
            "environments:\n  .hidden: {}\n",
            f"error: promoter.yaml:2:3: '.hidden' is not an environment name {NAME_HINT}",
        ),
        (
            "environments:\n  dev:\n    secrets: /etc/promoter-secrets\n",
            f"error: promoter.yaml:3:5: '/etc/promoter-secrets' is outside the repo {OUTSIDE_HINT}",
        ),
        (
            "environments:\n  dev:\n    overlay: ../outside.yaml\n",
            f"error: promoter.yaml:3:5: '../outside.yaml' is outside the repo {OUTSIDE_HINT}",
        ),
        (
            "environments:\n  dev:\n    secrets: {directory: ../s}\n",
            f"error: promoter.yaml:3:15: '../s' is outside the repo {OUTSIDE_HINT}",
        ),
        (
            "environments:\n  dev:\n    target: {file: ../../x/external.email.json}\n",
            "error: promoter.yaml:3:14: '../../x/external.email.json' is outside the repo "
            + OUTSIDE_HINT,
        ),
    ],
)
def test_names_and_paths_that_leave_the_repo_are_usage_errors(
    example: Path, yaml: str, error: str
) -> None:
    write(example / "promoter.yaml", yaml)
    for args in (("check",), ("promote", "dev", "staging")):
        run = cli(*args, cwd=example)
        assert run.code == 2
        assert run.err.splitlines() == [error]
    assert not (example.parent / "evil.pin.yaml").exists()
    assert not (example / "build").exists() and not (example / "ledger").exists()


def test_an_overlay_file_named_like_a_path_is_refused(example: Path) -> None:
    write(example / "environments/bad name.yaml", "host: x\n")
    run = cli("check", cwd=example)
    assert run.code == 2
    assert run.err.splitlines() == [
        f"error: environments/bad name.yaml: 'bad name' is not an environment name {NAME_HINT}"
    ]


def test_paths_outside_the_repo_work_with_the_opt_in(example: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "store").mkdir(parents=True)
    (outside / "store/idm.email.smtp.password").write_text(CANARY_PASSWORD + "\n")
    (outside / "staging.yaml").write_text((example / "environments/staging.yaml").read_text())
    (example / "environments/staging.yaml").unlink()
    write(
        example / "promoter.yaml",
        "environments:\n  staging:\n    allowOutsideRepo: true\n"
        f"    overlay: {outside / 'staging.yaml'}\n"
        f"    secrets: ../outside/store\n"
        f"    target: {{file: {outside / 'out/external.email.json'}}}\n",
    )
    run = cli("deliver", "staging", cwd=example)
    assert run.code == 0, run.err
    assert CANARY_PASSWORD in (outside / "out/external.email.json").read_text()
    assert CANARY_PASSWORD not in run.out + run.err


# --- item 10: an http:// IDM target is a finding located in promoter.yaml ----------------

HTTP_MESSAGE = (
    "EMAIL008 target idm is http://: the IDM credentials and the resolved secrets cross the "
    "network in cleartext [/]"
)


def test_an_http_idm_target_is_denied_in_prod_and_warned_in_staging(example: Path) -> None:
    write(
        example / "promoter.yaml",
        "order: [dev, staging, prod]\n"
        "environments:\n"
        "  staging:\n"
        '    target: {idm: "http://idm.staging.example.com/openidm", bearerEnv: T}\n'
        "  prod:\n"
        '    target: {idm: "http://idm.example.com/openidm", bearerEnv: T}\n'
        "  dev:\n"
        '    target: {idm: "http://127.0.0.1:8080/openidm", bearerEnv: T}\n',
    )
    run = cli("check", cwd=example)
    assert run.code == 1
    lines = (run.out + run.err).splitlines()
    assert f"  promoter.yaml:4:14: warn {HTTP_MESSAGE}" in lines
    assert f"  promoter.yaml:6:14: deny {HTTP_MESSAGE}" in lines
    assert "dev (development): ok, 0 findings" in lines  # loopback never leaves the machine
    # nothing is sent to the cleartext target: the deny stops delivery before any request
    deliver = cli("deliver", "prod", cwd=example, env={"T": "canary-idm-token-3e9a"})
    assert deliver.code == 1
    assert "canary-idm-token-3e9a" not in deliver.out + deliver.err


def test_an_http_target_can_be_waived_with_a_reason(example: Path) -> None:
    write(
        example / "promoter.yaml",
        "order: [dev, staging, prod]\n"
        "environments:\n"
        "  prod:\n"
        '    target: {idm: "http://idm.internal/openidm", bearerEnv: T}\n'
        "waivers:\n"
        "  - {rule: EMAIL008, env: prod, reason: mesh mTLS, expires: 2999-01-01}\n",
    )
    run = cli("check", "prod", cwd=example)
    assert run.code == 0, run.out + run.err
