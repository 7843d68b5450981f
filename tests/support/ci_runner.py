"""Run the shipped CI examples' shell steps, in order, as the hosted runners would.

GitHub Actions: every ``run:`` step of a job in ``bash --noprofile --norc -e``, in the
workspace, with the variables the runner sets and the step's ``env:`` (``${{ secrets.X }}``
from the secrets given; any other expression is refused, so none can creep into a
script); ``uses:`` actions are skipped (checkout is the clone itself, setup-python the
venv). A failed step stops the job except for ``if: always()`` steps.
GitLab CI: ``before_script`` and ``script`` lines in one ``bash -eo pipefail`` session
(each line echoed as ``$ line`` as the runner does), then ``after_script`` in its own.
Package installs (``pip``, ``apt-get``) are stand-ins on PATH that only record the call:
promoter is already installed in this test run's environment.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[2]
GITHUB = REPO / "deploy/ci/github-actions.yml"
GITLAB = REPO / "deploy/ci/gitlab-ci.yml"
_SECRET = re.compile(r"^\$\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")
_STANDIN = '#!/bin/sh\necho "{name} (stand-in): $*" >> "$CI_STANDIN_LOG"\n'


@dataclass
class Step:
    name: str
    code: int
    out: str
    err: str


@dataclass
class Job:
    steps: list[Step] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # GITHUB_STEP_SUMMARY, standin log

    @property
    def passed(self) -> bool:
        # GitLab ignores after_script's exit code
        return all(step.code == 0 for step in self.steps if step.name != "after_script")

    def text(self) -> str:
        """Everything the job printed or left for display."""
        printed = "".join(step.out + step.err for step in self.steps)
        return printed + "".join(self.files.values())


def load(path: Path) -> dict[str, Any]:
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _tools(tmp: Path) -> Path:
    bin_dir = tmp / "ci-bin"
    bin_dir.mkdir(exist_ok=True)
    for name in ("pip", "apt-get"):
        script = bin_dir / name
        script.write_text(_STANDIN.format(name=name))
        script.chmod(0o755)
    return bin_dir


def _base_env(tmp: Path, workspace: Path, extra: dict[str, str]) -> dict[str, str]:
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join([str(_tools(tmp)), venv_bin, os.environ.get("PATH", "")])
    keep = {k: os.environ[k] for k in ("HOME", "LANG", "TMPDIR") if k in os.environ}
    return {
        **keep,
        "PATH": path,
        "CI": "true",
        "CI_STANDIN_LOG": str(tmp / "standin.log"),
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        **extra,
    }


def _shell(argv: list[str], script: str, cwd: Path, env: dict[str, str], name: str) -> Step:
    done = subprocess.run(
        [*argv, "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    return Step(name, done.returncode, done.stdout, done.stderr)


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


def github_job(
    job_name: str, workspace: Path, tmp: Path, *, event: str, secrets: dict[str, str]
) -> Job:
    job_def = load(GITHUB)["jobs"][job_name]
    summary = tmp / "step_summary.md"
    env = _base_env(
        tmp,
        workspace,
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_EVENT_NAME": event,
            "GITHUB_REF": "refs/heads/main",
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_ENV": str(tmp / "github_env"),
            "GITHUB_OUTPUT": str(tmp / "github_output"),
            "RUNNER_OS": "Linux",
            "RUNNER_TEMP": str(tmp),
        },
    )
    job = Job()
    failed = False
    for index, step in enumerate(job_def["steps"]):
        if "uses" in step:
            continue
        condition = step.get("if")
        assert condition in (None, "always()"), f"step {index}: unsupported if: {condition}"
        if failed and condition != "always()":
            continue
        script = step["run"]
        assert "${{" not in script, f"step {index}: an expression inside run: (use env:)"
        step_env = dict(env)
        for key, value in (step.get("env") or {}).items():
            found = _SECRET.match(str(value))
            assert found, f"step {index}: env {key}: only ${{{{ secrets.NAME }}}} is supported"
            step_env[key] = secrets.get(found.group(1), "")  # an unset secret is empty
        argv = ["bash", "--noprofile", "--norc", "-e"]
        ran = _shell(argv, script, workspace, step_env, step.get("name", script))
        job.steps.append(ran)
        failed = failed or ran.code != 0
    job.files = {"summary": _read(summary), "standins": _read(tmp / "standin.log")}
    return job


def gitlab_job(
    job_name: str, workspace: Path, tmp: Path, *, source: str, variables: dict[str, str]
) -> Job:
    document = load(GITLAB)
    job_def = dict(document[job_name])
    parent = job_def.pop("extends", None)
    if parent is not None:
        job_def = {**document[parent], **job_def}
    env = _base_env(
        tmp,
        workspace,
        {
            "GITLAB_CI": "true",
            "CI_PROJECT_DIR": str(workspace),
            "CI_PIPELINE_SOURCE": source,
            "CI_DEFAULT_BRANCH": "main",
            "CI_COMMIT_BRANCH": "main",
            "CI_COMMIT_REF_NAME": "main",
            "CI_JOB_NAME": job_name,
            **variables,
        },
    )
    job = Job()
    main = [*job_def.get("before_script", []), *job_def["script"]]
    after = job_def.get("after_script", [])
    for lines, name in ((main, "script"), (after, "after_script")):
        if lines:
            echoed = "".join(f"echo {shlex.quote('$ ' + line)}\n{line}\n" for line in lines)
            job.steps.append(_shell(["bash", "-eo", "pipefail"], echoed, workspace, env, name))
    job.files = {"standins": _read(tmp / "standin.log")}
    return job
