"""The pydantic model of IDM's external.email configuration: the single source of truth.

Property names, defaults and constraints follow the PingIDM 8.1 outbound email
service page and the AIC email provider page. ``schemas/*.schema.json`` are
generated from these classes (``promoter schema --write``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator

TIMEOUT_DEFAULT_MS = 300_000
ESV_PATTERN = re.compile(r"&\{([A-Za-z0-9._-]+)\}")
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True, defer_build=True)


class PurposeSpec(_Strict):
    name: str = Field(min_length=1, description="Secret purpose: a file name in the store")
    jsonPointer: str | None = Field(
        None, description="Field of a JSON-object secret, with or without a leading '/'"
    )


class PurposeRef(_Strict):
    """``{"$purpose": {...}}``: a value IDM (or promoter) reads from a secret store."""

    purpose: PurposeSpec = Field(alias="$purpose")


class CryptoValue(_Strict):
    """``{"$crypto": {...}}``: a value IDM encrypted; passed through, never decrypted."""

    model_config = ConfigDict(extra="allow")
    crypto: dict[str, Any] = Field(alias="$crypto")


def _secret_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "<$crypto>" if "$crypto" in value else "<$purpose>"
    return "<literal>"


SecretValue = Annotated[
    Annotated[str, Tag("<literal>")]
    | Annotated[PurposeRef, Tag("<$purpose>")]
    | Annotated[CryptoValue, Tag("<$crypto>")],
    Discriminator(_secret_kind),
]
TimeoutMs = Annotated[int, Field(ge=0, description="Milliseconds; 0 disables the timeout")]


def _check_address(value: str | None) -> str | None:
    if value is None or ESV_PATTERN.fullmatch(value) or _ADDRESS.match(value):
        return value
    raise ValueError("must be an email address such as noreply@example.com")


class Toggle(_Strict):
    enable: bool = False


class SmtpAuth(_Strict):
    enable: bool = Field(description="Whether login credentials are needed")
    username: SecretValue | None = None
    password: SecretValue | None = None
    type: Literal["basic"] = "basic"


class OAuth2Auth(_Strict):
    enable: bool = True
    type: Literal["oauth2"] = Field(description="msgraph supports oauth2 only")
    clientId: SecretValue
    clientSecret: SecretValue
    tokenEndpoint: str = Field(min_length=1)
    scope: list[str] = Field(min_length=1, description="OAuth2 scopes, a JSON array of strings")
    scopeDelimiter: str = " "
    grantType: Literal["client_credentials"] = "client_credentials"


class Proxy(_Strict):
    proxyUri: str | None = None
    userName: str | None = None
    password: SecretValue | None = None


SmtpProperties = dict[str, str]


class _Common(_Strict):
    from_: str | None = Field(None, alias="from", description="Default From: address")
    threadPoolSize: int = Field(20, ge=1)
    connectiontimeout: TimeoutMs = TIMEOUT_DEFAULT_MS
    timeout: TimeoutMs = TIMEOUT_DEFAULT_MS
    writetimeout: TimeoutMs = TIMEOUT_DEFAULT_MS
    smtpProperties: SmtpProperties = Field(
        default_factory=dict, description="JavaMail properties, rendered as 'key=value' strings"
    )

    _address = field_validator("from_")(_check_address)


class SmtpConfig(_Common):
    type: Literal["smtp"] = "smtp"
    host: str | None = Field(None, description="Empty or absent: AIC's built-in SMTP server")
    port: int = Field(587, ge=1, le=65535)
    debug: bool = False
    fromName: str | None = None
    auth: SmtpAuth
    starttls: Toggle = Field(default_factory=Toggle)
    ssl: Toggle = Field(default_factory=Toggle)


class MsGraphConfig(_Common):
    """MS Graph sendMail; also takes IDM's External REST client properties."""

    type: Literal["msgraph"]
    mailEndpoint: str = Field(min_length=1)
    auth: OAuth2Auth
    socketTimeout: str | None = None
    connectionTimeout: str | None = None
    reuseConnections: bool | None = None
    retryRequests: bool | None = None
    maxConnections: int | None = Field(None, ge=1)
    tlsVersion: str | None = None
    hostnameVerifier: Literal["STRICT", "ALLOW_ALL"] | None = None
    proxy: Proxy | None = None


def _config_type(value: Any) -> str:
    if isinstance(value, dict):
        kind = value.get("type", "smtp")
        return kind if isinstance(kind, str) else "smtp"
    return "smtp"


EmailConfig = Annotated[
    Annotated[SmtpConfig, Tag("smtp")] | Annotated[MsGraphConfig, Tag("msgraph")],
    Discriminator(
        _config_type,
        custom_error_type="invalid_type",
        custom_error_message="'type' must be 'smtp' or 'msgraph'",
    ),
]

VARIANTS: dict[str, type[BaseModel]] = {"smtp": SmtpConfig, "msgraph": MsGraphConfig}

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
    import difflib

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
