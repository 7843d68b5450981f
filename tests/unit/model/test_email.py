"""The model accepts the seed documents' samples and enforces their rules."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter

from promoter.model.email import VARIANTS, EmailConfig, MsGraphConfig, SmtpConfig
from promoter.model.messages import Problem, validate

ADAPTER: TypeAdapter[Any] = TypeAdapter(EmailConfig)

SEED_SMTP = {
    "host": "smtp.gmail.com",
    "port": 587,
    "debug": False,
    "auth": {"enable": True, "username": "admin", "password": "Passw0rd"},
    "from": "admin@example.com",
    "timeout": 300000,
    "writetimeout": 300000,
    "connectiontimeout": 300000,
    "starttls": {"enable": True},
    "ssl": {"enable": False},
    "smtpProperties": {
        "mail.smtp.ssl.protocols": "TLSv1.2",
        "mail.smtps.ssl.protocols": "TLSv1.2",
        "mail.mime.allowutf8": "true",
    },
    "threadPoolSize": 20,
}
SEED_GRAPH = {
    "type": "msgraph",
    "mailEndpoint": "https://graph.microsoft.com/v1.0/users/example@myTenant.onmicrosoft.com/sendMail",
    "from": "example@myTenant.onmicrosoft.com",
    "auth": {
        "enable": True,
        "type": "oauth2",
        "clientId": "clientId",
        "clientSecret": "clientSecret",
        "tokenEndpoint": "https://login.microsoftonline.com/myTenant.onmicrosoft.com/oauth2/v2.0/token",
        "scope": ["https://graph.microsoft.com/.default"],
    },
    "timeout": 300000,
    "writetimeout": 300000,
    "connectiontimeout": 300000,
    "threadPoolSize": 20,
}


def problems(data: Any) -> list[Problem]:
    return validate(ADAPTER, data, VARIANTS)[1]


def test_seed_samples_validate_with_seed_defaults() -> None:
    smtp = ADAPTER.validate_python(SEED_SMTP)
    assert isinstance(smtp, SmtpConfig) and smtp.type == "smtp"
    graph = ADAPTER.validate_python(SEED_GRAPH)
    assert isinstance(graph, MsGraphConfig)
    assert graph.auth.scopeDelimiter == " " and graph.auth.grantType == "client_credentials"


def test_defaults_from_the_seeds() -> None:
    config = ADAPTER.validate_python({"host": "h", "auth": {"enable": False}})
    assert (config.port, config.threadPoolSize) == (587, 20)
    assert (config.connectiontimeout, config.timeout, config.writetimeout) == (300000,) * 3
    assert config.auth.type == "basic" and config.starttls.enable is False


def test_secret_references_are_accepted_where_secrets_go() -> None:
    data = {
        **SEED_GRAPH,
        "auth": {
            **SEED_GRAPH["auth"],
            "clientId": {
                "$purpose": {"name": "idm.email.msgraph.credentials", "jsonPointer": "clientId"}
            },
            "clientSecret": {"$crypto": {"type": "x-simple-encryption", "value": {"data": "..."}}},
        },
    }
    assert problems(data) == []


@pytest.mark.parametrize(
    ("change", "pointer", "fragment"),
    [
        (
            {"auth": {**SEED_GRAPH["auth"], "grantType": "password"}},
            "/auth/grantType",
            "'client_credentials'",
        ),
        ({"auth": {**SEED_GRAPH["auth"], "type": "basic"}}, "/auth/type", "'oauth2'"),
        (
            {"auth": {**SEED_GRAPH["auth"], "scope": "https://graph.microsoft.com/.default"}},
            "/auth/scope",
            "scope must be a list of scopes; found the string",
        ),
        ({"auth": {**SEED_GRAPH["auth"], "scope": []}}, "/auth/scope", "at least 1"),
        ({"mailEndpoint": None}, "", "missing required property 'mailEndpoint'"),
        ({"host": "smtp.example.com"}, "/host", "unknown property 'host'"),
        ({"connectiontimeout": -1}, "/connectiontimeout", "greater than or equal to 0"),
        ({"type": "sendgrid"}, "/type", "'type' must be 'smtp' or 'msgraph'"),
    ],
)
def test_msgraph_constraints(change: dict[str, Any], pointer: str, fragment: str) -> None:
    data = {k: v for k, v in {**SEED_GRAPH, **change}.items() if v is not None}
    found = problems(data)
    assert any(p.pointer == pointer and fragment in p.message for p in found), found


@pytest.mark.parametrize(
    ("change", "pointer", "fragment"),
    [
        ({"port": [587]}, "/port", "port must be an integer, a digit string or a placeholder"),
        ({"port": "587x"}, "/port", "placeholder; found the string '587x'"),
        ({"port": "99999"}, "/port", "between 1 and 65535"),
        ({"port": 70000}, "/port", "less than or equal to 65535"),
        ({"threadPoolSize": 0}, "/threadPoolSize", "greater than or equal to 1"),
        ({"auth": {"username": "x"}}, "/auth", "missing required property 'enable'"),
        (
            {"auth": {"enable": "yes"}},
            "/auth/enable",
            "must be true or false; found the string 'yes'",
        ),
        ({"auth": {"enable": True, "type": "oauth2"}}, "/auth/type", "'basic'"),
        ({"from": "not an address"}, "/from", "email address"),
        ({"from": "not-an-address"}, "/from", "email address"),
        ({"port": 587.0}, "/port", "found the number 587.0"),
        (
            {"auth": {"enable": True, "username": "u", "password": {"$purpse": {"name": "x"}}}},
            "/auth/password",
            "found a mapping with $purpse",
        ),
        ({"type": None}, "/type", "must be 'smtp'"),
        ({"mailEndpoint": "https://x"}, "/mailEndpoint", "unknown property"),
    ],
)
def test_smtp_constraints(change: dict[str, Any], pointer: str, fragment: str) -> None:
    found = problems({**SEED_SMTP, **change})
    assert any(p.pointer == pointer and fragment in p.message for p in found), found


@pytest.mark.parametrize(
    ("data", "pointer", "hint"),
    [
        ({**SEED_SMTP, "prot": 1}, "/prot", "did you mean 'port'?"),
        (
            {**SEED_SMTP, "starttls": {"enabled": True}},
            "/starttls/enabled",
            "did you mean 'enable'?",
        ),
        (
            {**SEED_SMTP, "auth": {"enable": True, "pasword": "x"}},
            "/auth/pasword",
            "did you mean 'password'?",
        ),
        (
            {
                **SEED_GRAPH,
                "auth": {
                    **SEED_GRAPH["auth"],
                    "clientSecret": {"$purpose": {"name": "n", "jsonpointer": "x"}},
                },
            },
            "/auth/clientSecret/$purpose/jsonpointer",
            "did you mean 'jsonPointer'?",
        ),
        ({**SEED_GRAPH, "mailEndpont": "x"}, "/mailEndpont", "did you mean 'mailEndpoint'?"),
    ],
)
def test_unknown_properties_get_a_did_you_mean(data: Any, pointer: str, hint: str) -> None:
    found = [p for p in problems(data) if p.pointer == pointer]
    assert found and found[0].hint == hint, problems(data)


def test_msgraph_takes_external_rest_client_properties() -> None:
    data = {
        **SEED_GRAPH,
        "socketTimeout": "10 s",
        "maxConnections": 64,
        "hostnameVerifier": "STRICT",
        "proxy": {"proxyUri": "http://proxy:3128"},
    }
    assert problems(data) == []


def test_mistyped_javamail_properties_are_caught() -> None:
    from promoter.model.shapes import smtp_property_problems

    assert smtp_property_problems({"mail.smtp.sll.protocols": "TLSv1.2"}) == [
        (
            "mail.smtp.sll.protocols",
            "unknown JavaMail property 'mail.smtp.sll.protocols'",
            "did you mean 'mail.smtp.ssl.protocols'?",
        )
    ]
    assert smtp_property_problems({"smtp.ssl.protocols": "x"})[0][2] == "they start with 'mail.'"
    assert smtp_property_problems({"mail.smtp.connectionpoolsize": "2"}) == []
