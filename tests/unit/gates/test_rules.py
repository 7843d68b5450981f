from __future__ import annotations

from datetime import date
from types import MappingProxyType
from typing import Any

import pytest
from pydantic import TypeAdapter

from promoter.compile.references import Unresolved
from promoter.errors import Location
from promoter.findings import SEVERITY, Finding, Tier
from promoter.gates.base import GateInput
from promoter.gates.run import run_gates
from promoter.model.email import EmailConfig
from promoter.model.placeholders import Values
from promoter.project.types import Waiver

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
    (
        "graph from is not the mailbox",
        with_changes(GRAPH, **{"from": "Alerts <alerts@b.example>"}),
        "EMAIL018/from",
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
    from promoter.gates.run import RULES

    # EMAIL013 and EMAIL016 are promotion rules (promote.py, aic_promotion.py).
    documented = {(rule.__doc__ or "").split(":")[0] for rule in RULES}
    assert {key.split("/")[0] for key in SEVERITY} - {"EMAIL013", "EMAIL016"} == documented


# --- real-world configurations: the value the environment will use --------------------------

RELAY = "smtp-relay.fr-platform.svc.cluster.local"


def rules_of(found: list[Finding], severity: str = "deny") -> list[str]:
    return sorted(f.rule for f in found if f.severity == severity)


@pytest.mark.parametrize(
    ("changes", "pointer", "why"),
    [
        ({"host": f"&{{aic.smtp.relay.host|{RELAY}}}"}, "/host", "host is AIC's own"),
        ({"host": "&{aic.smtp.relay.host}"}, "/host", "host is AIC's own"),
        ({"host": RELAY.upper() + "."}, "/host", "host is AIC's built-in relay"),
        ({"host": f"&{{esv.email.host|{RELAY}}}"}, "/host", "host defaults to AIC's built-in"),
        ({"host": "&{esv.email.host}"}, "/host", "host is empty in this environment"),
        (
            {"auth__username": "&{aic.customer.sasl.user|x@y.z}"},
            "/auth/username",
            "auth.username is AIC's built-in relay credential",
        ),
        (
            {"auth__password": "&{aic.customer.sasl.pass}"},
            "/auth/password",
            "auth.password is AIC's built-in relay credential",
        ),
        ({"host": None}, "", "no host is set"),
        ({"host": "  "}, "/host", "no host is set"),
    ],
)
def test_email001_catches_the_built_in_relay_as_aic_stores_it(
    changes: dict[str, Any], pointer: str, why: str
) -> None:
    values = Values(esvs=MappingProxyType({"esv.email.host": ""}))
    data = with_changes(SMTP, **changes)
    for tier in ("staging", "production"):
        [finding] = [f for f in gate(data, tier, values=values) if f.rule == "EMAIL001"]
        assert finding.severity == "deny" and finding.pointer == pointer
        assert finding.message.startswith(f"built-in SMTP: {why}")
        assert "at most 10 messages a minute" in finding.message
        assert "noreply@<tenant-fqdn>" in finding.message and "OTP" in finding.message
    assert "EMAIL001" not in rules_of(gate(data, "development", values=values))


def test_email001_does_not_guess_an_unknown_host() -> None:
    data = with_changes(SMTP, host="&{esv.email.host}")
    values = Values(esvs=MappingProxyType({"esv.email.host": None}))
    assert rules_of(gate(data, "production", values=values)) == []
    known = Values(esvs=MappingProxyType({"esv.email.host": RELAY}))
    assert rules_of(gate(data, "production", values=known)) == ["EMAIL001"]


@pytest.mark.parametrize(
    ("auth", "pointer"),
    [
        ({"enable": True, "username": "u"}, "/auth/enable"),
        ({"enable": True, "password": {"$purpose": {"name": "pw"}}}, "/auth/enable"),
        (
            {"enable": True, "username": "", "password": {"$purpose": {"name": "pw"}}},
            "/auth/username",
        ),
        ({"enable": {"$bool": "&{esv.auth|false}"}, "username": "u"}, "/auth/enable"),
    ],
)
def test_email015_auth_enabled_without_credentials_is_denied_in_every_tier(
    auth: dict[str, Any], pointer: str
) -> None:
    data = with_changes(SMTP, auth=auth)
    values = Values(esvs=MappingProxyType({"esv.auth": "true"}))
    for tier in TIERS:
        [finding] = [f for f in gate(data, tier, values=values) if f.rule == "EMAIL015"]
        assert finding.severity == "deny" and finding.pointer == pointer
        assert "IDM's email service does not start" in finding.message


@pytest.mark.parametrize(
    "auth",
    [
        None,
        {"enable": False},
        {"enable": False, "password": {"$crypto": {"type": "x-simple-encryption", "value": {}}}},
        {"enable": True, "username": {"$crypto": {"value": {}}}, "password": "&{esv.pw}"},
        {"enable": {"$bool": "&{esv.unknown}"}, "username": "u"},
    ],
)
def test_email015_is_quiet_when_credentials_are_not_needed_or_present(
    auth: dict[str, Any] | None,
) -> None:
    data = with_changes(SMTP, auth=auth)
    for tier in TIERS:
        assert "EMAIL015" not in rules_of(gate(data, tier))


def test_a_digit_string_or_placeholder_port_25_is_port_25() -> None:
    for port in ("25", "&{esv.email.port}", {"$int": "&{esv.email.port}"}, "&{p|25}"):
        values = Values(esvs=MappingProxyType({"esv.email.port": "25"}))
        found = gate(with_changes(SMTP, port=port), "staging", values=values)
        assert rules_of(found, "warn") == ["EMAIL006"], port
    unknown = gate(with_changes(SMTP, port="&{esv.email.port}"), "staging")
    assert "EMAIL006" not in rules_of(unknown, "warn")


def test_port_465_as_a_string_without_ssl_is_email012() -> None:
    found = gate(with_changes(SMTP, port="465", starttls__enable=False), "development")
    assert any(f.rule == "EMAIL012" and f.pointer == "/port" for f in found)


def test_a_placeholder_takes_the_declared_value_else_its_default() -> None:
    data = with_changes(SMTP, debug={"$bool": "&{esv.email.debug|true}"})
    assert rules_of(gate(data, "production")) == ["EMAIL005"]  # undeclared: the default
    declared = Values(esvs=MappingProxyType({"esv.email.debug": "false"}))
    assert rules_of(gate(data, "production", values=declared)) == []
    unknown = Values(esvs=MappingProxyType({"esv.email.debug": None}))
    assert rules_of(gate(data, "production", values=unknown)) == []


def test_an_esv_secret_counts_as_declared_but_its_value_is_never_used() -> None:
    secret = MappingProxyType({"esv.email.host": {"$purpose": {"name": "host"}}})
    data = with_changes(SMTP, host="&{esv.email.host}")
    assert rules_of(gate(data, "production", values=Values(esvs=secret))) == []


def test_from_with_a_display_name_is_judged_by_its_address() -> None:
    quiet = gate(
        with_changes(SMTP, **{"from": '"Exämple Corp" <noreply@example.com>'}), "production"
    )
    assert "EMAIL007" not in rules_of(quiet)
    loud = gate(with_changes(SMTP, **{"from": "Example <jösé@example.com>"}), "production")
    assert "EMAIL007" in rules_of(loud)


def test_a_placeholder_default_on_a_secret_field_is_a_plaintext_secret() -> None:
    data = with_changes(SMTP, auth__password="&{esv.email.password|hunter2}")
    [finding] = [f for f in gate(data, "production") if f.rule == "EMAIL002"]
    assert "placeholder has a literal default" in finding.message
    assert "hunter2" not in finding.message + (finding.hint or "")


@pytest.mark.parametrize(
    ("endpoint", "sender"),
    [
        (
            "https://graph.microsoft.com/v1.0/users/A@B.onmicrosoft.com/sendMail",
            "a@b.onmicrosoft.com",
        ),
        (
            "https://graph.microsoft.com/v1.0/users/a%40b.onmicrosoft.com/sendMail",
            "a@b.onmicrosoft.com",
        ),
        (
            "https://graph.microsoft.com/v1.0/users/8f1c0000-0000-0000-0000-000000000000/sendMail",
            "x@y.example",
        ),
        ("https://graph.microsoft.com/v1.0/users/&{esv.mailbox}/sendMail", "x@y.example"),
    ],
    ids=["case differs", "percent-encoded", "a user id", "a placeholder"],
)
def test_email018_is_silent_where_the_mailbox_matches_or_is_not_an_address(
    endpoint: str, sender: str
) -> None:
    data = with_changes(GRAPH, mailEndpoint=endpoint, **{"from": sender})
    assert not any(f.rule == "EMAIL018" for f in gate(data, "production"))


def test_email018_names_both_addresses() -> None:
    data = with_changes(GRAPH, **{"from": "alerts@b.example"})
    [finding] = [f for f in gate(data, "staging") if f.rule == "EMAIL018"]
    assert "alerts@b.example" in finding.message and "a@b.onmicrosoft.com" in finding.message
    assert finding.hint is not None and "set from: a@b.onmicrosoft.com" in finding.hint
