"""What a commit changes, as hooks see it: staged deletions and renames are judged, and a
config repo in a subfolder of a monorepo is found and checked (issue 20, item 2)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import cli, make_example

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}
CANARY = "canary-hook-changes-5e0b19"
MISSING = (
    "error: environments/staging.yaml: no such file (hint: promoter.yaml names environment "
    "'staging': restore its overlay, or remove 'staging' from promoter.yaml)"
)


def git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=check,
        env={**os.environ, **GIT_ENV},
    )


def committed(top: Path, config: Path) -> None:
    """``config`` (the example, with a canary staging password) committed in a git repo
    at ``top``; the staging and prod stores are not tracked."""
    make_example(config)
    (config / "secrets/staging/idm.email.smtp.password").write_text(CANARY + "\n")
    (top / ".gitignore").write_text("build/\nsecrets/staging/\nsecrets/prod/\n")
    git(top, "init", "-q")
    git(top, "add", "-A")
    git(top, "commit", "-qm", "initial")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    top = tmp_path / "repo"
    top.mkdir()
    committed(top, top)
    return top


@pytest.fixture
def mono(tmp_path: Path) -> Path:
    """A monorepo whose config repo is its mail/ folder."""
    top = tmp_path / "mono"
    top.mkdir()
    (top / "README.md").write_text("other projects live here\n")
    committed(top, top / "mail")
    return top


def no_canary(*texts: str) -> None:
    for text in texts:
        assert CANARY not in text


def drop_host(overlay: Path) -> None:
    overlay.write_text(overlay.read_text().replace("host: smtp.staging.example.com", "host: ''"))


def test_a_staged_deletion_of_a_named_overlay_is_refused_naming_the_file(repo: Path) -> None:
    git(repo, "rm", "-q", "environments/staging.yaml")
    run = cli("check", "--staged", cwd=repo)
    assert run.code == 2, run.out + run.err
    assert MISSING in run.err.splitlines()
    assert "staging (staging): error" in run.out
    no_canary(run.out, run.err)


def test_a_staged_rename_of_a_named_overlay_is_refused(repo: Path) -> None:
    git(repo, "mv", "environments/staging.yaml", "environments/stage.yaml")
    run = cli("check", "--staged", cwd=repo)
    assert run.code == 2 and MISSING in run.err.splitlines()


def test_check_files_adds_what_the_index_deletes(repo: Path) -> None:
    """The pre-commit framework passes no deleted file: the hook runs with none."""
    git(repo, "rm", "-q", "environments/staging.yaml")
    run = cli("check", "--files", cwd=repo)
    assert run.code == 2 and MISSING in run.err.splitlines()
    untouched = cli("check", "--files", cwd=repo.parent / "repo" / "environments")
    assert untouched.code == 2  # found upward, as from the repo's top
    git(repo, "reset", "-q")
    git(repo, "checkout", "--", "environments/staging.yaml")
    clean = cli("check", "--files", cwd=repo)
    assert clean.code == 0 and clean.out == "no environment is affected by the changed files\n"


@pytest.mark.parametrize(
    ("deleted", "judged"),
    [
        ("promoter.yaml", ["dev", "staging", "prod"]),
        ("environments/base.yaml", ["dev", "prod"]),  # staging follows its pin
        ("environments/staging.pin.yaml", ["staging"]),
    ],
)
def test_deleting_base_promoter_yaml_or_a_pin_judges_who_reads_it(
    repo: Path, deleted: str, judged: list[str]
) -> None:
    assert cli("promote", "dev", "staging", "--commit", "--yes", cwd=repo).code == 0
    git(repo, "rm", "-q", deleted)
    run = cli("check", "--staged", cwd=repo)
    checked = [line.split(" ")[0] for line in run.out.splitlines() if " (" in line]
    assert checked == judged, run.out + run.err
    no_canary(run.out, run.err)


def test_monorepo_files_from_the_top_are_mapped_into_the_config_repo(mono: Path) -> None:
    drop_host(mono / "mail/environments/staging.yaml")
    run = cli("check", "-C", "mail", "--files", "mail/environments/staging.yaml", cwd=mono)
    assert run.code == 1, run.out + run.err
    assert "environments/staging.yaml:5:1: deny EMAIL001" in run.out
    # the framework's order: entry (check --files), then args (-C mail), then the files
    hook = cli("check", "--files", "-C", "mail", "mail/environments/staging.yaml", cwd=mono)
    assert hook.code == 1 and "deny EMAIL001" in hook.out
    no_canary(run.out, run.err, hook.out, hook.err)


def test_a_path_outside_the_config_repo_is_skipped_and_said_so(mono: Path) -> None:
    run = cli("check", "-C", "mail", "--files", "README.md", cwd=mono)
    assert run.code == 0
    assert run.err == f"check: README.md skipped (not under the config repo {mono / 'mail'})\n"


def test_an_overlay_named_from_the_wrong_directory_is_an_error_not_nothing(mono: Path) -> None:
    drop_host(mono / "mail/environments/staging.yaml")
    run = cli("check", "-C", "mail", "--files", "environments/staging.yaml", cwd=mono)
    assert run.code == 2, run.out + run.err
    assert run.err.startswith(
        "error: environments/staging.yaml: not under the config repo: paths are taken from "
        "the current directory"
    )
    assert "no environment is affected" not in run.out


def test_files_named_from_inside_the_config_repo(mono: Path) -> None:
    drop_host(mono / "mail/environments/staging.yaml")
    run = cli("check", "--files", "staging.yaml", cwd=mono / "mail/environments")
    assert run.code == 1 and "deny EMAIL001" in run.out


def test_monorepo_staged_check_and_scan(mono: Path) -> None:
    mail = mono / "mail"
    drop_host(mail / "environments/staging.yaml")
    prod = mail / "environments/prod.yaml"
    prod.write_text(
        prod.read_text().replace(
            "{$purpose: {name: idm.email.msgraph.credentials, jsonPointer: clientSecret}}",
            "Zq8~hunter2-Plaintext-Secret-0042",
        )
    )
    git(mono, "add", "-A")
    check = cli("-C", "mail", "check", "--staged", cwd=mono)
    assert check.code == 1 and "environments/staging.yaml:5:1: deny EMAIL001" in check.out
    scan = cli("-C", "mail", "scan", "--staged", cwd=mono)
    assert scan.code == 1 and "environments/prod.yaml" in scan.out
    assert "SECRET001" in scan.out and "Zq8~hunter2" not in scan.out
    named = cli("scan", "-C", "mail", "mail/environments/prod.yaml", cwd=mono)
    assert named.code == 1 and "environments/prod.yaml" in named.out
    no_canary(check.out, check.err, scan.out, scan.err, named.out, named.err)


def test_install_hook_from_a_subfolder_checks_the_config_repo(mono: Path) -> None:
    mail = mono / "mail"
    installed = cli("install-hook", cwd=mail)
    assert installed.code == 0 and installed.out == f"installed {mono}/.git/hooks/pre-commit\n"
    overlay = mail / "environments/staging.yaml"
    good = overlay.read_text()
    overlay.write_text(good.replace("port: 587", "port: 587\nfromName: Example"))
    git(mono, "add", "-A")
    clean = git(mono, "commit", "-qm", "a clean change", check=False)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    drop_host(overlay)
    git(mono, "add", "-A")
    refused = git(mono, "commit", "-qm", "no host", check=False)
    assert refused.returncode == 1
    assert "environments/staging.yaml:5:1: deny EMAIL001" in refused.stdout + refused.stderr
    git(mono, "checkout", "-q", "HEAD", "--", ".")
    git(mono, "rm", "-q", "mail/environments/staging.yaml")
    deleted = git(mono, "commit", "-qm", "drop staging", check=False)
    assert deleted.returncode == 1 and MISSING in deleted.stderr.splitlines()
    no_canary(clean.stdout, clean.stderr, refused.stdout, refused.stderr, deleted.stderr)
