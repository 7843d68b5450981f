"""Rules about credentials: literal secrets, unresolved references, auth without credentials."""

from __future__ import annotations

from collections.abc import Iterator

from promoter.compile.render import secret_properties
from promoter.gates.base import GateInput, Hit, smtp_of
from promoter.model.placeholders import plaintext_in
from promoter.pointer import unescape

SECRET_FIELDS = ("/auth/password", "/auth/clientSecret")


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
        plain = plaintext_in(value)
        if plain == "literal":
            yield Hit(
                "EMAIL002",
                pointer,
                f"plaintext secret: auth.{name} is a literal value",
                "use {$purpose: {name: ..., jsonPointer: ...}} or an &{esv.*} placeholder",
            )
        elif plain == "default":
            yield Hit(
                "EMAIL002",
                pointer,
                f"plaintext secret: auth.{name}'s placeholder has a literal default",
                "drop the '|default': the value belongs in the ESV or the store",
            )


def email002_secret_property(gate: GateInput) -> Iterator[Hit]:
    """EMAIL002: an smtpProperties key that names a password, secret or token holds a
    credential whatever its value looks like (``mail.smtp.proxy.password``)."""
    for pointer in secret_properties(gate.data):
        key = unescape(pointer.removeprefix("/smtpProperties/"))
        yield Hit(
            "EMAIL002",
            pointer,
            f"plaintext secret: smtpProperties {key} is a literal value",
            "use an &{esv.*} placeholder without a default: the value belongs in the ESV",
        )


def email009_unresolved(gate: GateInput) -> Iterator[Hit]:
    """EMAIL009: a reference that does not resolve fails at IDM's first send."""
    for item in gate.unresolved:
        yield Hit(item.check, item.pointer, item.message, item.hint, item.store_missing)


def email015_auth_without_credentials(gate: GateInput) -> Iterator[Hit]:
    """EMAIL015: smtp auth enabled without a username or password: IDM's email service fails."""
    smtp = smtp_of(gate)
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
