"""The differential test's generators draw what they claim, and pydantic's edge behaviour.

Each generator test draws a bounded sample with @given, validates every draw with
pydantic, and asserts the valid share and that every union branch was reached. The
table at the end pins what pydantic does at the edges the fast validator must copy.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from datetime import date
from typing import Annotated, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import Field, TypeAdapter, ValidationError

from promoter.model.email import CryptoValue, EmailConfig, MsGraphConfig, SmtpConfig
from promoter.model.settings import EnvSettings, ProjectSettings
from tests.support.configgen import (
    email_configs,
    mutations,
    project_settings,
    shape,
)

EMAIL: TypeAdapter[Any] = TypeAdapter(EmailConfig)
PROJECT: TypeAdapter[Any] = TypeAdapter(ProjectSettings)
DRAWS = 400
# Shares and branch coverage are properties of the generators, so these samples are the same on
# every run (derandomize): hypothesis draws are strongly correlated, and a random 400 can miss a
# branch that is 1 in 20. The differential test itself keeps exploring.
_bounded = settings(
    max_examples=DRAWS,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def valid(adapter: TypeAdapter[Any], data: Any) -> bool:
    try:
        adapter.validate_python(data)
    except ValidationError:
        return False
    return True


def sample(strategy: st.SearchStrategy[Any]) -> list[Any]:
    """Up to DRAWS draws of ``strategy``, collected by a bounded @given run."""
    drawn: list[Any] = []

    @_bounded
    @given(strategy)
    def collect(data: Any) -> None:
        drawn.append(data)

    collect()
    assert len(drawn) >= DRAWS // 2
    return drawn


def plain(data: Any) -> bool:
    """Only what the YAML loader hands over: str keys, JSON scalars, lists, dates."""
    if isinstance(data, dict):
        return all(isinstance(k, str) and plain(v) for k, v in data.items())
    if isinstance(data, list):
        return all(plain(v) for v in data)
    if isinstance(data, float):
        return math.isfinite(data)
    return data is None or type(data) in (str, int, bool, date)


def keys_of(model: type[Any]) -> set[str]:
    return {info.alias or name for name, info in model.model_fields.items()}


def test_email_configs_validate_and_reach_every_branch() -> None:
    drawn = sample(email_configs())
    ok = [d for d in drawn if valid(EMAIL, d)]
    assert len(ok) / len(drawn) >= 0.9
    assert all(plain(d) for d in drawn)

    shapes: dict[str, set[str]] = {}
    present: Counter[str] = Counter()
    seen_keys: set[str] = set()

    def note(field: str, value: Any) -> None:
        shapes.setdefault(field, set()).add(shape(value))

    for d in drawn:
        kind = d.get("type", "smtp")
        note("type", d.get("type"))
        seen_keys.update(d)
        for key in d:
            present[f"{kind}.{key}"] += 1
        for key in ("port", "threadPoolSize", "timeout", "connectiontimeout", "writetimeout"):
            if key in d:
                note(key, d[key])
        for key in ("debug", "reuseConnections", "retryRequests", "maxConnections", "proxy"):
            if key in d:
                note(key, d[key])
        for key in ("starttls", "ssl"):
            if "enable" in d.get(key, {}):
                note("toggle", d[key]["enable"])
        note("smtpProperties", bool(d.get("smtpProperties")) if "smtpProperties" in d else None)
        auth = d.get("auth")
        if isinstance(auth, dict):
            note("auth.enable", auth.get("enable"))
            for key in ("username", "password", "clientId", "clientSecret"):
                if key in auth:
                    note("secret", auth[key])
                    if isinstance(auth[key], dict) and "$crypto" in auth[key]:
                        shapes.setdefault("crypto-extra", set()).add(str(len(auth[key]) > 1))
            if "scope" in auth:
                note("scope", auth["scope"])
        else:
            note("auth", auth)

    assert shapes["port"] == {"int", "digits", "placeholder", "$int", "$number"}
    for key in ("threadPoolSize", "timeout", "connectiontimeout", "writetimeout"):
        assert {"int", "$int", "$number"} <= shapes[key], key
    assert shapes["debug"] == shapes["toggle"] == {"bool", "$bool"}
    assert shapes["reuseConnections"] == {"none", "bool", "$bool"}
    assert shapes["maxConnections"] == {"none", "int", "$int", "$number"}
    assert shapes["proxy"] == {"none", "mapping", "$object"}
    assert shapes["secret"] >= {"none", "str", "placeholder", "$purpose", "$crypto"}
    assert shapes["crypto-extra"] == {"True", "False"}  # keys beside $crypto, and none
    assert shapes["scope"] == {"list", "$list", "$array"}
    assert shapes["auth"] == {"none"} and shapes["smtpProperties"] == {"none", "bool"}
    assert any(d.get("smtpProperties") == {} for d in drawn)
    assert shapes["type"] == {"none", "str"} and {d.get("type") for d in drawn} == {
        None,
        "smtp",
        "msgraph",
    }
    # Aliases and python field names (populate_by_name) are both drawn.
    assert {"from", "from_", "_id", "id_", "_rev", "rev_"} <= seen_keys
    # Every field of both variants is drawn present, and (unless required) absent.
    for kind, model in (("smtp", SmtpConfig), ("msgraph", MsGraphConfig)):
        total = sum(1 for d in drawn if d.get("type", "smtp") == kind)
        for key in keys_of(model):
            name = {"from": "from_", "_id": "id_", "_rev": "rev_"}.get(key, key)
            count = present[f"{kind}.{key}"] + present[f"{kind}.{name}"] * (name != key)
            assert count > 0, f"{kind}.{key} never drawn"
            required = model.model_fields[name].is_required() or key == "type"
            assert required or count < total, f"{kind}.{key} always drawn"


def test_project_settings_validate_and_reach_every_branch() -> None:
    drawn = sample(project_settings())
    ok = [d for d in drawn if valid(PROJECT, d)]
    assert len(ok) / len(drawn) >= 0.9
    assert all(plain(d) for d in drawn)

    seen: dict[str, set[str]] = {}

    def note(field: str, value: str) -> None:
        seen.setdefault(field, set()).add(value)

    for d in drawn:
        for key in ProjectSettings.model_fields:
            note("top", f"{key}:{key in d}")
        for env in d.get("environments", {}).values():
            for key in env:
                note("env", key)
            if "secrets" in env:
                note("secrets", shape(env["secrets"]))
            target = env.get("target")
            if isinstance(target, dict):
                kind = next(k for k in ("aic", "idm", "file") if k in target)
                note("target", kind)
                auth = [
                    k
                    for k in ("bearerEnv", "usernameEnv", "oauth2", "serviceAccount")
                    if k in target
                ]
                note("auth", f"{kind}:{auth[0] if auth else 'none'}")
            esvs = env.get("esvs")
            if esvs is not None:
                note("esvs", shape(esvs))
            if isinstance(esvs, dict):
                for value in esvs.values():
                    marker = next(iter(value)) if isinstance(value, dict) else None
                    note("esv", marker if marker else type(value).__name__)
            if "properties" in env:
                note("properties", shape(env["properties"]))
        for waiver in d.get("waivers", []):
            expires = waiver["expires"]
            iso = isinstance(expires, str) and re.fullmatch(r"\d{4}-\d\d-\d\d", expires)
            note("expires", "iso" if iso else type(expires).__name__)

    assert seen["top"] == {f"{k}:{b}" for k in ProjectSettings.model_fields for b in (True, False)}
    assert seen["env"] == set(EnvSettings.model_fields)
    assert seen["secrets"] >= {"none", "str", "mapping"}
    assert seen["target"] == {"file", "idm", "aic"}
    assert {a.split(":")[1] for a in seen["auth"]} == {
        "none",
        "bearerEnv",
        "usernameEnv",
        "oauth2",
        "serviceAccount",
    }
    assert {a.split(":")[0] for a in seen["auth"]} == {"idm", "aic", "file"}
    assert seen["esvs"] == seen["properties"] == {"list", "mapping"}
    assert seen["esv"] >= {"NoneType", "str", "int", "float", "bool", "$purpose", "purpose"}
    assert seen["expires"] == {"date", "iso", "str", "int", "float"}


KINDS = {"keys", "number", "placeholder", "shape", "text", "type", "typed"}


@pytest.mark.parametrize(
    ("adapter", "base", "kinds"),
    [(EMAIL, email_configs(), KINDS | {"range", "value"}), (PROJECT, project_settings(), KINDS)],
    ids=["email", "project"],
)
def test_mutations_are_split_between_valid_and_invalid(
    adapter: TypeAdapter[Any], base: st.SearchStrategy[Any], kinds: set[str]
) -> None:
    drawn = sample(mutations(base))
    results = [valid(adapter, data) for _, data in drawn]
    share = sum(results) / len(results)
    assert 0.2 <= share <= 0.8, share
    seen = {
        part.split(": ", 1)[1].split("/")[0] for label, _ in drawn for part in label.split("; ")
    }
    assert seen >= kinds


# --- pydantic at the edges ---------------------------------------------------------------------

H = {"host": "h"}
AUTH = {"enable": True}


def _waiver(expires: Any) -> dict[str, Any]:
    return {"waivers": [{"rule": "EMAIL006", "env": "dev", "reason": "r", "expires": expires}]}


def _env(**settings: Any) -> dict[str, Any]:
    return {"environments": {"dev": settings}}


# (adapter, data, None when valid or the first error's type)
EDGES: list[tuple[str, TypeAdapter[Any], Any, str | None]] = [
    ("port float 587.0 (strict int)", EMAIL, {**H, "port": 587.0}, "expected"),
    ("port True", EMAIL, {**H, "port": True}, "expected"),
    ("port '587\\n' (not isdigit)", EMAIL, {**H, "port": "587\n"}, "expected"),
    ("port '0587'", EMAIL, {**H, "port": "0587"}, None),
    (
        "port '00000' passes the pattern, not the range",
        EMAIL,
        {**H, "port": "00000"},
        "value_error",
    ),
    ("port non-ASCII digits", EMAIL, {**H, "port": "٥٨٧"}, "expected"),
    ("port ' &{a} '", EMAIL, {**H, "port": " &{a} "}, None),
    ("port '\\n&{a}\\n'", EMAIL, {**H, "port": "\n&{a}\n"}, None),
    ("port '&{a|}'", EMAIL, {**H, "port": "&{a|}"}, None),
    ("port '&{a}x'", EMAIL, {**H, "port": "&{a}x"}, "expected"),
    ("port '&{}'", EMAIL, {**H, "port": "&{}"}, "expected"),
    ("port 2**63 (above 65535)", EMAIL, {**H, "port": 2**63}, "less_than_equal"),
    ("timeout 2**64 (no upper bound)", EMAIL, {**H, "timeout": 2**64}, None),
    ("$int pattern is searched", EMAIL, {**H, "port": {"$int": "x&{a}y"}}, None),
    ("$int with a final newline", EMAIL, {**H, "port": {"$int": "&{a}\n"}}, None),
    ("$int 5", EMAIL, {**H, "port": {"$int": 5}}, "string_type"),
    ("{value: ...} for $int", EMAIL, {**H, "port": {"value": "&{a}"}}, "expected"),
    ("$int and value", EMAIL, {**H, "timeout": {"$int": "&{a}", "value": "&{b}"}}, "expected"),
    ("from_ alone", EMAIL, {**H, "from_": "a@b.c"}, None),
    ("from and from_", EMAIL, {**H, "from": "a@b.c", "from_": "a@b.c"}, "extra_forbidden"),
    ("from_ None beside from", EMAIL, {**H, "from": "a@b.c", "from_": None}, "extra_forbidden"),
    ("_id and id_", EMAIL, {**H, "_id": "a", "id_": "a"}, "extra_forbidden"),
    ("from with a final newline", EMAIL, {**H, "from": "a@b.c\n"}, None),
    ("from holding '&{' only", EMAIL, {**H, "from": "&{x"}, None),
    ("debug 1", EMAIL, {**H, "debug": 1}, "expected"),
    ("debug 'true'", EMAIL, {**H, "debug": "true"}, "expected"),
    (
        "password {purpose: ...}",
        EMAIL,
        {**H, "auth": {**AUTH, "password": {"purpose": {"name": "x"}}}},
        "expected",
    ),
    (
        "password $purpose and purpose",
        EMAIL,
        {**H, "auth": {**AUTH, "password": {"$purpose": {"name": "x"}, "purpose": {"name": "x"}}}},
        "extra_forbidden",
    ),
    (
        "$crypto beside $purpose",
        EMAIL,
        {**H, "auth": {**AUTH, "password": {"$crypto": {}, "$purpose": {"name": ""}}}},
        None,
    ),
    ("int key", EMAIL, {**H, 1: "x"}, "invalid_key"),
    ("smtpProperties int key", EMAIL, {**H, "smtpProperties": {1: "x"}}, "string_type"),
    ("type None is smtp's", EMAIL, {**H, "type": None}, "literal_error"),
    ("type 'SMTP'", EMAIL, {**H, "type": "SMTP"}, "invalid_type"),
    (
        "proxy $object beside a key",
        EMAIL,
        {
            "type": "msgraph",
            "mailEndpoint": "x",
            "proxy": {"$object": "&{p}", "x": 1},
            "auth": {
                "type": "oauth2",
                "clientId": "a",
                "clientSecret": "b",
                "tokenEndpoint": "t",
                "scope": ["s"],
            },
        },
        "extra_forbidden",
    ),
    ("expires date", PROJECT, _waiver(date(2025, 1, 1)), None),
    ("expires 'YYYY-MM-DD'", PROJECT, _waiver("2025-01-01"), None),
    ("expires 0 (unix epoch)", PROJECT, _waiver(0), None),
    ("expires midnight unix seconds", PROJECT, _waiver(1_735_689_600), None),
    ("expires same as a string", PROJECT, _waiver("1735689600"), None),
    ("expires as milliseconds", PROJECT, _waiver(1_735_689_600_000), None),
    ("expires not midnight", PROJECT, _waiver(1_700_000_000), "date_from_datetime_inexact"),
    ("expires 20250101", PROJECT, _waiver(20250101), "date_from_datetime_inexact"),
    ("expires 1.5", PROJECT, _waiver(1.5), "date_from_datetime_inexact"),
    ("expires midnight datetime", PROJECT, _waiver("2025-01-01T00:00:00Z"), None),
    ("expires 00:00:01", PROJECT, _waiver("2025-01-01T00:00:01"), "date_from_datetime_inexact"),
    ("expires '2025-1-1'", PROJECT, _waiver("2025-1-1"), "date_from_datetime_parsing"),
    (
        "expires with a final newline",
        PROJECT,
        _waiver("2025-01-01\n"),
        "date_from_datetime_parsing",
    ),
    ("expires True", PROJECT, _waiver(True), "date_type"),
    (
        "rule pattern is schema-only",
        PROJECT,
        {"waivers": [{"rule": "nope", "env": "d", "reason": "r", "expires": "2025-01-01"}]},
        None,
    ),
    (
        "fingerprint with a final newline ($ is end of text)",
        PROJECT,
        {"scan": {"allow": [{"fingerprint": "fp:0123456789abcdef\n", "reason": "r"}]}},
        "string_pattern_mismatch",
    ),
    ("strict float takes an int", PROJECT, _env(target={"idm": "https://x", "timeout": 5}), None),
    (
        "strict float refuses a bool",
        PROJECT,
        _env(target={"idm": "https://x", "timeout": True}),
        "float_type",
    ),
    (
        "strict int refuses 3.0",
        PROJECT,
        _env(target={"idm": "https://x", "retries": 3.0}),
        "int_type",
    ),
    (
        "esv {purpose: ...} (populate_by_name here)",
        PROJECT,
        _env(esvs={"esv.a": {"purpose": {"name": "x"}}}),
        None,
    ),
    (
        "esv nan (the loader refuses it, the model does not)",
        PROJECT,
        _env(esvs={"esv.a": math.nan}),
        None,
    ),
    (
        "idm and file target: idm wins",
        PROJECT,
        _env(target={"file": "x", "idm": "https://x"}),
        "extra_forbidden",
    ),
    ("empty target is a file target", PROJECT, _env(target={}), "missing"),
    ("idm URL with a final newline", PROJECT, _env(target={"idm": "https://x\n"}), None),
]


@pytest.mark.parametrize(
    ("adapter", "data", "error"), [e[1:] for e in EDGES], ids=[e[0] for e in EDGES]
)
def test_pydantic_edge(adapter: TypeAdapter[Any], data: Any, error: str | None) -> None:
    try:
        adapter.validate_python(data)
    except ValidationError as exc:
        assert exc.errors()[0]["type"] == error
    else:
        assert error is None


def test_pattern_dollar_is_end_of_text_unlike_python_re() -> None:
    digits = TypeAdapter(Annotated[str, Field(pattern=r"^[0-9]{1,5}$")])
    assert re.match(r"^[0-9]{1,5}$", "587\n")
    with pytest.raises(ValidationError):
        digits.validate_python("587\n")


def test_crypto_beside_crypto_keeps_both() -> None:
    value = CryptoValue.model_validate({"$crypto": {"a": 1}, "crypto": 2})
    assert value.crypto == {"a": 1}
    assert value.model_extra == {"crypto": 2}
