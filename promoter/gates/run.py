"""Promotion gates: rules that turn a validated configuration into findings.

Each rule is a function whose docstring gives its id and reason; ``SEVERITY``
says how severe it is at each tier (None: not reported). Waivers from
promoter.yaml mark a finding waived until they expire.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Any

from promoter.compile.references import Unresolved
from promoter.errors import Location
from promoter.findings import Finding, Tier, severity_of
from promoter.model.placeholders import Values, placeholders
from promoter.model.shapes import MsGraphKind, SmtpKind, address_of
from promoter.project.types import Waiver

if TYPE_CHECKING:  # the fast validator's objects stand in for these (see fastmodel.py)
    from promoter.model.email import MsGraphConfig, SmtpConfig

WEAK_PROTOCOLS = frozenset({"SSLv2", "SSLv2Hello", "SSLv3", "TLSv1", "TLSv1.1"})
PROTOCOL_KEYS = ("mail.smtp.ssl.protocols", "mail.smtps.ssl.protocols")
SECRET_FIELDS = ("/auth/password", "/auth/clientSecret")
AIC_RELAY_HOST = "smtp-relay.fr-platform.svc.cluster.local"
AIC_RELAY_PLACEHOLDER = "aic.smtp.relay.host"
AIC_RELAY_CREDENTIALS = "aic.customer.sasl."
BUILT_IN_LIMITS = (
    "which is for testing only: at most 10 messages a minute, always sent as "
    "noreply@<tenant-fqdn>, no non-ASCII addresses, and no OTP email nodes"
)


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
    values: Values = field(default_factory=Values)  # what the env gives its placeholders
    aic: bool = False  # the environment's target is an AIC tenant


Locate = Callable[[str], tuple[str, Location | None]]
Rule = Callable[[GateInput], Iterator[Hit]]


def run_gates(
    gate: GateInput, locate: Locate, waivers: tuple[Waiver, ...] = (), today: date | None = None
) -> list[Finding]:
    findings = []
    for rule in RULES:
        for hit in rule(gate):
            severity = severity_of(hit.check, gate.tier)
            if hit.store_missing and gate.store_optional:
                severity = "warn"
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
    return gate.config if isinstance(gate.config, SmtpKind) else None


def _external_smtp(gate: GateInput) -> SmtpConfig | None:
    """An smtp config of your own server (the built-in one has no transport settings)."""
    smtp = _smtp(gate)
    return smtp if smtp is not None and built_in_server(gate) is None else None


def built_in_server(gate: GateInput) -> tuple[str, str] | None:
    """``(pointer, why)`` when the config sends through AIC's built-in SMTP server.

    AIC stores its built-in server as host
    ``&{aic.smtp.relay.host|smtp-relay.fr-platform.svc.cluster.local}`` with the
    ``&{aic.customer.sasl.*}`` credentials; an empty or absent host means the same.
    """
    smtp = _smtp(gate)
    if smtp is None:
        return None
    host = smtp.host
    if host is None or not host.strip():
        return ("/host" if "host" in gate.data else "", "no host is set")
    for name, default in placeholders(host):
        if name == AIC_RELAY_PLACEHOLDER:
            return "/host", f"host is AIC's own &{{{AIC_RELAY_PLACEHOLDER}}}"
        if default is not None and _is_relay(default):
            return "/host", f"host defaults to AIC's built-in relay {AIC_RELAY_HOST}"
    effective = gate.values.text(host)
    if effective is not None and not effective.strip():
        return "/host", "host is empty in this environment"
    if effective is not None and _is_relay(effective):
        return "/host", f"host is AIC's built-in relay {AIC_RELAY_HOST}"
    auth = gate.data.get("auth")
    for key in ("username", "password"):
        value = auth.get(key) if isinstance(auth, dict) else None
        if isinstance(value, str) and any(
            name.startswith(AIC_RELAY_CREDENTIALS) for name, _ in placeholders(value)
        ):
            return f"/auth/{key}", f"auth.{key} is AIC's built-in relay credential"
    return None


def _is_relay(host: str) -> bool:
    return host.strip().lower().rstrip(".") == AIC_RELAY_HOST


def _is_placeholder(value: str) -> bool:
    return any(True for _ in placeholders(value))


def email001_built_in_smtp(gate: GateInput) -> Iterator[Hit]:
    """EMAIL001: AIC's built-in SMTP server is for testing: 10 a minute, its own sender."""
    found = built_in_server(gate)
    if found is not None:
        pointer, why = found
        yield Hit(
            "EMAIL001",
            pointer,
            f"built-in SMTP: {why}, so AIC sends through its built-in server, {BUILT_IN_LIMITS}",
            "set host to your own SMTP server (with its credentials), or use type: msgraph",
        )


