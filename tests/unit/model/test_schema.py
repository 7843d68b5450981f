from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from promoter.files.yamlfile import load_yaml
from promoter.model.schema import generate, render
from tests.conftest import REPO, cli, tracked_files

SCHEMAS = REPO / "schemas"


def load_schema(name: str) -> dict[str, object]:
    schema: dict[str, object] = json.loads((SCHEMAS / name).read_text())
    return schema


@pytest.mark.parametrize("name", sorted(generate()))
def test_committed_schemas_match_the_model(name: str) -> None:
    assert (SCHEMAS / name).read_text() == render(generate()[name]), (
        "schemas/ drifted from the model: run 'promoter schema --write'"
    )


@pytest.mark.parametrize("name", tracked_files("environments/*.yaml"))
def test_shipped_overlays_validate_against_the_overlay_schema(name: str) -> None:
    overlay = REPO / name
    data = load_yaml(overlay, overlay.name).data
    jsonschema.validate(data, load_schema("overlay.schema.json"))
    first_line = overlay.read_text().splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=../schemas/overlay.schema.json"


def test_shipped_promoter_yaml_validates() -> None:
    data = load_yaml(REPO / "promoter.yaml", "promoter.yaml").data
    jsonschema.validate(data, load_schema("promoter.schema.json"))


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_compiled_example_outputs_validate(example: Path, env: str) -> None:
    out = example / "out.json"
    assert cli("compile", env, "-o", str(out), cwd=example).code == 0
    jsonschema.validate(json.loads(out.read_text()), load_schema("external.email.schema.json"))


def test_output_schema_rejects_what_the_model_rejects() -> None:
    schema = load_schema("external.email.schema.json")
    bad = {"type": "msgraph", "auth": {"type": "oauth2"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"host": "h", "auth": {"enable": True}, "hots": 1}, schema)


def test_schema_check_detects_drift(example: Path) -> None:
    assert cli("schema", "--check", cwd=example).code == 0
    (example / "schemas" / "overlay.schema.json").write_text("{}\n")
    run = cli("schema", "--check", cwd=example)
    assert run.code == 1
    assert "schemas/overlay.schema.json: out of date" in run.err
    assert cli("schema", "--write", cwd=example).code == 0
    assert cli("schema", "--check", cwd=example).code == 0
