"""deploy/container/Containerfile: its build steps run in order (no engine here: paths are
mapped into a temporary directory, see tests/support/containerfile.py), then the image's
ENTRYPOINT answers --version from the final stage alone."""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.conftest import REPO
from tests.support.containerfile import Build, labels, parse, remove_aside

CONTAINERFILE = REPO / "deploy/container/Containerfile"
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def test_the_image_is_slim_non_root_labelled_and_enters_at_promoter() -> None:
    args, stages = parse(CONTAINERFILE)
    final = stages[-1]
    assert len(stages) >= 2, "multi-stage: build the wheel, then a runtime without the tools"
    assert all(stage.base.endswith("-slim") for stage in stages), [s.base for s in stages]
    (user,) = [step.text for step in final.steps if step.keyword == "USER"]
    assert user.split(":")[0] not in ("root", "0")
    (entrypoint,) = [step.text for step in final.steps if step.keyword == "ENTRYPOINT"]
    assert entrypoint == '["promoter"]'
    found = labels(final, args)
    for key in ("title", "description", "version", "licenses", "source"):
        assert found.get(f"org.opencontainers.image.{key}"), key
    assert found["org.opencontainers.image.version"] == VERSION
    final_runs = " ".join(step.text for step in final.steps if step.keyword == "RUN")
    for tool in ("gcc", "build-essential", "apt-get install", "pip install"):
        assert tool not in final_runs


@pytest.mark.slow
def test_the_build_steps_install_promoter_and_the_entrypoint_runs(tmp_path: Path) -> None:
    args, stages = parse(CONTAINERFILE)
    # The build host's package index settings (PIP_*) are what the engine's network gives.
    environ = {k: v for k, v in os.environ.items() if k.startswith("PIP_")}
    build = Build(context=REPO, work=tmp_path, environ=environ)
    for index, stage in enumerate(stages):
        build.run_stage(index, stage, args)
    remove_aside(tmp_path)  # only the final stage is the image
    image = build.root
    assert not (image / "root/.cache").exists(), "a cache in the image"
    assert list(image.rglob("*.whl")) == [], "wheels in the image"
    assert list(image.rglob("bin/pip*")) == [], "pip in the image"
    run = subprocess.run(
        [*build.entrypoint(stages[-1]), "--version"],
        cwd=build.cwd,
        env=build.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert VERSION in run.stdout


def test_the_ci_example_builds_this_containerfile_smoke_tests_and_pushes() -> None:
    workflow = REPO / "deploy/ci/container-image.yml"
    document = YAML(typ="safe").load(workflow.read_text())
    errors = list(_github_workflow_validator().iter_errors(document))
    assert errors == [], [e.message for e in errors]
    steps = document["jobs"]["image"]["steps"]
    builds = [s["with"] for s in steps if str(s.get("uses", "")).startswith("docker/build-push")]
    assert builds and all((REPO / b["context"] / b["file"]) == CONTAINERFILE for b in builds)
    assert builds[-1]["push"] is True
    runs = [s["run"] for s in steps if "run" in s]
    assert any(run.startswith("docker run") and run.endswith("--version") for run in runs)


def _github_workflow_validator() -> Any:
    """GitHub's workflow schema as check-jsonschema vendors it (no network)."""
    import check_jsonschema
    import jsonschema

    vendored = Path(check_jsonschema.__file__).parent / "builtin_schemas/vendor"
    schema = json.loads((vendored / "github-workflows.json").read_text())
    return jsonschema.validators.validator_for(schema)(schema)
