from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, cli, write

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}


def git(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=check,
        env={**os.environ, **GIT_ENV},
    )


@pytest.fixture
def config_repo(example: Path) -> Path:
    """The example as a git repo whose real stores are not tracked."""
    write(example / ".gitignore", "build/\nsecrets/staging/\nsecrets/prod/\n")
    (example / "promoter.yaml").write_text("order: [dev, staging, prod]\n")
    git(example, "init", "-q")
    git(example, "add", "-A")
    git(example, "commit", "-qm", "initial")
    return example


def test_installed_hook_refuses_built_in_smtp_in_staging(config_repo: Path) -> None:
    assert cli("install-hook", cwd=config_repo).code == 0
    overlay = config_repo / "environments/staging.yaml"
    overlay.write_text(overlay.read_text().replace("host: smtp.staging.example.com", "host: ''"))
    git(config_repo, "add", "-A")
    commit = git(config_repo, "commit", "-qm", "break staging", check=False)
    assert commit.returncode == 1
    assert "environments/staging.yaml:5:1: deny EMAIL001" in commit.stdout + commit.stderr
    assert git(config_repo, "log", "--oneline").stdout.count("\n") == 1


def test_the_hook_judges_the_index_not_the_working_tree(config_repo: Path) -> None:
    assert cli("install-hook", cwd=config_repo).code == 0
    overlay = config_repo / "environments/staging.yaml"
    good = overlay.read_text()
    overlay.write_text(good.replace("host: smtp.staging.example.com", "host: ''"))
    git(config_repo, "add", "environments/staging.yaml")
    overlay.write_text(good)  # the working tree is fine again; the index is not
    commit = git(config_repo, "commit", "-qm", "break staging behind the hook's back", check=False)
    assert commit.returncode == 1
    assert "environments/staging.yaml:5:1: deny EMAIL001" in commit.stdout + commit.stderr
    assert git(config_repo, "log", "--oneline").stdout.count("\n") == 1


def test_the_hook_lets_a_good_index_through_a_broken_working_tree(config_repo: Path) -> None:
    assert cli("install-hook", cwd=config_repo).code == 0
    overlay = config_repo / "environments/staging.yaml"
    good = overlay.read_text()
    overlay.write_text(good.replace("port: 587", "port: 587\nthreadPoolSize: 5"))
    git(config_repo, "add", "environments/staging.yaml")
    overlay.write_text(good.replace("host: smtp.staging.example.com", "host: ''"))
    commit = git(config_repo, "commit", "-qm", "a good change", check=False)
    assert commit.returncode == 0, commit.stdout + commit.stderr
    committed = git(config_repo, "show", "HEAD:environments/staging.yaml").stdout
    assert "threadPoolSize: 5" in committed and "host: smtp.staging.example.com" in committed
    run = cli("check", "--staged", cwd=config_repo)
    assert run.code == 0 and "EMAIL001" not in run.out + run.err


def test_staged_check_reads_secrets_from_the_working_tree(config_repo: Path) -> None:
    password = config_repo / "secrets/staging/idm.email.smtp.password"
    password.write_text("canary-staged-check-7d1f\n")
    overlay = config_repo / "environments/staging.yaml"
    overlay.write_text(overlay.read_text() + "threadPoolSize: 6\n")
    git(config_repo, "add", "environments/staging.yaml")
    run = cli("check", "--staged", "--require-secrets", "--format", "json", cwd=config_repo)
    assert run.code == 0, run.err
    assert "canary-staged-check-7d1f" not in run.out + run.err


def test_installed_hook_refuses_a_plaintext_prod_password(config_repo: Path) -> None:
    assert cli("install-hook", cwd=config_repo).code == 0
    overlay = config_repo / "environments/prod.yaml"
    overlay.write_text(
        overlay.read_text().replace(
            "{$purpose: {name: idm.email.msgraph.credentials, jsonPointer: clientSecret}}",
            "Zq8~hunter2-Plaintext-Secret-0042",
        )
    )
    git(config_repo, "add", "-A")
    commit = git(config_repo, "commit", "-qm", "leak", check=False)
    assert commit.returncode == 1
    output = commit.stdout + commit.stderr
    assert "EMAIL002" in output
    assert "Zq8~hunter2" not in output


def test_installed_hook_accepts_a_clean_change(config_repo: Path) -> None:
    assert cli("install-hook", cwd=config_repo).code == 0
    overlay = config_repo / "environments/staging.yaml"
    overlay.write_text(overlay.read_text().replace("port: 587", "port: 587\nfromName: Example"))
    git(config_repo, "add", "-A")
    commit = git(config_repo, "commit", "-qm", "add fromName", check=False)
    assert commit.returncode == 0, commit.stdout + commit.stderr
    assert "staging (staging): ok" in commit.stdout + commit.stderr


