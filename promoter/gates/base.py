"""What every rule reads (GateInput) and yields (Hit), and the facts several rules share."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from promoter.compile.references import Unresolved
from promoter.errors import Location
from promoter.findings import Tier
from promoter.model.placeholders import Values, placeholders
from promoter.model.shapes import SmtpKind

if TYPE_CHECKING:  # the fast validator's objects stand in for these (see model/fast.py)
    from promoter.model.email import MsGraphConfig, SmtpConfig


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


def smtp_of(gate: GateInput) -> SmtpConfig | None:
    return gate.config if isinstance(gate.config, SmtpKind) else None


def external_smtp(gate: GateInput) -> SmtpConfig | None:
    """An smtp config of your own server (the built-in one has no transport settings)."""
    smtp = smtp_of(gate)
    return smtp if smtp is not None and built_in_server(gate) is None else None


def built_in_server(gate: GateInput) -> tuple[str, str] | None:
    """``(pointer, why)`` when the config sends through AIC's built-in SMTP server.

    AIC stores its built-in server as host
    ``&{aic.smtp.relay.host|smtp-relay.fr-platform.svc.cluster.local}`` with the
    ``&{aic.customer.sasl.*}`` credentials; an empty or absent host means the same.
    """
    smtp = smtp_of(gate)
    if smtp is None:
        return None
    host = smtp.host
    if host is None or not host.strip():
        return ("/host" if "host" in gate.data else "", "no host is set")
    for name, default in placeholders(host):
        if name == AIC_RELAY_PLACEHOLDER:
            return "/host", f"host is AIC's own &{{{AIC_RELAY_PLACEHOLDER}}}"
        if default is not None and is_relay(default):
            return "/host", f"host defaults to AIC's built-in relay {AIC_RELAY_HOST}"
    effective = gate.values.text(host)
    if effective is not None and not effective.strip():
        return "/host", "host is empty in this environment"
    if effective is not None and is_relay(effective):
        return "/host", f"host is AIC's built-in relay {AIC_RELAY_HOST}"
    auth = gate.data.get("auth")
    for key in ("username", "password"):
        value = auth.get(key) if isinstance(auth, dict) else None
        if isinstance(value, str) and any(
            name.startswith(AIC_RELAY_CREDENTIALS) for name, _ in placeholders(value)
        ):
            return f"/auth/{key}", f"auth.{key} is AIC's built-in relay credential"
    return None


def is_relay(host: str) -> bool:
    return host.strip().lower().rstrip(".") == AIC_RELAY_HOST
