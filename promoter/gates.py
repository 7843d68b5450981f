"""Promotion gates: rules that turn a validated configuration into findings.

Each rule is a function whose docstring gives its id and reason; ``SEVERITY``
says how severe it is at each tier (None: not reported). Waivers from
promoter.yaml mark a finding waived until they expire.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from promoter.errors import Location
from promoter.findings import Finding, Severity
from promoter.model import ESV_PATTERN, MsGraphConfig, SmtpConfig
from promoter.project import Tier, Waiver
from promoter.references import Unresolved

D: Severity = "deny"
W: Severity = "warn"
SEVERITY: dict[str, tuple[Severity | None, Severity | None, Severity | None]] = {
    # check: (development, staging, production)
    "EMAIL001": (None, D, D),
    "EMAIL002": (W, D, D),
    "EMAIL003": (W, W, D),
    "EMAIL003/starttls-required": (None, W, W),
    "EMAIL004": (D, D, D),
    "EMAIL005": (None, W, D),
    "EMAIL006": (None, W, W),
    "EMAIL007": (D, D, D),
    "EMAIL008": (W, D, D),
    "EMAIL009": (D, D, D),
    "EMAIL010": (W, W, W),
    "EMAIL011": (None, W, W),
    "EMAIL012": (W, W, W),
    "EMAIL013": (D, D, D),
    "EMAIL014": (W, W, W),
    "EMAIL016": (None, D, D),  # a promotion rule: see aic_promotion.email016
    "EMAIL017": (D, D, D),
}
_TIER_INDEX = {"development": 0, "staging": 1, "production": 2}
WEAK_PROTOCOLS = frozenset({"SSLv2", "SSLv2Hello", "SSLv3", "TLSv1", "TLSv1.1"})
PROTOCOL_KEYS = ("mail.smtp.ssl.protocols", "mail.smtps.ssl.protocols")
SECRET_FIELDS = ("/auth/password", "/auth/clientSecret")


@dataclass(frozen=True, slots=True)
class Hit:
    check: str
    pointer: str
    message: str
    hint: str | None = None
    store_missing: bool = False


@dataclass(frozen=True, slots=True)
class GateInput:
    env: str
    tier: Tier
    config: SmtpConfig | MsGraphConfig
    data: dict[str, Any]  # merged, references not resolved
    unresolved: tuple[Unresolved, ...] = ()
    store_optional: bool = False  # `check` on a machine without this env's store
    aic: bool = False  # the environment's target is an AIC tenant


Locate = Callable[[str], tuple[str, Location | None]]
Rule = Callable[[GateInput], Iterator[Hit]]


def severity_of(check: str, tier: Tier) -> Severity | None:
    return SEVERITY[check][_TIER_INDEX[tier]]


def run_gates(
    gate: GateInput, locate: Locate, waivers: tuple[Waiver, ...] = (), today: date | None = None
) -> list[Finding]:
    findings = []
    for rule in RULES:
        for hit in rule(gate):
            severity = severity_of(hit.check, gate.tier)
            if hit.store_missing and gate.store_optional:
                severity = W
            if severity is None:
                continue
            pointer, location = locate(hit.pointer)
            rule_id = hit.check.split("/")[0]
            findings.append(
                Finding(rule_id, severity, gate.env, pointer, location, hit.message, hit.hint)
            )
    return apply_waivers(findings, waivers, today or date.today())


def apply_waivers(
    findings: list[Finding], waivers: tuple[Waiver, ...], today: date
) -> list[Finding]:
    out = []
    for finding in findings:
        waiver = next((w for w in waivers if (w.rule, w.env) == (finding.rule, finding.env)), None)
        if waiver is None:
            out.append(finding)
        elif waiver.expires >= today:
            out.append(replace(finding, waived=waiver.reason))
        else:
            note = f" (waiver expired {waiver.expires.isoformat()}, {waiver.location})"
            out.append(replace(finding, message=finding.message + note))
    return out


def _smtp(gate: GateInput) -> SmtpConfig | None:
    return gate.config if isinstance(gate.config, SmtpConfig) else None


def _external_smtp(gate: GateInput) -> SmtpConfig | None:
    """An smtp config with a host (the built-in server has no transport settings)."""
    smtp = _smtp(gate)
    return smtp if smtp is not None and _has_host(smtp) else None


def _has_host(smtp: SmtpConfig) -> bool:
    return bool(smtp.host and smtp.host.strip())


def _is_placeholder(value: str) -> bool:
    return bool(ESV_PATTERN.fullmatch(value.strip()))


def email001_built_in_smtp(gate: GateInput) -> Iterator[Hit]:
    """EMAIL001: smtp with no host uses AIC's built-in SMTP server: testing only, no rate limit."""
    smtp = _smtp(gate)
    if smtp is not None and not _has_host(smtp):
        yield Hit(
            "EMAIL001",
            "/host" if "host" in gate.data else "",
            "built-in SMTP: no host is set, so AIC would send through its built-in server, "
            "which is for testing only and has no rate limiting",
            "set host to your own SMTP server, or use type: msgraph",
        )