def email002_plaintext_secret(gate: GateInput) -> Iterator[Hit]:
    """EMAIL002: a literal password or clientSecret in the overlays ends up in git."""
    auth = gate.data.get("auth")
    if not isinstance(auth, dict):
        return
    for pointer in SECRET_FIELDS:
        name = pointer.rsplit("/", 1)[1]
        value = auth.get(name)
        if not isinstance(value, str) or not value:
            continue
        if not _is_placeholder(value):
            yield Hit(
                "EMAIL002",
                pointer,
                f"plaintext secret: auth.{name} is a literal value",
                "use {$purpose: {name: ..., jsonPointer: ...}} or an &{esv.*} placeholder",
            )
        elif any(default for _, default in placeholders(value)):
            yield Hit(
                "EMAIL002",
                pointer,
                f"plaintext secret: auth.{name}'s placeholder has a literal default",
                "drop the '|default': the value belongs in the ESV or the store",
            )


def email003_no_tls(gate: GateInput) -> Iterator[Hit]:
    """EMAIL003: without STARTTLS or SSL, credentials and mail cross the network in clear."""
    smtp = _external_smtp(gate)
    if smtp is None:
        return
    values = gate.values
    starttls, ssl = values.boolean(smtp.starttls.enable), values.boolean(smtp.ssl.enable)
    if starttls is False and ssl is False:
        yield Hit(
            "EMAIL003",
            "/starttls" if "starttls" in gate.data else "",
            "no TLS: neither starttls.enable nor ssl.enable is true",
            "set starttls: {enable: true} (port 587) or ssl: {enable: true} (port 465)",
        )
    elif starttls and ssl is False:
        required = values.text(smtp.smtpProperties.get("mail.smtp.starttls.required", ""))
        if required is not None and required.strip().lower() != "true":
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
        value = gate.values.text(gate.config.smtpProperties.get(key, ""))
        weak = sorted(set((value or "").split()) & WEAK_PROTOCOLS)
        if weak:
            yield Hit(
                "EMAIL004",
                f"/smtpProperties/{key}",
                f"weak TLS protocol in {key}: {' '.join(weak)}",
                "allow TLSv1.2 and TLSv1.3 only",
            )
    if isinstance(gate.config, MsGraphKind):
        version = gate.values.text(gate.config.tlsVersion)
        if version in WEAK_PROTOCOLS:
            yield Hit("EMAIL004", "/tlsVersion", f"weak TLS protocol: {version}")


def email005_debug(gate: GateInput) -> Iterator[Hit]:
    """EMAIL005: JavaMail debug output goes to IDM's log, with message contents."""
    smtp = _smtp(gate)
    if smtp is not None and gate.values.boolean(smtp.debug):
        yield Hit("EMAIL005", "/debug", "debug: true writes JavaMail diagnostics to the log")


def email006_port_25(gate: GateInput) -> Iterator[Hit]:
    """EMAIL006: many ISPs flag mail from port 25 as spam."""
    smtp = _external_smtp(gate)
    if smtp is not None and gate.values.integer(smtp.port) == 25:
        yield Hit("EMAIL006", "/port", "port 25: many ISPs flag its mail as spam", "use 587 or 465")


def email007_international(gate: GateInput) -> Iterator[Hit]:
    """EMAIL007: UTF-8 local parts need SMTP with mail.mime.allowutf8=true."""
    values = gate.values
    allowutf8 = values.text(gate.config.smtpProperties.get("mail.mime.allowutf8", "")) or ""
    allowutf8 = allowutf8.strip().lower()
    graph = isinstance(gate.config, MsGraphKind)
    if graph and allowutf8 == "true":
        yield Hit(
            "EMAIL007",
            "/smtpProperties/mail.mime.allowutf8",
            "mail.mime.allowutf8 applies to smtp only; msgraph does not support it",
            "remove it, or use type: smtp for international addresses",
        )
    sender = address_of(values.text(gate.config.from_) or "")
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
    if not isinstance(gate.config, MsGraphKind):
        return
    for pointer, value in (
        ("/mailEndpoint", gate.config.mailEndpoint),
        ("/auth/tokenEndpoint", gate.config.auth.tokenEndpoint),
    ):
        url = gate.values.text(value)
        if url is not None and not url.strip().lower().startswith("https://"):
            yield Hit("EMAIL008", pointer, f"{pointer[1:]} is not an https:// URL")


