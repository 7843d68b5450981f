"""The fast validator against pydantic: it may only accept what pydantic accepts, as pydantic
builds it, and it must accept the real configurations (or `check` would slow down again)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from pydantic import BaseModel, TypeAdapter, ValidationError

from promoter.files.yamlfile import load_yaml
from promoter.model import _plans
from promoter.model import fast as fastmodel
from promoter.model.email import EmailConfig
from promoter.model.plans import PLANS_PATH, generate
from promoter.model.settings import ProjectSettings
from promoter.model.shapes import MsGraphKind, SmtpKind
from tests.conftest import cli
from tests.support.configgen import email_configs, mutated, project_settings

ROOT = Path(__file__).resolve().parents[3]
REALWORLD = Path(__file__).resolve().parents[2] / "realworld"
EMAIL = TypeAdapter(EmailConfig)
PROJECT = TypeAdapter(ProjectSettings)


def plain(value: Any) -> Any:
    """A model object as comparable data: its class name, fields and extras; scalars typed."""
    if isinstance(value, BaseModel):
        fields = {name: plain(getattr(value, name)) for name in type(value).model_fields}
        return (type(value).__name__, fields, plain(value.model_extra))
    if isinstance(value, fastmodel.Validated):
        fields = {k: plain(v) for k, v in vars(value).items() if k != "model_extra"}
        return (type(value).__name__, fields, plain(value.model_extra))
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return (type(value).__name__, value)


def agrees(plan: dict[str, Any], adapter: TypeAdapter[Any], data: Any) -> bool:
    """Assert the fast validator is sound on ``data``; return whether it accepted it."""
    fast = fastmodel.validate(plan, data)
    try:
        slow = adapter.validate_python(data)
    except ValidationError as exc:
        assert fast is None, f"fast validator accepted what pydantic refuses: {exc}"
        return False
    if fast is not None:
        assert plain(fast) == plain(slow)
    return fast is not None


def test_the_plans_are_what_the_models_generate() -> None:
    assert PLANS_PATH.read_text(encoding="utf-8") == generate(), (
        "promoter/_plans.py drifted from the models: run 'promoter schema --write'"
    )


def corpus() -> list[tuple[str, Any]]:
    files = sorted(REALWORLD.glob("*.json")) + sorted((ROOT / "environments").glob("*.yaml"))
    return [(p.name, load_yaml(p, p.name).data) for p in files]


@pytest.mark.parametrize(("name", "data"), corpus(), ids=[n for n, _ in corpus()])
def test_every_real_world_config_the_model_accepts_takes_the_fast_path(
    name: str, data: Any
) -> None:
    try:
        EMAIL.validate_python(data)
    except ValidationError:
        assert fastmodel.validate(_plans.EMAIL, data) is None
        return
    assert agrees(_plans.EMAIL, EMAIL, data), f"{name}: valid, but the fast validator gave up"


def test_the_shipped_project_takes_the_fast_path() -> None:
    data = load_yaml(ROOT / "promoter.yaml", "promoter.yaml").data
    assert agrees(_plans.PROJECT, PROJECT, data)
    assert agrees(_plans.PROJECT, PROJECT, {})


DIFFERENTIAL = settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])


@DIFFERENTIAL
@given(email_configs())
def test_generated_email_configs_agree_with_pydantic(data: Any) -> None:
    agrees(_plans.EMAIL, EMAIL, data)


@DIFFERENTIAL
@given(mutated(email_configs()))
def test_near_miss_email_configs_agree_with_pydantic(data: Any) -> None:
    agrees(_plans.EMAIL, EMAIL, data)


@DIFFERENTIAL
@given(project_settings())
def test_generated_project_settings_agree_with_pydantic(data: Any) -> None:
    agrees(_plans.PROJECT, PROJECT, data)


@DIFFERENTIAL
@given(mutated(project_settings()))
def test_near_miss_project_settings_agree_with_pydantic(data: Any) -> None:
    agrees(_plans.PROJECT, PROJECT, data)


SMTP = {"host": "smtp.example.com", "from": "noreply@example.com"}


@pytest.mark.parametrize(
    "data",
    [
        {**SMTP, "port": "587\n"},  # a trailing newline: Python's '$' would take it, pydantic not
        {**SMTP, "port": " &{esv.email.port}\n"},
        {**SMTP, "port": True},
        {**SMTP, "port": 587.0},
        {**SMTP, "port": 0},
        {**SMTP, "port": "65536"},
        {**SMTP, "port": {"$int": "&{esv.p}", "x": 1}},
        {**SMTP, "port": {"$int": 5}},
        {**SMTP, "from": "noreply", "port": 587},
        {**SMTP, "from_": "a@b.c"},  # the field's own name: populate_by_name
        {**SMTP, "from_": "a@b.c", "from": "a@b.c"},  # both: pydantic refuses
        {**SMTP, 1: "x"},
        {**SMTP, "timeout": {"$number": "&{esv.t|1}"}},
        {**SMTP, "debug": "yes"},
        {**SMTP, "auth": {"enable": True, "username": "u", "password": {"$crypto": {"v": 1}}}},
        {**SMTP, "auth": {"enable": 1}},
        {**SMTP, "smtpProperties": {"mail.smtp.ssl.protocols": 1.2}},
        {**SMTP, "type": "msgrpah"},
        {"type": "msgraph", "mailEndpoint": "https://graph", "auth": {"type": "oauth2"}},
        {
            "type": "msgraph",
            "mailEndpoint": "https://graph.microsoft.com/v1.0/users/a/sendMail",
            "auth": {
                "type": "oauth2",
                "clientId": "&{esv.id}",
                "clientSecret": {"$purpose": {"name": "s"}},
                "tokenEndpoint": "https://login/t",
                "scope": {"$list": "&{esv.scope}"},
            },
            "proxy": {"$object": "&{esv.proxy}"},
            "maxConnections": 2,
        },
    ],
)
def test_edge_cases_agree_with_pydantic(data: Any) -> None:
    agrees(_plans.EMAIL, EMAIL, data)


@pytest.mark.parametrize(
    "data",
    [
        {"environments": {"dev": {"esvs": {"esv.a": 1, "esv.b": 1.5, "esv.c": True}}}},
        {"environments": {"dev": {"esvs": {"esv.a": {"$purpose": {"name": "x"}}}}}},
        {"environments": {"dev": {"target": {"idm": "https://idm.example.com", "timeout": 5}}}},
        {"environments": {"dev": {"target": {"idm": "ftp://x"}}}},
        {"environments": {"dev": {"target": {"aic": "https://t.example.com", "pollInterval": 0}}}},
        {"waivers": [{"rule": "EMAIL006", "env": "dev", "reason": "r", "expires": "2027-01-31"}]},
        {"waivers": [{"rule": "EMAIL006", "env": "dev", "reason": "r", "expires": "2027-02-31"}]},
        {"waivers": [{"rule": "EMAIL006", "env": "d", "reason": "r", "expires": date(2027, 1, 1)}]},
        {"waivers": [{"rule": "EMAIL006", "env": "dev", "reason": "r", "expires": 1_800_000_000}]},
        {"scan": {"allow": [{"fingerprint": "fp:0123456789abcdef", "reason": "r"}]}},
        {"scan": {"allow": [{"fingerprint": "fp:0123456789abcdef\n", "reason": "r"}]}},
    ],
)
def test_project_edge_cases_agree_with_pydantic(data: Any) -> None:
    agrees(_plans.PROJECT, PROJECT, data)


def test_objects_have_their_models_kind() -> None:
    smtp = fastmodel.validate(_plans.EMAIL, {**SMTP, "port": "2525"})
    graph_data = {
        "type": "msgraph",
        "mailEndpoint": "https://graph.microsoft.com/v1.0/users/a/sendMail",
        "auth": {
            "type": "oauth2",
            "clientId": "i",
            "clientSecret": "s",
            "tokenEndpoint": "https://login/t",
            "scope": ["https://graph.microsoft.com/.default"],
        },
    }
    graph = fastmodel.validate(_plans.EMAIL, graph_data)
    assert isinstance(smtp, SmtpKind) and smtp.port_number() == 2525
    assert isinstance(graph, MsGraphKind) and graph.auth.scopes() == graph_data["auth"]["scope"]
    assert smtp.model_copy(update={"host": "h"}).host == "h" and smtp.host == SMTP["host"]


def test_check_on_the_example_never_imports_pydantic(example: Path) -> None:
    probe = (
        "import sys\n"
        "from promoter.cli.main import main\n"
        "code = main(['check', '--no-cache'])\n"
        "print([m for m in ('pydantic', 'pydantic_core') if m in sys.modules])\n"
        "sys.exit(code)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], cwd=example, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "[]"


def test_both_validators_give_the_same_check_report(example: Path) -> None:
    (example / "environments" / "staging.yaml").write_text(
        "host: smtp.example.com\nport: '25'\nstarttls: {enable: false}\n"
        "from: Example <noreply@example.com>\n"
    )
    (example / "environments" / "prod.yaml").write_text("port: [587]\n")
    fast = cli("check", "--no-cache", "--format", "json", cwd=example)
    slow = cli("check", "--no-cache", "--format", "json", cwd=example, env=PYDANTIC_ONLY)
    assert (fast.code, fast.out, fast.err) == (slow.code, slow.out, slow.err)
    report = {e["env"]: e for e in json.loads(fast.out)["environments"]}
    assert {f["rule"] for f in report["staging"]["findings"]} >= {"EMAIL003", "EMAIL006"}
    assert "port must be an integer, a digit string or a placeholder; found a list" in fast.out


PYDANTIC_ONLY = {"PROMOTER_VALIDATOR": "pydantic"}


def test_generation_stops_at_what_the_fast_validator_does_not_implement() -> None:
    import re

    from pydantic import ConfigDict, Field, field_validator

    from promoter.model.plangen import Planner, UnsupportedSchema

    class Stripped(BaseModel):
        model_config = ConfigDict(str_strip_whitespace=True)
        host: str

    class Compiled(BaseModel):
        host: str = Field(pattern=re.compile("^a"))

    class WithInfo(BaseModel):
        host: str

        @field_validator("host")
        @classmethod
        def _lower(cls, value: str) -> str:
            return value.lower()

    for model, named in ((Stripped, "str_strip_whitespace"), (Compiled, "not a string")):
        with pytest.raises(UnsupportedSchema, match=named):
            Planner().plan(TypeAdapter(model).core_schema)
    with pytest.raises(UnsupportedSchema, match="not a function of promoter.model.shapes"):
        Planner().plan(TypeAdapter(WithInfo).core_schema)