def email002_plaintext_secret(gate: GateInput) -> Iterator[Hit]:
    """EMAIL002: a literal password or clientSecret in the overlays ends up in git."""
    auth = gate.data.get("auth")
    if not isinstance(auth, dict):
        return
    for pointer in SECRET_FIELDS:
        name = pointer.rsplit("/", 1)[1]
        value = auth.get(name)
        if isinstance(value, str) and value and not _is_placeholder(value):
            yield Hit(
                "EMAIL002",
                pointer,
                f"plaintext secret: auth.{name} is a literal value",
                "use {$purpose: {name: ..., jsonPointer: ...}} or an &{esv.*} placeholder",
            )


def email003_no_tls(gate: GateInput) -> Iterator[Hit]:
    """EMAIL003: without STARTTLS or SSL, credentials and mail cross the network in clear."""
    smtp = _external_smtp(gate)
    if smtp is None:
        return
    if not smtp.starttls.enable and not smtp.ssl.enable:
        yield Hit(
            "EMAIL003",
            "/starttls" if "starttls" in gate.data else "",
            "no TLS: neither starttls.enable nor ssl.enable is true",
            "set starttls: {enable: true} (port 587) or ssl: {enable: true} (port 465)",
        )
    elif smtp.starttls.enable and not smtp.ssl.enable:
        required = smtp.smtpProperties.get("mail.smtp.starttls.required", "").strip().lower()
        if required != "true":
            yield Hit(
                "EMAIL003/starttls-required",
                "/starttls/enable",
                "STARTTLS is not required: JavaMail silently falls back to plaintext "
                "when the server does not offer STARTTLS",
                "add 'mail.smtp.starttls.required=true' to smtpProperties",
            )


def email004_weak_protocol(gate: GateInput) -> Iterator[Hit]:
    """EMAIL004: SSLv3, TLSv1 and TLSv1.1 are broken or deprecated (RFC 8996)."""
    for key in PROTOCOL_KEYS:
        value = gate.config.smtpProperties.get(key)
        weak = sorted(set((value or "").split()) & WEAK_PROTOCOLS)
        if weak:
            yield Hit(
                "EMAIL004",
                f"/smtpProperties/{key}",
                f"weak TLS protocol in {key}: {' '.join(weak)}",
                "allow TLSv1.2 and TLSv1.3 only",
            )
    if isinstance(gate.config, MsGraphConfig) and gate.config.tlsVersion in WEAK_PROTOCOLS:
        yield Hit("EMAIL004", "/tlsVersion", f"weak TLS protocol: {gate.config.tlsVersion}")


def email005_debug(gate: GateInput) -> Iterator[Hit]:
    """EMAIL005: JavaMail debug output goes to IDM's log, with message contents."""
    smtp = _smtp(gate)
    if smtp is not None and smtp.debug:
        yield Hit("EMAIL005", "/debug", "debug: true writes JavaMail diagnostics to the log")


def email006_port_25(gate: GateInput) -> Iterator[Hit]:
    """EMAIL006: many ISPs flag mail from port 25 as spam."""
    smtp = _external_smtp(gate)
    if smtp is not None and smtp.port == 25:
        yield Hit("EMAIL006", "/port", "port 25: many ISPs flag its mail as spam", "use 587 or 465")


def email007_international(gate: GateInput) -> Iterator[Hit]:
    """EMAIL007: UTF-8 local parts need SMTP with mail.mime.allowutf8=true."""
    allowutf8 = gate.config.smtpProperties.get("mail.mime.allowutf8", "").strip().lower()
    graph = isinstance(gate.config, MsGraphConfig)
    if graph and allowutf8 == "true":
        yield Hit(
            "EMAIL007",
            "/smtpProperties/mail.mime.allowutf8",
            "mail.mime.allowutf8 applies to smtp only; msgraph does not support it",
            "remove it, or use type: smtp for international addresses",
        )
    sender = gate.config.from_ or ""
    local = sender.rsplit("@", 1)[0]
    if sender and not local.isascii() and (graph or allowutf8 != "true"):
        yield Hit(
            "EMAIL007",
            "/from",
            "'from' has a non-ASCII local part"
            + (
                ": msgraph does not support it" if graph else " but mail.mime.allowutf8 is not true"
            ),
            None if graph else "add 'mail.mime.allowutf8=true' if your SMTP server supports it",
        )


