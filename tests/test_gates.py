from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import TypeAdapter

from promoter.errors import Location
from promoter.findings import Finding
from promoter.gates import SEVERITY, GateInput, run_gates
from promoter.model import EmailConfig
from promoter.project import Tier, Waiver
from promoter.references import Unresolved

TIERS: tuple[Tier, ...] = ("development", "staging", "production")
SMTP: dict[str, Any] = {
    "host": "smtp.example.com",
    "port": 587,
    "from": "noreply@example.com",
    "auth": {"enable": True, "username": "u", "password": {"$purpose": {"name": "pw"}}},
    "starttls": {"enable": True},
    "smtpProperties": {
        "mail.smtp.ssl.protocols": "TLSv1.2 TLSv1.3",
        "mail.smtp.starttls.required": "true",
    },
}
GRAPH: dict[str, Any] = {
    "type": "msgraph",
    "mailEndpoint": "https://graph.microsoft.com/v1.0/users/a@b.onmicrosoft.com/sendMail",
    "from": "a@b.onmicrosoft.com",
    "auth": {
        "type": "oauth2",
        "clientId": {"$purpose": {"name": "c", "jsonPointer": "clientId"}},
        "clientSecret": {"$purpose": {"name": "c", "jsonPointer": "clientSecret"}},
        "tokenEndpoint": "https://login.microsoftonline.com/t/oauth2/v2.0/token",
        "scope": ["https://graph.microsoft.com/.default"],
    },
}