def email009_unresolved(gate: GateInput) -> Iterator[Hit]:
    """EMAIL009: a reference that does not resolve fails at IDM's first send."""
    for item in gate.unresolved:
        yield Hit(item.check, item.pointer, item.message, item.hint, item.store_missing)


def email010_no_from(gate: GateInput) -> Iterator[Hit]:
    """EMAIL010: without 'from', every template or request must supply one."""
    sender = gate.config.from_
    if not sender or gate.values.text(sender) == "":
        yield Hit(
            "EMAIL010",
            "",
            "no 'from' address: IDM needs one from a template or each request",
            "set from: noreply@your-domain",
        )


def email011_timeout_disabled(gate: GateInput) -> Iterator[Hit]:
    """EMAIL011: a timeout of 0 lets a stuck server hold IDM's mail threads forever."""
    for name in ("connectiontimeout", "timeout", "writetimeout"):
        if gate.values.integer(getattr(gate.config, name)) == 0:
            yield Hit(
                "EMAIL011", f"/{name}", f"{name} is 0, which disables it", "the default is 300000"
            )


def email012_tls_port_mismatch(gate: GateInput) -> Iterator[Hit]:
    """EMAIL012: SSL/STARTTLS settings that do not fit the port fail or hang at connect."""
    smtp = _external_smtp(gate)
    if smtp is None:
        return
    values = gate.values
    ssl, starttls = values.boolean(smtp.ssl.enable), values.boolean(smtp.starttls.enable)
    port = values.integer(smtp.port)
    if ssl and starttls:
        yield Hit("EMAIL012", "/ssl/enable", "ssl and starttls are both enabled", "enable only one")
    if port == 465 and ssl is False:
        yield Hit("EMAIL012", "/port", "port 465 expects SSL, but ssl.enable is not true")
    if port == 587 and ssl:
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


def email015_auth_without_credentials(gate: GateInput) -> Iterator[Hit]:
    """EMAIL015: smtp auth enabled without a username or password: IDM's email service fails."""
    smtp = _smtp(gate)
    if smtp is None or smtp.auth is None or gate.values.boolean(smtp.auth.enable) is not True:
        return
    for name in ("username", "password"):
        value = getattr(smtp.auth, name)
        if value is None or (isinstance(value, str) and gate.values.text(value) == ""):
            auth = gate.data.get("auth")
            present = isinstance(auth, dict) and name in auth
            yield Hit(
                "EMAIL015",
                f"/auth/{name}" if present else "/auth/enable",
                f"auth.enable is true but auth.{name} is not set: "
                "IDM's email service does not start",
                f"set auth.{name} (from the store: {{$purpose: {{name: ...}}}}), "
                "or auth.enable: false",
            )


def email017_secret_in_aic_config(gate: GateInput) -> Iterator[Hit]:
    """EMAIL017: AIC has no filesystem store, and encrypts a literal secret with keys an upper
    tenant lacks: on an aic target a secret lives in an ESV secret, the config holds &{esv.*}."""
    if not gate.aic:
        return
    from promoter.compile.references import purposes
    from promoter.compile.render import literal_secrets

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
    email015_auth_without_credentials,
    email017_secret_in_aic_config,
)


LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def email008_target_http(
    env: str,
    tier: Tier,
    urls: tuple[tuple[str, str, Location | None], ...],
    waivers: tuple[Waiver, ...] = (),
    today: date | None = None,
) -> list[Finding]:
    """EMAIL008: an http:// IDM target carries the token and the resolved secrets in clear.

    Located at promoter.yaml, not in the output. Loopback hosts are not reported:
    the traffic never leaves the machine (a port-forward, a sidecar, a stand-in).
    """
    from urllib.parse import urlsplit

    severity = severity_of("EMAIL008/target-http", tier)
    findings = []
    for what, url, location in urls:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.scheme.lower() != "http" or host in LOOPBACK_HOSTS or host.startswith("127."):
            continue
        if severity is None:
            continue
        carries = (
            "the IDM credentials and the resolved secrets"
            if what == "idm"
            else "the client credentials"
        )
        findings.append(
            Finding(
                "EMAIL008",
                severity,
                env,
                "",
                location,
                f"target {what} is http://: {carries} cross the network in cleartext",
                "use https:// (caFile: for a private CA)",
            )
        )
    return apply_waivers(findings, waivers, today or date.today())
