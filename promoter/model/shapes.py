"""The plain-Python half of the models: kinds, discriminators and checks, without pydantic.

The pydantic classes (``email.py``, ``settings.py``) stay the single source of
truth. What they call while validating (which branch of a union a value takes,
the checks after a type matched) and what callers ask of a validated object
(its kind, ``port_number()``) lives here, so that the fast validator
(``fast.py``) runs the very same functions without importing pydantic.
Each model class inherits its kind; the fast validator's objects do too, so
``isinstance(config, SmtpKind)`` holds for both.
"""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from promoter.model.placeholders import PLACEHOLDER, TYPED_FORMS

_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")
_NAMED_ADDRESS = re.compile(r'^(?:"[^"]*"|[^"<>]*?)\s*<([^<>]+)>$')
# What check_address accepts, as one JSON Schema pattern (for editors): a placeholder
# anywhere, an address, or a display name and <address>, blanks around them allowed.
FROM_PATTERN = (
    r"(&\{|^\s*[^@\s<>]+@[^@\s<>]+\s*$|"
    r'^\s*(?:"[^"]*"|[^"<>]*?)\s*<\s*[^@\s<>]+@[^@\s<>]+\s*>\s*$)'
)

Render = Literal["resolved", "references"]  # how an output holds its secrets


# --- kinds: what a validated object is, whichever validator built it ---


class TypedKind:
    """AIC's typed placeholder forms: ``{"$int": "&{esv.email.port|587}"}`` and the like."""

    if TYPE_CHECKING:  # a field of each model class (not declared here: pydantic would see it)
        value: str

    @property
    def expr(self) -> str:
        return self.value


class SmtpKind:
    if TYPE_CHECKING:
        port: Any

    def port_number(self) -> int:
        """The port as a number; a placeholder must have been substituted (see concrete())."""
        if isinstance(self.port, int):
            return self.port
        if isinstance(self.port, str) and self.port.strip().isdigit():
            return int(self.port)
        raise ValueError("the port is a placeholder whose value is not known here")


class MsGraphKind:
    pass


class OAuth2Kind:
    if TYPE_CHECKING:
        scope: Any

    def scopes(self) -> list[str]:
        """The scope list; a ``$list``/``$array`` form must have been substituted."""
        if isinstance(self.scope, list):
            return self.scope
        raise ValueError("scope is a placeholder whose value is not known here")


class FileTargetKind:
    pass


class IdmTargetKind:
    pass


class AicTargetKind:
    pass


class EsvSecretKind:
    pass


# --- discriminators: which branch of a union a value takes ---


def typed_tag(value: dict[str, Any]) -> str | None:
    if len(value) == 1:
        key = next(iter(value))
        if key in TYPED_FORMS:
            return f"<{key}>"
    return None