def test_hook_scan_refuses_a_staged_prod_store_file(config_repo: Path) -> None:
    assert cli("install-hook", cwd=config_repo).code == 0
    git(config_repo, "add", "-f", "secrets/prod/idm.email.msgraph.credentials")
    commit = git(config_repo, "commit", "-qm", "oops", check=False)
    assert commit.returncode == 1
    output = commit.stdout + commit.stderr
    assert "secrets/prod/idm.email.msgraph.credentials: deny SECRET003" in output
    assert "EXAMPLE-not-a-real" not in commit.stdout + commit.stderr


def test_install_refuses_a_foreign_hook_and_uninstall_removes_only_ours(config_repo: Path) -> None:
    hook = config_repo / ".git/hooks/pre-commit"
    hook.write_text("#!/bin/sh\necho mine\n")
    refused = cli("install-hook", cwd=config_repo)
    assert refused.code == 1 and "is not promoter's hook" in refused.err
    assert cli("uninstall-hook", cwd=config_repo).code == 1
    assert hook.read_text() == "#!/bin/sh\necho mine\n"
    assert cli("install-hook", "--force", cwd=config_repo).code == 0
    assert cli("install-hook", cwd=config_repo).out.endswith("already installed\n")
    assert cli("uninstall-hook", cwd=config_repo).code == 0
    assert not hook.exists()


def test_affected_environments(example: Path) -> None:
    def checked(*files: str) -> list[str]:
        out = cli("check", "--format", "json", "--files", *files, cwd=example).out
        return [e["env"] for e in json.loads(out)["environments"]]

    assert checked("environments/staging.yaml") == ["staging"]
    assert checked("secrets/prod/idm.email.msgraph.credentials") == ["prod"]
    assert checked("README.md") == []
    assert checked("promoter.yaml") == ["dev", "staging", "prod"]
    assert checked("environments/base.yaml") == ["dev", "staging", "prod"]  # nothing pinned yet
    assert cli("promote", "dev", "staging", cwd=example).code == 0
    assert checked("environments/base.yaml") == ["dev", "prod"]
    assert checked("environments/staging.pin.yaml") == ["staging"]


def test_scan_findings_and_allowlist(example: Path) -> None:
    overlay = example / "environments/staging.yaml"
    overlay.write_text(
        overlay.read_text().replace(
            "  password: {$purpose: {name: idm.email.smtp.password}}",
            "  password: S3cr3t-Value-123",
        )
        + "fromName: aZ9xQ2mN7pL4kR8vT1wY6bC3\n"
    )
    run = cli("scan", cwd=example)
    assert run.code == 1
    assert "environments/staging.yaml:10:3: deny SECRET001 plaintext secret" in run.out
    assert "environments/staging.yaml:18:1: deny SECRET002 high-entropy string" in run.out
    assert "S3cr3t-Value-123" not in run.out and "aZ9xQ2mN7pL4kR8vT1wY6bC3" not in run.out
    fp = run.out.split("SECRET002")[1].split("fingerprint ")[1].split(" ")[0]
    assert fp.startswith("fp:") and len(fp) == 19
    promoter_yaml = example / "promoter.yaml"
    promoter_yaml.write_text(
        promoter_yaml.read_text().replace(
            "scan:\n", f"scan:\n  allow: [{{fingerprint: '{fp}', reason: display name}}]\n"
        )
    )
    again = cli("scan", cwd=example)
    assert "deny (waived: display name) SECRET002" in again.out
    assert "SECRET001" in again.out and again.code == 1


@pytest.mark.slow
def test_pre_commit_framework_runs_the_hooks(config_repo: Path, tmp_path: Path) -> None:
    pre_commit = shutil.which("pre-commit") or str(Path(os.sys.executable).parent / "pre-commit")
    overlay = config_repo / "environments/staging.yaml"
    overlay.write_text(overlay.read_text().replace("host: smtp.staging.example.com", "host: ''"))
    git(config_repo, "add", "-A")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    proc = subprocess.run(
        [
            pre_commit,
            "try-repo",
            str(REPO),
            "promoter-check",
            "--files",
            "environments/staging.yaml",
        ],
        cwd=config_repo,
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "EMAIL001" in proc.stdout
    proc = subprocess.run(
        [pre_commit, "try-repo", str(REPO), "promoter-secrets", "--all-files"],
        cwd=config_repo,
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