def with_changes(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    data = {**base}
    for key, value in changes.items():
        path = key.split("__")
        node = data
        for part in path[:-1]:
            node[part] = dict(node.get(part, {}))
            node = node[part]
        if value is None:
            node.pop(path[-1], None)
        else:
            node[path[-1]] = value
    return data


def gate(data: dict[str, Any], tier: Tier, **kwargs: Any) -> list[Finding]:
    config = TypeAdapter(EmailConfig).validate_python(data)
    gate_input = GateInput(env="e", tier=tier, config=config, data=data, **kwargs)
    return run_gates(gate_input, lambda p: (p, Location("e.yaml", 1, 1)), today=date(2026, 1, 1))


def rules(data: dict[str, Any], tier: Tier, **kwargs: Any) -> dict[str, str]:
    return {f"{f.rule}{f.pointer}": f.severity for f in gate(data, tier, **kwargs)}


@pytest.mark.parametrize("base", [SMTP, GRAPH], ids=["smtp", "msgraph"])
@pytest.mark.parametrize("tier", TIERS)
def test_clean_configs_have_no_findings(base: dict[str, Any], tier: Tier) -> None:
    assert gate(base, tier) == []


CASES: list[tuple[str, dict[str, Any], str, tuple[str | None, str | None, str | None]]] = [
    ("no host", with_changes(SMTP, host=None), "EMAIL001", (None, "deny", "deny")),
    ("empty host", with_changes(SMTP, host="  "), "EMAIL001/host", (None, "deny", "deny")),
    (
        "plain password",
        with_changes(SMTP, auth__password="pw"),
        "EMAIL002/auth/password",
        ("warn", "deny", "deny"),
    ),
    (
        "plain clientSecret",
        with_changes(GRAPH, auth__clientSecret="x"),
        "EMAIL002/auth/clientSecret",
        ("warn", "deny", "deny"),
    ),
    ("no tls", with_changes(SMTP, starttls=None), "EMAIL003", ("warn", "warn", "deny")),
    (
        "starttls not required",
        with_changes(SMTP, smtpProperties={"mail.smtp.ssl.protocols": "TLSv1.2"}),
        "EMAIL003/starttls/enable",
        (None, "warn", "warn"),
    ),
    (
        "weak protocol",
        with_changes(
            SMTP,
            smtpProperties={
                "mail.smtp.ssl.protocols": "TLSv1 TLSv1.2",
                "mail.smtp.starttls.required": "true",
            },
        ),
        "EMAIL004/smtpProperties/mail.smtp.ssl.protocols",
        ("deny", "deny", "deny"),
    ),
    ("debug", with_changes(SMTP, debug=True), "EMAIL005/debug", (None, "warn", "deny")),
    ("port 25", with_changes(SMTP, port=25), "EMAIL006/port", (None, "warn", "warn")),
    (
        "allowutf8 on msgraph",
        with_changes(GRAPH, smtpProperties={"mail.mime.allowutf8": "true"}),
        "EMAIL007/smtpProperties/mail.mime.allowutf8",
        ("deny", "deny", "deny"),
    ),
    (
        "utf8 from without allowutf8",
        with_changes(SMTP, **{"from": "zoë@example.com"}),
        "EMAIL007/from",
        ("deny", "deny", "deny"),
    ),
    (
        "http token endpoint",
        with_changes(GRAPH, auth__tokenEndpoint="http://t/token"),
        "EMAIL008/auth/tokenEndpoint",
        ("warn", "deny", "deny"),
    ),
    (
        "http mail endpoint",
        with_changes(GRAPH, mailEndpoint="http://g/sendMail"),
        "EMAIL008/mailEndpoint",
        ("warn", "deny", "deny"),
    ),
    ("no from", with_changes(SMTP, **{"from": None}), "EMAIL010", ("warn", "warn", "warn")),
    (
        "timeout 0",
        with_changes(SMTP, writetimeout=0),
        "EMAIL011/writetimeout",
        (None, "warn", "warn"),
    ),
    (
        "ssl and starttls",
        with_changes(SMTP, port=465, ssl={"enable": True}),
        "EMAIL012/ssl/enable",
        ("warn", "warn", "warn"),
    ),
    ("465 without ssl", with_changes(SMTP, port=465), "EMAIL012/port", ("warn", "warn", "warn")),
    (
        "ssl on 587",
        with_changes(SMTP, starttls=None, ssl={"enable": True}),
        "EMAIL012/port",
        ("warn", "warn", "warn"),
    ),
    (
        "smtps only",
        with_changes(
            SMTP,
            smtpProperties={
                "mail.smtps.ssl.protocols": "TLSv1.2",
                "mail.smtp.starttls.required": "true",
            },
        ),
        "EMAIL014/smtpProperties/mail.smtps.ssl.protocols",
        ("warn", "warn", "warn"),
    ),
]


@pytest.mark.parametrize(
    ("data", "key", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_rule_has_the_severity_of_its_tier(
    data: dict[str, Any], key: str, expected: tuple[str | None, ...]
) -> None:
    got = tuple(rules(data, tier).get(key) for tier in TIERS)
    assert got == expected


def test_utf8_from_with_allowutf8_is_fine() -> None:
    data = with_changes(SMTP, **{"from": "zoë@example.com"})
    data["smtpProperties"] = {**SMTP["smtpProperties"], "mail.mime.allowutf8": "true"}
    assert gate(data, "production") == []


def test_esv_placeholders_are_not_plaintext() -> None:
    data = with_changes(SMTP, auth__password="&{esv.email.password}")
    assert "EMAIL002/auth/password" not in rules(data, "production")


def test_built_in_smtp_skips_transport_rules() -> None:
    data = {"auth": {"enable": False}, "from": "a@example.com"}
    assert rules(data, "development") == {}
    assert rules(data, "production") == {"EMAIL001": "deny"}


def test_unresolved_reference_is_deny_or_warn_when_the_store_is_absent() -> None:
    missing = Unresolved("/auth/password", "secret store secrets/e/ does not exist", None, True)
    wrong = Unresolved("/auth/password", "jsonPointer 'x' does not resolve", None, False)
    assert rules(SMTP, "staging", unresolved=(missing,)) == {"EMAIL009/auth/password": "deny"}
    soft = rules(SMTP, "staging", unresolved=(missing,), store_optional=True)
    assert soft == {"EMAIL009/auth/password": "warn"}
    hard = rules(SMTP, "staging", unresolved=(wrong,), store_optional=True)
    assert hard == {"EMAIL009/auth/password": "deny"}


def test_waivers_waive_until_they_expire() -> None:
    data = with_changes(SMTP, port=25)
    live = Waiver(
        "EMAIL006", "e", "relay listens on 25", date(2026, 6, 1), Location("p.yaml", 3, 5)
    )
    expired = Waiver("EMAIL006", "e", "old", date(2025, 6, 1), Location("p.yaml", 4, 5))
    config = TypeAdapter(EmailConfig).validate_python(data)
    gate_input = GateInput(env="e", tier="staging", config=config, data=data)

    def locate(pointer: str) -> tuple[str, Location]:
        return pointer, Location("e.yaml", 1, 1)

    [waived] = run_gates(gate_input, locate, (live,), today=date(2026, 1, 1))
    assert waived.waived == "relay listens on 25" and not waived.blocking
    [still] = run_gates(gate_input, locate, (expired,), today=date(2026, 1, 1))
    assert still.waived is None
    assert "waiver expired 2025-06-01, p.yaml:4:5" in still.message


def test_every_rule_in_the_table_has_a_rule_function() -> None:
    from promoter.gates import RULES

    # EMAIL013 and EMAIL016 are promotion rules (promote.py, aic_promotion.py).
    documented = {(rule.__doc__ or "").split(":")[0] for rule in RULES}
    assert {key.split("/")[0] for key in SEVERITY} - {"EMAIL013", "EMAIL016"} == documented
