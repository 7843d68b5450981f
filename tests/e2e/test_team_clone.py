"""A teammate's clone of an ``init`` repo: no secret store is provisioned there.

``check``, ``check --staged``, the installed hook and ``promote --dry-run`` work with a
warning; what needs a store's secrets says in one line which store and which command.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import cli, write
from tests.support.team import git, team_clone

NOT_HERE = "secret store secrets/{env}/ is not provisioned on this machine"
CANARY = "canary-h20-Zq8v-staging-password"
PASSWORD = "secrets/staging/idm.email.smtp.password"


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    return team_clone(tmp_path)


def test_a_clone_holds_only_the_stores_readmes(clone: Path) -> None:
    for env in ("staging", "prod"):
        assert sorted(p.name for p in (clone / "secrets" / env).iterdir()) == ["README.md"]


def test_check_passes_in_a_clone_and_warns_that_stores_are_not_provisioned(clone: Path) -> None:
    run = cli("check", "--no-cache", cwd=clone)
    assert run.code == 0, run.out + run.err
    for env in ("staging", "prod"):
        assert (
            f"environments/{env}.yaml:10:3: warn EMAIL009 secret 'idm.email.smtp.password' "
            f"is not here: {NOT_HERE.format(env=env)}"
        ) in run.out
    assert run.out.splitlines()[-1] == "3 environments checked: 3 ok, 0 not"
    strict = cli("check", "--no-cache", "--require-secrets", cwd=clone)
    assert strict.code == 1
    assert (
        f"deny EMAIL009 secret 'idm.email.smtp.password' is not here: {NOT_HERE}".format(
            env="staging"
        )
        in strict.out
    )


@pytest.mark.parametrize("holds", ["nothing", "dotfiles", "missing"])
def test_empty_dotfile_only_and_missing_stores_are_not_provisioned(clone: Path, holds: str) -> None:
    store = clone / "secrets/staging"
    (store / "README.md").unlink()
    if holds == "dotfiles":
        write(store / ".gitkeep", "")
    elif holds == "missing":
        store.rmdir()
    run = cli("check", "staging", "--no-cache", cwd=clone)
    assert run.code == 0, run.out
    assert NOT_HERE.format(env="staging") in run.out


def test_a_provisioned_store_without_the_secret_is_still_refused(clone: Path) -> None:
    write(clone / "secrets/staging/other.purpose", "x\n")
    run = cli("check", "staging", "--no-cache", cwd=clone)
    assert run.code == 1
    assert "deny EMAIL009 secret 'idm.email.smtp.password' not found in secrets/staging/" in (
        run.out
    )


def test_the_hook_passes_a_clean_commit_in_a_clone(clone: Path) -> None:
    assert cli("install-hook", cwd=clone).code == 0
    overlay = clone / "environments/staging.yaml"
    overlay.write_text(overlay.read_text().replace("timeout: 30000", "timeout: 20000"))
    git(clone, "add", "environments/staging.yaml")
    staged = cli("check", "--staged", cwd=clone)
    assert staged.code == 0, staged.out + staged.err
    assert NOT_HERE.format(env="staging") in staged.out
    git(clone, "commit", "-qm", "shorter timeout")  # the hook runs: check=True fails on exit 1


def test_promote_dry_run_works_without_the_destinations_store(clone: Path) -> None:
    run = cli("promote", "dev", "staging", "--dry-run", cwd=clone)
    assert run.code == 0, run.out + run.err
    assert '+ /auth/password: {"$purpose": {"name": "idm.email.smtp.password"}}' in run.out
    assert "dry run, nothing written" in run.out
    assert git(clone, "status", "--porcelain") == ""


@pytest.mark.parametrize("apply", [False, True])
def test_a_promotion_that_writes_secrets_names_the_missing_store(clone: Path, apply: bool) -> None:
    args = ["promote", "dev", "staging", "--yes"] + (["--apply"] if apply else [])
    run = cli(*args, cwd=clone)
    assert run.code == 1
    command = "promoter promote dev staging" + (" --apply" if apply else "")
    refusal = [line for line in run.err.splitlines() if line.startswith("refused:")]
    assert refusal == [
        f"refused: secret store secrets/staging/ is not provisioned on this machine and "
        f"'{command}' needs it (it {'delivers' if apply else 'writes the output with'} "
        "staging's secrets); nothing written (hint: run it where secrets/staging/ is "
        "provisioned, or add --dry-run to see the redacted diff)"
    ]
    assert git(clone, "status", "--porcelain") == ""
    assert not (clone / "build/staging").exists()


def test_a_references_output_is_promoted_without_the_store(clone: Path) -> None:
    settings = clone / "promoter.yaml"
    text = settings.read_text()
    settings.write_text(
        text.replace("    tier: staging\n", "    tier: staging\n    render: references\n")
    )
    run = cli("promote", "dev", "staging", cwd=clone)
    assert run.code == 0, run.out + run.err
    assert (clone / "environments/staging.pin.yaml").is_file()
    out = (clone / "build/staging/conf/external.email.json").read_text()
    assert '"$purpose"' in out


def test_no_secret_value_reaches_any_output_once_the_store_is_provisioned(clone: Path) -> None:
    write(clone / PASSWORD, CANARY + "\n")
    runs = [
        cli("check", "--no-cache", cwd=clone),
        cli("check", "--no-cache", "--require-secrets", "--format", "json", cwd=clone),
        cli("compile", "staging", cwd=clone),
        cli("promote", "dev", "staging", "--dry-run", cwd=clone),
        cli("promote", "dev", "staging", "--apply", "--yes", cwd=clone),
        cli("history", "staging", cwd=clone),
    ]
    assert [r.code for r in runs] == [0, 1, 0, 0, 0, 0]  # prod's store is still not here
    for run in runs:
        assert CANARY not in run.out + run.err
    assert CANARY in (clone / "build/staging/conf/external.email.json").read_text()
    for path in (clone / "ledger").rglob("*"):
        if path.is_file():
            assert CANARY not in path.read_text()
