"""deploy/ci/: every shell step of both examples, in order, on a fresh clone of an init repo.

Green without any secret; red with an annotation at the overlay when staging drops its
host; the promote job, the only one given staging's secret, promotes, commits and pushes
without the secret value reaching any output, the commit or the pushed repository.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.ci_runner import Job, github_job, gitlab_job
from tests.support.team import git, team_clone

CANARY = "canary-ci-9Wm4-staging-smtp-password"


def drop_staging_host(clone: Path) -> None:
    overlay = clone / "environments/staging.yaml"
    text = overlay.read_text()
    assert "\nhost: smtp.staging.example.com\n" in text
    overlay.write_text(text.replace("host: smtp.staging.example.com\n", ""))
    git(clone, "commit", "-qam", "staging: no host")


def check_job(kind: str, clone: Path, tmp: Path) -> Job:
    if kind == "github":
        return github_job("check", clone, tmp, event="pull_request", secrets={})
    return gitlab_job("promoter", clone, tmp, source="merge_request_event", variables={})


def promote_job(kind: str, clone: Path, tmp: Path, password: str) -> Job:
    if kind == "github":
        secrets = {"STAGING_SMTP_PASSWORD": password}
        return github_job("promote", clone, tmp, event="push", secrets=secrets)
    variables = {"STAGING_SMTP_PASSWORD": password, "PROMOTER_PUSH_URL": str(tmp / "origin.git")}
    return gitlab_job("promote-staging", clone, tmp, source="push", variables=variables)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["github", "gitlab"])
def test_the_check_job_is_green_on_a_fresh_clone_without_secrets(kind: str, tmp_path: Path) -> None:
    clone = team_clone(tmp_path)
    job = check_job(kind, clone, tmp_path)
    assert job.passed, job.text()
    assert "is not provisioned on this machine" in job.text()
    assert "dry run, nothing written" in job.text()
    assert "pip (stand-in): install promoter @ git+https://" in job.files["standins"]
    if kind == "github":
        assert job.files["summary"].startswith("### promote dev → staging (dry run)\n```\n")
        assert (clone / "promoter.sarif").stat().st_size > 0
    assert git(clone, "status", "--porcelain", "--untracked-files=no") == ""


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["github", "gitlab"])
def test_the_check_job_is_red_at_the_overlay_when_staging_drops_its_host(
    kind: str, tmp_path: Path
) -> None:
    clone = team_clone(tmp_path)
    drop_staging_host(clone)
    job = check_job(kind, clone, tmp_path)
    assert not job.passed
    if kind == "github":
        install, gate, *rest = job.steps
        assert install.code == 0 and gate.code == 1
        assert "::error file=environments/staging.yaml,line=1,col=1::[staging] EMAIL001" in (
            gate.out
        )
        assert [s.name for s in rest] == ["SARIF for code scanning"]  # if: always()
    else:
        gate = job.steps[0]
        assert "environments/staging.yaml:1:1: deny EMAIL001 built-in SMTP" in gate.out
        assert "$ promoter scan" not in gate.out  # the job stopped at the failing line


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["github", "gitlab"])
def test_the_promote_job_alone_gets_the_secret_and_never_shows_it(
    kind: str, tmp_path: Path
) -> None:
    clone = team_clone(tmp_path)
    job = promote_job(kind, clone, tmp_path, CANARY)
    assert job.passed, job.text()
    assert "promoted dev → staging" in job.text()
    assert CANARY not in job.text()
    # the workspace keeps no trace of the secret (a self-hosted runner keeps its workspace)
    assert not (clone / "secrets/staging").exists()
    assert not (clone / "build/staging").exists()
    for path in clone.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert CANARY.encode() not in path.read_bytes(), path
    pushed = git(tmp_path, "--git-dir", "origin.git", "log", "-1", "--name-only", "main")
    assert "environments/staging.pin.yaml" in pushed
    everything = git(tmp_path, "--git-dir", "origin.git", "log", "-p", "--all")
    assert CANARY not in everything
    tracked = git(tmp_path, "--git-dir", "origin.git", "log", "--all", "--name-only", "--format=")
    assert "secrets/staging/idm.email.smtp.password" not in tracked.split()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["github", "gitlab"])
def test_the_promote_job_without_the_secret_stops_before_promoting(
    kind: str, tmp_path: Path
) -> None:
    clone = team_clone(tmp_path)
    job = promote_job(kind, clone, tmp_path, "")
    assert not job.passed
    assert "STAGING_SMTP_PASSWORD is not set" in job.text()
    assert not (clone / "environments/staging.pin.yaml").exists()
