"""deploy/systemd/promoter-watch@.service as systemd runs it: two instances' ExecStart lines
with %i expanded, each with its own EnvironmentFile and the unit's WorkingDirectory, side
by side; both become healthy on their own addresses. `systemd-analyze verify` when present."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BIN, REPO, make_example
from tests.support.smtp_standin import SmtpStandin, free_port
from tests.support.systemd_unit import exec_argv, expand, read_environment_file, read_unit
from tests.support.watch_harness import wait_until

UNIT = REPO / "deploy/systemd/promoter-watch@.service"
INSTALL = "/opt/promoter/bin/promoter"  # where the unit's header installs promoter
INSTANCES = ("staging", "prod")


def _remap(path: str, root: Path) -> str:
    """An absolute path of the unit, inside the test's own root."""
    if path == INSTALL:
        return str(BIN / "promoter")
    assert path.startswith("/"), path
    return str(root / path.lstrip("/"))


def _config_repo(repo: Path, smtp: SmtpStandin) -> None:
    """The example repo, with staging and prod both probing the SMTP stand-in."""
    make_example(repo)
    staging = (repo / "environments/staging.yaml").read_text()
    staging = staging.replace("smtp.staging.example.com", smtp.host)
    staging = staging.replace("port: 587", f"port: {smtp.port}")
    for env in INSTANCES:
        (repo / f"environments/{env}.yaml").write_text(staging)
    shutil.copy(
        repo / "secrets/staging/idm.email.smtp.password",
        repo / "secrets/prod/idm.email.smtp.password",
    )
    (repo / "build").mkdir()


def _start(instance: str, root: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    service = read_unit(UNIT)["Service"]
    assert service["RestartPreventExitStatus"] == ["2"]  # no restart loop on bad input
    (workdir,) = service["WorkingDirectory"]
    (env_file,) = service["EnvironmentFile"]
    (exec_start,) = service["ExecStart"]
    environ = read_environment_file(Path(_remap(expand(env_file, instance), root)))
    argv = [expand(word, instance) for word in exec_argv(exec_start)]
    argv[0] = _remap(argv[0], root)
    proc = subprocess.Popen(
        argv,
        cwd=_remap(expand(workdir, instance), root),
        env={"PATH": os.environ["PATH"], **environ},  # systemd passes no inherited variables
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, environ


@pytest.fixture
def smtp(tls: Any) -> Iterator[SmtpStandin]:
    repo_password = (REPO / "secrets/staging/idm.email.smtp.password").read_text().strip()
    with SmtpStandin(tls, users={"idm-mailer": repo_password}) as standin:
        yield standin


@pytest.mark.slow
def test_two_instances_coexist_each_on_its_own_health_address(
    tmp_path: Path, smtp: SmtpStandin, tls: Any
) -> None:
    etc = tmp_path / "etc/promoter"
    _config_repo(etc, smtp)
    for instance in INSTANCES:  # what the unit's header tells the operator to write
        (etc / f"{instance}.env").write_text(
            f"# promoter-watch@{instance}\n"
            f"PROMOTER_HEALTH=127.0.0.1:{free_port()}\n"
            f'SSL_CERT_FILE="{tls.ca_file}"\n'
        )
    started = [_start(instance, tmp_path) for instance in INSTANCES]
    try:
        for (proc, environ), instance in zip(started, INSTANCES, strict=True):
            url = f"http://{environ['PROMOTER_HEALTH']}/readyz"
            wait_until(lambda u=url: _status(u) == 200, what=f"{instance} ready", timeout=20)
            assert proc.poll() is None
        for env in INSTANCES:
            assert (etc / f"build/{env}/conf/external.email.json").is_file()
    finally:
        for proc, _ in started:
            proc.terminate()
        errs = [proc.communicate(timeout=15)[1] for proc, _ in started]
    assert [proc.returncode for proc, _ in started] == [0, 0], errs


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not here")
def test_systemd_analyze_verify_is_clean(tmp_path: Path) -> None:
    text = UNIT.read_text().replace(INSTALL, str(BIN / "promoter"))
    (tmp_path / UNIT.name).write_text(text)
    instance = tmp_path / "promoter-watch@prod.service"
    instance.symlink_to(tmp_path / UNIT.name)
    run = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(instance)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    problems = [line for line in run.stderr.splitlines() if "promoter-watch" in line]
    assert run.returncode == 0 and problems == [], run.stderr


def _status(url: str) -> int:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0
