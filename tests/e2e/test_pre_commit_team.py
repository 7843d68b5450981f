"""The shipped hooks under the real pre-commit framework and real git, as a team uses them:
a clone, a staged deletion, a monorepo subfolder (issue 20, item 2).

The hooks are those of ``.pre-commit-hooks.yaml``, copied into a local config with this
checkout's ``promoter`` as the entry's program, so the framework does not build an
environment (``test_git_integration`` covers ``try-repo``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.conftest import REPO, cli

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}
CANARY = "canary-pre-commit-team-8c4d2a"


def run(cwd: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), cwd=cwd, capture_output=True, text=True, check=False, env=env, timeout=300
    )


def hooks(**extra: Any) -> list[dict[str, Any]]:
    shipped = YAML(typ="safe").load((REPO / ".pre-commit-hooks.yaml").read_text())
    out = []
    for hook in shipped:
        program, _, rest = hook["entry"].partition(" ")
        assert program == "promoter"
        out.append({**hook, **extra, "entry": f"{BIN / 'promoter'} {rest}", "language": "system"})
    return out


def install(top: Path, env: dict[str, str], **extra: Any) -> None:
    config = {"repos": [{"repo": "local", "hooks": hooks(**extra)}]}
    with (top / ".pre-commit-config.yaml").open("w") as handle:
        YAML().dump(config, handle)
    pre_commit = shutil.which("pre-commit") or str(BIN / "pre-commit")
    assert run(top, pre_commit, "install", env=env).returncode == 0
    run(top, "git", "add", ".pre-commit-config.yaml", env=env)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}


def fill_stores(origin: Path, clone: Path) -> None:
    """The clone gets its staging/prod secrets from the machine that holds them."""
    for store in ("secrets/staging", "secrets/prod"):
        for item in (origin / store).iterdir():
            if not (clone / store / item.name).exists():
                shutil.copy2(item, clone / store / item.name)


def commit(top: Path, message: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run(top, "git", "commit", "-qm", message, env=env)


def no_canary(*procs: subprocess.CompletedProcess[str]) -> None:
    for proc in procs:
        assert CANARY not in proc.stdout + proc.stderr


def test_a_teammates_clone(tmp_path: Path, env: dict[str, str]) -> None:
    origin = tmp_path / "origin"
    assert cli("init", str(origin), cwd=tmp_path).code == 0
    (origin / "secrets/staging/idm.email.smtp.password").write_text(CANARY + "\n")
    run(origin, "git", "init", "-q", env=env)
    run(origin, "git", "add", "-A", env=env)
    assert commit(origin, "init", env).returncode == 0
    clone = tmp_path / "clone"
    assert run(tmp_path, "git", "clone", "-q", str(origin), str(clone), env=env).returncode == 0
    fill_stores(origin, clone)  # until a store that is not provisioned here only warns
    install(clone, env)
    overlay = clone / "environments/staging.yaml"
    good = overlay.read_text()

    overlay.write_text(good.replace("port: 587", "port: 587\nfromName: Example", 1))
    run(clone, "git", "add", "-A", env=env)
    clean = commit(clone, "a clean change", env)
    assert clean.returncode == 0, clean.stdout + clean.stderr

    overlay.write_text(
        "\n".join("host: ''" if line.startswith("host:") else line for line in good.splitlines())
        + "\n"
    )
    run(clone, "git", "add", "-A", env=env)
    built_in = commit(clone, "the built-in server", env)
    assert built_in.returncode == 1
    assert "deny EMAIL001" in built_in.stdout + built_in.stderr
    run(clone, "git", "checkout", "-q", "HEAD", "--", ".", env=env)

    run(clone, "git", "rm", "-q", "environments/staging.yaml", env=env)
    deleted = commit(clone, "drop staging", env)
    assert deleted.returncode == 1
    assert (
        "environments/staging.yaml: no such file (hint: promoter.yaml names environment "
        "'staging'" in deleted.stdout + deleted.stderr
    )
    log = run(clone, "git", "log", "--oneline", env=env).stdout
    assert log.count("\n") == 2  # init and the clean change
    no_canary(clean, built_in, deleted)


def test_a_config_repo_in_a_monorepo_subfolder(tmp_path: Path, env: dict[str, str]) -> None:
    top = tmp_path / "mono"
    assert cli("init", str(top / "mail"), cwd=tmp_path).code == 0
    (top / "app.py").write_text("print('hello')\n")
    run(top, "git", "init", "-q", env=env)
    install(top, env, args=["-C", "mail"], files="^mail/")
    run(top, "git", "add", "-A", env=env)
    first = commit(top, "init", env)
    assert first.returncode == 0, first.stdout + first.stderr

    (top / "app.py").write_text("print('hello, world')\n")
    run(top, "git", "add", "-A", env=env)
    elsewhere = commit(top, "not mail", env)
    assert elsewhere.returncode == 0, elsewhere.stdout + elsewhere.stderr

    overlay = top / "mail/environments/staging.yaml"
    overlay.write_text(
        "\n".join(
            "host: ''" if line.startswith("host:") else line
            for line in overlay.read_text().splitlines()
        )
        + "\n"
    )
    run(top, "git", "add", "-A", env=env)
    refused = commit(top, "no host", env)
    assert refused.returncode == 1
    output = refused.stdout + refused.stderr
    assert "environments/staging.yaml:" in output and "deny EMAIL001" in output