def int_kind(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return "<int>"
    if isinstance(value, dict):
        return typed_tag(value) if typed_tag(value) in ("<$int>", "<$number>") else None
    return None


def port_kind(value: Any) -> str | None:
    if isinstance(value, str):
        if value.isascii() and value.isdigit():
            return "<digits>"
        return "<placeholder>" if PLACEHOLDER.fullmatch(value.strip()) else None
    return int_kind(value)


def bool_kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "<bool>"
    if isinstance(value, dict) and typed_tag(value) == "<$bool>":
        return "<$bool>"
    return None


def secret_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "<literal>"
    if isinstance(value, dict):
        if "$crypto" in value:
            return "<$crypto>"
        return "<$purpose>" if "$purpose" in value else None
    return None


def scope_kind(value: Any) -> str | None:
    if isinstance(value, list):
        return "<list>"
    if isinstance(value, dict) and typed_tag(value) in ("<$list>", "<$array>"):
        return typed_tag(value)
    return None


def proxy_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return "<$object>" if typed_tag(value) == "<$object>" else "<proxy>"
    return None


def config_type(value: Any) -> str:
    if isinstance(value, dict):
        kind = value.get("type", "smtp")
        return kind if isinstance(kind, str) else "smtp"
    return "smtp"


def target_kind(value: Any) -> str:
    if isinstance(value, dict) and "aic" in value:
        return "<aic>"
    return "<idm>" if isinstance(value, dict) and "idm" in value else "<file>"


def store_kind(value: Any) -> str:
    return "<directory>" if isinstance(value, dict) else "<path>"


def list_or_mapping(value: Any) -> str:
    """``esvs:`` and ``properties:`` take a list of names or a mapping of name -> value: an
    error is reported in the form the user wrote, not in both."""
    return "<mapping>" if isinstance(value, dict) else "<list>"


def esv_value_kind(value: Any) -> str:
    if value is None:
        return "<none>"
    return "<secret>" if isinstance(value, dict) else "<literal>"


# --- checks run after a value's type matched (pydantic's after-validators) ---


def check_port_digits(value: str) -> str:
    if not 1 <= int(value) <= 65535:
        raise ValueError("port must be between 1 and 65535")
    return value


def address_of(value: str) -> str:
    """The address in ``a@b.c``, ``Name <a@b.c>`` or ``"Name" <a@b.c>``."""
    named = _NAMED_ADDRESS.match(value.strip())
    return named.group(1).strip() if named else value.strip()


def check_address(value: str | None) -> str | None:
    if value is None or "&{" in value or _ADDRESS.fullmatch(address_of(value)):
        return value
    raise ValueError(
        "must be an email address such as noreply@example.com or Example <noreply@example.com>"
    )


def check_url(value: str) -> str:

    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        raise ValueError("is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            "must not hold a user name or password: credentials come from the settings "
            "that name environment variables or files"
        )
    if parts.query or parts.fragment or value.rstrip().endswith(("?", "#")):
        raise ValueError("must not hold a query (?...) or a fragment (#...)")
    if parts.port == 0:
        raise ValueError("has port 0, which no server listens on (1-65535)")
    return value


def check_optional_url(value: str | None) -> str | None:
    return None if value is None else check_url(value)


def check_version_suffix(value: str | None) -> str | None:
    """Part of a file name in the store: never a path (``/``), never ``.`` or ``..``."""
    if value is not None and (
        not all(ch.isascii() and (ch.isalnum() or ch in "._-") for ch in value)
        or set(value) == {"."}
    ):
        raise ValueError("must be part of a file name: letters, digits, '.', '_' or '-' (no '/')")
    return value


_PROPERTY_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


def check_property_names(value: Any) -> Any:
    """IDM property names (``&{name}``): a letter or '_' first, then letters, digits, '._-'."""
    names = value if isinstance(value, list) else list(value) if isinstance(value, dict) else []
    for name in names:
        if isinstance(name, str) and not _PROPERTY_NAME.fullmatch(name.strip()):
            raise ValueError(
                f"'{name}' is not a property name: start with a letter or '_', then letters, "
                "digits, '.', '_' or '-' (e.g. openidm.mail.host)"
            )
    return value


KNOWN_SMTP_PROPERTIES = frozenset(
    {
        "mail.smtp.ssl.protocols",
        "mail.smtps.ssl.protocols",
        "mail.mime.allowutf8",
        "mail.smtp.starttls.required",
        "mail.smtp.ssl.trust",
        "mail.smtp.ssl.checkserveridentity",
        "mail.smtp.ssl.ciphersuites",
        "mail.smtps.ssl.ciphersuites",
        "mail.smtp.localhost",
        "mail.smtp.auth.mechanisms",
        "mail.smtp.sendpartial",
    }
)


def smtp_property_problems(properties: dict[str, str]) -> list[tuple[str, str, str | None]]:
    """(key, message, hint) for keys that are not JavaMail properties or look mistyped.

    Unknown ``mail.*`` keys are accepted (JavaMail has many); a key one typo away
    from a known one is not.
    """

    problems: list[tuple[str, str, str | None]] = []
    for key in properties:
        if key in KNOWN_SMTP_PROPERTIES:
            continue
        if not key.startswith("mail."):
            problems.append((key, f"'{key}' is not a JavaMail property", "they start with 'mail.'"))
            continue
        close = difflib.get_close_matches(key, sorted(KNOWN_SMTP_PROPERTIES), n=1, cutoff=0.9)
        if close:
            problems.append(
                (key, f"unknown JavaMail property '{key}'", f"did you mean '{close[0]}'?")
            )
    return problems
