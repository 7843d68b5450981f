"""Rules about AIC: its built-in relay (EMAIL001), secrets a tenant keeps as ESVs (EMAIL017)."""

from __future__ import annotations

from collections.abc import Iterator

from promoter.compile.references import purposes
from promoter.compile.render import literal_secrets
from promoter.gates.base import BUILT_IN_LIMITS, GateInput, Hit, built_in_server


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


def email017_secret_in_aic_config(gate: GateInput) -> Iterator[Hit]:
    """EMAIL017: AIC has no filesystem store, and encrypts a literal secret with keys an upper
    tenant lacks: on an aic target a secret lives in an ESV secret, the config holds &{esv.*}."""
    if not gate.aic:
        return

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
