"""Rules about the SMTP connection: TLS, protocols, ports, debug output and timeouts."""

from __future__ import annotations

from collections.abc import Iterator

from promoter.gates.base import GateInput, Hit, external_smtp, smtp_of
from promoter.model.shapes import MsGraphKind

WEAK_PROTOCOLS = frozenset({"SSLv2", "SSLv2Hello", "SSLv3", "TLSv1", "TLSv1.1"})


PROTOCOL_KEYS = ("mail.smtp.ssl.protocols", "mail.smtps.ssl.protocols")


def email003_no_tls(gate: GateInput) -> Iterator[Hit]:
    """EMAIL003: without STARTTLS or SSL, credentials and mail cross the network in clear."""
    smtp = external_smtp(gate)
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
    smtp = smtp_of(gate)
    if smtp is not None and gate.values.boolean(smtp.debug):
        yield Hit("EMAIL005", "/debug", "debug: true writes JavaMail diagnostics to the log")


def email006_port_25(gate: GateInput) -> Iterator[Hit]:
    """EMAIL006: many ISPs flag mail from port 25 as spam."""
    smtp = external_smtp(gate)
    if smtp is not None and gate.values.integer(smtp.port) == 25:
        yield Hit("EMAIL006", "/port", "port 25: many ISPs flag its mail as spam", "use 587 or 465")


def email011_timeout_disabled(gate: GateInput) -> Iterator[Hit]:
    """EMAIL011: a timeout of 0 lets a stuck server hold IDM's mail threads forever."""
    for name in ("connectiontimeout", "timeout", "writetimeout"):
        if gate.values.integer(getattr(gate.config, name)) == 0:
            yield Hit(
                "EMAIL011", f"/{name}", f"{name} is 0, which disables it", "the default is 300000"
            )


def email012_tls_port_mismatch(gate: GateInput) -> Iterator[Hit]:
    """EMAIL012: SSL/STARTTLS settings that do not fit the port fail or hang at connect."""
    smtp = external_smtp(gate)
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
