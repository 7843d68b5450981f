"""The shipped editor schemas say what ``check`` says (issue 20, item 4).

Every valid and invalid configuration the model's own tests use runs through the shipped
schemas (the jsonschema library) and through check's validator; the verdicts must agree,
except where a schema cannot express the rule (docs/validation.md lists them).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest

from promoter.compile.overlay import SMTP_PROPERTIES
from promoter.files.yamlfile import load_yaml
from promoter.model.shapes import smtp_property_problems
from promoter.model.validate import validate_email
from tests.conftest import REPO
from tests.unit.model import test_email, test_fast

# Rules no JSON Schema can state (docs/validation.md, "What the schemas cannot say").
INEXPRESSIBLE: dict[str, Callable[[Any], bool]] = {
    # JSON has one number type: draft 2020-12 calls 587.0 an integer, as editors do
    "a float port with no fraction": lambda d: isinstance(d.get("port"), float),
    # the model's range check runs after its digits pattern, and the pattern is shared
    # with the fast validator: the schema says digits, check says 1-65535
    "a digit-string port above 65535": lambda d: (
        isinstance(d.get("port"), str) and d["port"].isdigit() and int(d["port"]) > 65535
    ),
}


def _params(test: Any) -> list[Any]:
    return [mark.args[1] for mark in test.pytestmark if mark.name == "parametrize"][0]


def cases() -> list[tuple[str, Any]]:
    """(name, configuration): the model tests' own, valid and invalid."""
    smtp, graph = test_email.SEED_SMTP, test_email.SEED_GRAPH
    out: list[tuple[str, Any]] = [("seed smtp", smtp), ("seed msgraph", graph)]
    for change, pointer, _ in _params(test_email.test_msgraph_constraints):
        data = {k: v for k, v in {**graph, **change}.items() if v is not None}
        out.append((f"msgraph {pointer or '/'} {change}", data))
    for change, pointer, _ in _params(test_email.test_smtp_constraints):
        out.append((f"smtp {pointer} {change}", {**smtp, **change}))
    for data, pointer, _ in _params(test_email.test_unknown_properties_get_a_did_you_mean):
        out.append((f"unknown {pointer}", data))
    for data in _params(test_fast.test_edge_cases_agree_with_pydantic):
        out.append((f"edge {data}", data))
    for path in sorted((REPO / "tests/realworld").glob("*.json")):
        out.append((path.name, load_yaml(path, path.name).data))
    return out


def _properties(data: Any, *, listed: bool) -> Any:
    """``data`` with smtpProperties as IDM's list (the output) or as the mapping the model
    validates (compile turns the list into one first)."""
    if not isinstance(data, dict) or SMTP_PROPERTIES not in data:
        return data
    props = data[SMTP_PROPERTIES]
    if listed and isinstance(props, dict):
        props = [f"{k}={v}" if isinstance(v, str) else v for k, v in props.items()]
    elif not listed and isinstance(props, list) and all(isinstance(i, str) for i in props):
        props = dict(item.partition("=")[::2] for item in props)
    return {**data, SMTP_PROPERTIES: props}


def _composed(data: Any) -> Any:
    """An overlay's smtpProperties values as compose writes them (scalars as text)."""
    data = _properties(data, listed=False)
    props = data.get(SMTP_PROPERTIES) if isinstance(data, dict) else None
    if not isinstance(props, dict):
        return data
    text = {
        k: ("true" if v else "false") if isinstance(v, bool) else str(v)
        for k, v in props.items()
        if isinstance(v, str | int | float | bool)
    }
    return {**data, SMTP_PROPERTIES: text} if len(text) == len(props) else data


def check_accepts(data: Any, *, overlay: bool = False) -> bool:
    """check's verdict; for an overlay, a key the merge may still bring in is not missing."""
    config, problems = validate_email(
        _composed(data) if overlay else _properties(data, listed=False)
    )
    if overlay:
        problems = [p for p in problems if not p.message.startswith("missing required")]
        return not problems
    if problems or config is None:
        return False
    return not smtp_property_problems(config.smtpProperties)


def schema(name: str) -> jsonschema.protocols.Validator:
    loaded = json.loads((REPO / "schemas" / name).read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(loaded)


def as_json(data: Any) -> Any:
    """What an editor hands the schema: JSON keys are strings."""
    if isinstance(data, dict):
        return {str(k): as_json(v) for k, v in data.items()}
    if isinstance(data, list):
        return [as_json(v) for v in data]
    return data


def disagreements(schema_name: str, *, listed: bool) -> list[tuple[str, str | None]]:
    """(case, the inexpressible rule that explains it, or None) where the verdicts differ."""
    validator = schema(schema_name)
    found = []
    for name, data in cases():
        verdict = check_accepts(data, overlay=not listed)
        if validator.is_valid(as_json(_properties(data, listed=listed))) != verdict:
            why = [r for r, hit in INEXPRESSIBLE.items() if isinstance(data, dict) and hit(data)]
            case = f"{name}: check {'accepts' if verdict else 'refuses'}"
            found.append((case, why[0] if why else None))
    return found


def test_the_cases_hold_both_verdicts() -> None:
    verdicts = {check_accepts(data) for _, data in cases()}
    assert verdicts == {True, False}


def test_the_output_schema_agrees_with_check() -> None:
    found = disagreements("external.email.schema.json", listed=True)
    assert [case for case, why in found if why is None] == []
    assert {why for _, why in found} == set(INEXPRESSIBLE)  # each exception is still real


def test_the_overlay_schema_agrees_with_check_on_whole_configurations() -> None:
    found = disagreements("overlay.schema.json", listed=False)
    assert [case for case, why in found if why is None] == []


@pytest.mark.parametrize(
    ("overlay", "valid"),
    [
        ({"auth": {"password": {"$purpse": {"name": "idm.email.smtp.password"}}}}, False),
        ({"auth": {"password": {"$purpose": {"name": "idm.email.smtp.password"}}}}, True),
        ({"auth": {"password": {"$crypto": {"type": "x", "value": {}}}}}, True),
        ({"auth": {"password": "&{esv.email.password}"}}, True),
        ({"auth": {"password": None}}, True),  # null deletes
        ({"from": "not-an-address"}, False),
        ({"from": "Example <noreply@example.com>"}, True),
        ({"from": '"Example, Inc." <noreply@example.com>'}, True),
        ({"from": "&{esv.email.from}"}, True),
        ({"from": "noreply@example.com"}, True),
        ({"port": 587.5}, False),
        ({"port": "587"}, True),
        ({"port": "&{esv.email.port|587}"}, True),
        ({"port": {"$int": "&{esv.email.port}"}}, True),
        ({"type": None}, False),
        ({"type": "smtp"}, True),
        ({"type": "msgraph"}, True),
        ({"host": None}, True),
    ],
)
def test_the_overlay_schema_says_what_check_says(overlay: dict[str, Any], valid: bool) -> None:
    assert schema("overlay.schema.json").is_valid(overlay) is valid


def test_type_offers_smtp_and_msgraph_only() -> None:
    loaded = json.loads((REPO / "schemas/overlay.schema.json").read_text(encoding="utf-8"))
    offered = set()
    for variant in ("SmtpConfig", "MsGraphConfig"):
        prop = loaded["$defs"][variant]["properties"]["type"]
        offered |= {branch.get("const") for branch in prop.get("anyOf", [prop])}
    assert offered == {"smtp", "msgraph"}
