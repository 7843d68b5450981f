"""Rules about what the service is asked to do: addresses, https endpoints, sender, target URL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from urllib.parse import unquote, urlsplit

from promoter.errors import Location
from promoter.findings import Finding, Tier, severity_of
from promoter.gates.base import GateInput, Hit
from promoter.gates.waivers import apply_waivers
from promoter.hosts import is_loopback
from promoter.model.placeholders import placeholders
from promoter.model.shapes import MsGraphKind, address_of
from promoter.project.types import Waiver


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


def email018_graph_sender(gate: GateInput) -> Iterator[Hit]:
    """EMAIL018: Graph sends as the mailbox in mailEndpoint; another From needs Send As."""
    if not isinstance(gate.config, MsGraphKind):
        return
    mailbox = graph_mailbox(gate.values.text(gate.config.mailEndpoint) or "")
    sender = address_of(gate.values.text(gate.config.from_) or "")
    held = any(placeholders(sender))  # the tenant fills it in: nothing to compare
    if mailbox and "@" in sender and not held and sender.lower() != mailbox.lower():
        yield Hit(
            "EMAIL018",
            "/from",
            f"'from' {sender} is not the mailbox in mailEndpoint ({mailbox}): Graph sends as "
            "that mailbox and refuses another From (ErrorSendAsDenied) unless the app may "
            "Send As",
            f"set from: {mailbox}, or point mailEndpoint at /users/{sender}/sendMail, or grant "
            f"the app Send As on {sender}",
        )


def graph_mailbox(url: str) -> str | None:
    """The mailbox address in ``…/users/{mailbox}/sendMail`` (None for an id or another URL)."""
    parts = urlsplit(url.strip()).path.rstrip("/").split("/")
    if len(parts) >= 3 and parts[-3].lower() == "users" and parts[-1].lower() == "sendmail":
        mailbox = unquote(parts[-2])
        return mailbox if "@" in mailbox and "&{" not in mailbox else None
    return None


def email008_target_http(
    env: str,
    tier: Tier,
    urls: tuple[tuple[str, str, Location | None], ...],
    waivers: tuple[Waiver, ...] = (),
    today: date | None = None,
) -> list[Finding]:
    """EMAIL008: an http:// target or token endpoint carries credentials in clear.

    Located at promoter.yaml, not in the output. Loopback hosts are not reported:
    the traffic never leaves the machine (a port-forward, a sidecar, a stand-in).
    """

    severity = severity_of("EMAIL008/target-http", tier)
    findings = []
    for what, url, location in urls:
        parts = urlsplit(url)
        if parts.scheme.lower() != "http" or is_loopback(parts.hostname):
            continue
        if severity is None:
            continue
        carries = (
            "the IDM credentials and the resolved secrets"
            if what == "idm"
            else "the signed assertion and the access token"
            if what.startswith("serviceAccount")
            else "the client credentials and the access token"
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