def email008_https(gate: GateInput) -> Iterator[Hit]:
    """EMAIL008: tokens and mail must not travel over plain http."""
    if not isinstance(gate.config, MsGraphConfig):
        return
    for pointer, value in (
        ("/mailEndpoint", gate.config.mailEndpoint),
        ("/auth/tokenEndpoint", gate.config.auth.tokenEndpoint),
    ):
        if "&{" not in value and not value.lower().startswith("https://"):
            yield Hit("EMAIL008", pointer, f"{pointer[1:]} is not an https:// URL")


def email009_unresolved(gate: GateInput) -> Iterator[Hit]:
    """EMAIL009: a reference that does not resolve fails at IDM's first send."""
    for item in gate.unresolved:
        yield Hit("EMAIL009", item.pointer, item.message, item.hint, item.store_missing)


def email010_no_from(gate: GateInput) -> Iterator[Hit]:
    """EMAIL010: without 'from', every template or request must supply one."""
    if not gate.config.from_:
        yield Hit(
            "EMAIL010",
            "",
            "no 'from' address: IDM needs one from a template or each request",
            "set from: noreply@your-domain",
        )


def email011_timeout_disabled(gate: GateInput) -> Iterator[Hit]:
    """EMAIL011: a timeout of 0 lets a stuck server hold IDM's mail threads forever."""
    for name in ("connectiontimeout", "timeout", "writetimeout"):
        if getattr(gate.config, name) == 0:
            yield Hit(
                "EMAIL011", f"/{name}", f"{name} is 0, which disables it", "the default is 300000"
            )


def email012_tls_port_mismatch(gate: GateInput) -> Iterator[Hit]:
    """EMAIL012: SSL/STARTTLS settings that do not fit the port fail or hang at connect."""
    smtp = _external_smtp(gate)
    if smtp is None:
        return
    if smtp.ssl.enable and smtp.starttls.enable:
        yield Hit("EMAIL012", "/ssl/enable", "ssl and starttls are both enabled", "enable only one")
    if smtp.port == 465 and not smtp.ssl.enable:
        yield Hit("EMAIL012", "/port", "port 465 expects SSL, but ssl.enable is not true")
    if smtp.port == 587 and smtp.ssl.enable:
        yield Hit(
            "EMAIL012",
            "/port" if "port" in gate.data else "/ssl/enable",
            "ssl.enable on port 587, which expects STARTTLS",
            "use port 465 with ssl, or starttls on 587",
        )


def email014_smtps_only(gate: GateInput) -> Iterator[Hit]:
    """EMAIL014: IDM's client uses the smtp transport, which ignores mail.smtps.*."""
    props = gate.config.smtpProperties
    if "mail.smtps.ssl.protocols" in props and "mail.smtp.ssl.protocols" not in props:
        yield Hit(
            "EMAIL014",
            "/smtpProperties/mail.smtps.ssl.protocols",
            "TLS protocols are restricted only in mail.smtps.ssl.protocols, "
            "which IDM's smtp transport does not read",
            "set mail.smtp.ssl.protocols as well",
        )


def email017_secret_in_aic_config(gate: GateInput) -> Iterator[Hit]:
    """EMAIL017: AIC has no filesystem store, and encrypts a literal secret with keys an upper
    tenant lacks: on an aic target a secret lives in an ESV secret, the config holds &{esv.*}."""
    if not gate.aic:
        return
    from promoter.references import purposes
    from promoter.render import literal_secrets

    for pointer, spec in purposes(gate.data):
        esv = _esv_for(pointer)
        name = spec.get("name")
        purpose = f"{{name: {name}}}" if isinstance(name, str) and name else "{...}"
        yield Hit(
            "EMAIL017",
            pointer,
            "a $purpose reference in the config of an AIC target: AIC has no secret store",
            f"use an ESV secret: &{{{esv}}}, with esvs: {{{esv}: {{$purpose: {purpose}}}}}",
        )
    for pointer in literal_secrets(gate.data):
        esv = _esv_for(pointer)
        yield Hit(
            "EMAIL017",
            pointer,
            "a literal secret in the config of an AIC target: the tenant encrypts it with "
            "keys an upper tenant lacks, so promotion cannot carry it",
            f"use an ESV secret: &{{{esv}}}, with esvs: {{{esv}: {{$purpose: {{name: ...}}}}}}",
        )


def _esv_for(pointer: str) -> str:
    """The ESV secret a secret field would use: /auth/password -> esv.email.password."""
    last = pointer.rsplit("/", 1)[-1]
    words = "".join(f".{c.lower()}" if c.isupper() else c for c in last).strip(".")
    return f"esv.email.{words or 'secret'}"


RULES: tuple[Rule, ...] = (
    email001_built_in_smtp,
    email002_plaintext_secret,
    email003_no_tls,
    email004_weak_protocol,
    email005_debug,
    email006_port_25,
    email007_international,
    email008_https,
    email009_unresolved,
    email010_no_from,
    email011_timeout_disabled,
    email012_tls_port_mismatch,
    email014_smtps_only,
    email017_secret_in_aic_config,
)
