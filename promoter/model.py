"""The pydantic model of IDM's external.email configuration: the single source of truth.

Property names, defaults and constraints follow the PingIDM 8.1 outbound email
service page and the AIC email provider page. ``schemas/*.schema.json`` are
generated from these classes (``promoter schema --write``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
)
from typing_extensions import TypeAliasType

from promoter.placeholders import PLACEHOLDER, PLACEHOLDER_TEXT

TIMEOUT_DEFAULT_MS = 300_000
ESV_PATTERN = PLACEHOLDER  # kept for callers that import it from here
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")
_NAMED_ADDRESS = re.compile(r'^(?:"[^"]*"|[^"<>]*?)\s*<([^<>]+)>$')

# Custom error type: validation.py words it "<field> must be <message>; found <input>".
EXPECTED = "expected"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True, defer_build=True)


EXPECTED_HINTS: dict[str, str] = {}  # message -> hint (metadata must stay hashable)
SECRET_SHAPES: set[str] = set()  # messages whose input may be a secret: never shown


def _expected(description: str, hint: str | None = None, *, secret: bool = False) -> Any:
    """A discriminator error that says what was expected (and found: see validation)."""
    if hint:
        EXPECTED_HINTS[description] = hint
    if secret:
        SECRET_SHAPES.add(description)
    return {"custom_error_type": EXPECTED, "custom_error_message": description}


Placeheld = Annotated[
    str, Field(pattern=PLACEHOLDER_TEXT, description="Holds an &{...} placeholder")
]


class TypedValue(_Strict):
    """AIC's typed placeholder forms: ``{"$int": "&{esv.email.port|587}"}`` and the like."""

    @property
    def expr(self) -> str:
        raise NotImplementedError


class IntExpr(TypedValue):
    value: Placeheld = Field(alias="$int")

    @property
    def expr(self) -> str:
        return self.value


class NumberExpr(TypedValue):
    value: Placeheld = Field(alias="$number")

    @property
    def expr(self) -> str:
        return self.value


class BoolExpr(TypedValue):
    value: Placeheld = Field(alias="$bool")

    @property
    def expr(self) -> str:
        return self.value


class ListExpr(TypedValue):
    value: Placeheld = Field(alias="$list", description="Comma-separated values")

    @property
    def expr(self) -> str:
        return self.value


class ArrayExpr(TypedValue):
    value: Placeheld = Field(alias="$array", description="A JSON array")

    @property
    def expr(self) -> str:
        return self.value


class ObjectExpr(TypedValue):
    value: Placeheld = Field(alias="$object", description="A JSON object")

    @property
    def expr(self) -> str:
        return self.value


def _typed_tag(value: dict[str, Any]) -> str | None:
    if len(value) == 1:
        key = next(iter(value))
        if key in ("$int", "$number", "$bool", "$list", "$array", "$object"):
            return f"<{key}>"
    return None


def _int_kind(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return "<int>"
    if isinstance(value, dict):
        return _typed_tag(value) if _typed_tag(value) in ("<$int>", "<$number>") else None
    return None


_INT_EXPECTED = _expected(
    'an integer or {$int: "&{...}"}', 'e.g. 30000 or {$int: "&{esv.x|30000}"}'
)
TimeoutMs = TypeAliasType(
    "TimeoutMs",
    Annotated[
        Annotated[Annotated[int, Field(ge=0)], Tag("<int>")]
        | Annotated[IntExpr, Tag("<$int>")]
        | Annotated[NumberExpr, Tag("<$number>")],
        Discriminator(_int_kind, **_INT_EXPECTED),
        Field(description="Milliseconds; 0 disables the timeout"),
    ],
)
PositiveInt = TypeAliasType(
    "PositiveInt",
    Annotated[
        Annotated[Annotated[int, Field(ge=1)], Tag("<int>")]
        | Annotated[IntExpr, Tag("<$int>")]
        | Annotated[NumberExpr, Tag("<$number>")],
        Discriminator(_int_kind, **_INT_EXPECTED),
    ],
)


def as_int(value: int | TypedValue) -> int:
    """An integer field's number; a typed placeholder must have been substituted first."""
    if isinstance(value, int):
        return value
    raise ValueError(f"{value.expr} is a placeholder whose value is not known here")


def _check_port_digits(value: str) -> str:
    if not 1 <= int(value) <= 65535:
        raise ValueError("port must be between 1 and 65535")
    return value


def _port_kind(value: Any) -> str | None:
    if isinstance(value, str):
        if value.isascii() and value.isdigit():
            return "<digits>"
        return "<placeholder>" if PLACEHOLDER.fullmatch(value.strip()) else None
    return _int_kind(value)


Port = Annotated[
    Annotated[Annotated[int, Field(ge=1, le=65535)], Tag("<int>")]
    | Annotated[
        Annotated[str, Field(pattern=r"^[0-9]{1,5}$"), AfterValidator(_check_port_digits)],
        Tag("<digits>"),
    ]
    | Annotated[
        Annotated[str, Field(pattern=r"^\s*" + PLACEHOLDER_TEXT + r"\s*$")], Tag("<placeholder>")
    ]
    | Annotated[IntExpr, Tag("<$int>")]
    | Annotated[NumberExpr, Tag("<$number>")],
    Discriminator(
        _port_kind,
        **_expected(
            "an integer, a digit string or a placeholder",
            'e.g. 587, "587", "&{esv.email.port}" or {$int: "&{esv.email.port|587}"}',
        ),
    ),
]


def _bool_kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "<bool>"
    if isinstance(value, dict) and _typed_tag(value) == "<$bool>":
        return "<$bool>"
    return None


Bool = TypeAliasType(
    "Bool",
    Annotated[
        Annotated[bool, Tag("<bool>")] | Annotated[BoolExpr, Tag("<$bool>")],
        Discriminator(
            _bool_kind,
            **_expected(
                "true or false",
                'YAML 1.2 reads yes, no, on and off as strings; or {$bool: "&{esv.x}"} from an ESV',
            ),
        ),
    ],
)


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


def _secret_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "<literal>"
    if isinstance(value, dict):
        if "$crypto" in value:
            return "<$crypto>"
        return "<$purpose>" if "$purpose" in value else None
    return None


SecretValue = TypeAliasType(
    "SecretValue",
    Annotated[
        Annotated[str, Tag("<literal>")]
        | Annotated[PurposeRef, Tag("<$purpose>")]
        | Annotated[CryptoValue, Tag("<$crypto>")],
        Discriminator(
            _secret_kind,
            **_expected(
                "a string, {$purpose: {name: ...}} or {$crypto: ...}",
                "keep secrets in the store: {$purpose: {name: idm.email.password}}",
                secret=True,
            ),
        ),
    ],
)


def _scope_kind(value: Any) -> str | None:
    if isinstance(value, list):
        return "<list>"
    if isinstance(value, dict) and _typed_tag(value) in ("<$list>", "<$array>"):
        return _typed_tag(value)
    return None


Scope = Annotated[
    Annotated[list[str], Field(min_length=1), Tag("<list>")]
    | Annotated[ListExpr, Tag("<$list>")]
    | Annotated[ArrayExpr, Tag("<$array>")],
    Discriminator(
        _scope_kind,
        **_expected("a list of scopes", "e.g. scope: [https://graph.microsoft.com/.default]"),
    ),
]


def address_of(value: str) -> str:
    """The address in ``a@b.c``, ``Name <a@b.c>`` or ``"Name" <a@b.c>``."""
    named = _NAMED_ADDRESS.match(value.strip())
    return named.group(1).strip() if named else value.strip()


def _check_address(value: str | None) -> str | None:
    if value is None or "&{" in value or _ADDRESS.fullmatch(address_of(value)):
        return value
    raise ValueError(
        "must be an email address such as noreply@example.com or Example <noreply@example.com>"
    )


class Toggle(_Strict):
    enable: Bool = False


class SmtpAuth(_Strict):
    enable: Bool = Field(description="Whether login credentials are needed")
    username: SecretValue | None = None
    password: SecretValue | None = None
    type: Literal["basic"] = "basic"


class OAuth2Auth(_Strict):
    enable: Bool = True
    type: Literal["oauth2"] = Field(description="msgraph supports oauth2 only")
    clientId: SecretValue
    clientSecret: SecretValue
    tokenEndpoint: str = Field(min_length=1)
    scope: Scope = Field(description="OAuth2 scopes, a JSON array of strings")
    scopeDelimiter: str = " "
    grantType: Literal["client_credentials"] = "client_credentials"

    def scopes(self) -> list[str]:
        """The scope list; a ``$list``/``$array`` form must have been substituted."""
        if isinstance(self.scope, list):
            return self.scope
        raise ValueError("scope is a placeholder whose value is not known here")


class Proxy(_Strict):
    proxyUri: str | None = None
    userName: str | None = None
    password: SecretValue | None = None


def _proxy_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return "<$object>" if _typed_tag(value) == "<$object>" else "<proxy>"
    return None


ProxyValue = Annotated[
    Annotated[Proxy, Tag("<proxy>")] | Annotated[ObjectExpr, Tag("<$object>")],
    Discriminator(_proxy_kind, **_expected("a mapping", "e.g. proxy: {proxyUri: ...}")),
]

SmtpProperties = dict[str, str]


class _Common(_Strict):
    id_: str | None = Field(None, alias="_id", description="Set by IDM; left out of the output")
    rev_: str | None = Field(None, alias="_rev", description="Set by IDM; left out of the output")
    from_: str | None = Field(
        None, alias="from", description="Default From: an address, or Name <address>"
    )
    threadPoolSize: PositiveInt = 20
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
    port: Port = Field(587, description="An integer, a digit string or a placeholder")
    debug: Bool = False
    fromName: str | None = None
    auth: SmtpAuth | None = Field(None, description="Absent: no authentication")
    starttls: Toggle = Field(default_factory=Toggle)
    ssl: Toggle = Field(default_factory=Toggle)

    def port_number(self) -> int:
        """The port as a number; a placeholder must have been substituted (see concrete())."""
        if isinstance(self.port, int):
            return self.port
        if isinstance(self.port, str) and self.port.strip().isdigit():
            return int(self.port)
        raise ValueError("the port is a placeholder whose value is not known here")


class MsGraphConfig(_Common):
    """MS Graph sendMail; also takes IDM's External REST client properties."""

    type: Literal["msgraph"]
    mailEndpoint: str = Field(min_length=1)
    auth: OAuth2Auth
    socketTimeout: str | None = None
    connectionTimeout: str | None = None
    reuseConnections: Bool | None = None
    retryRequests: Bool | None = None
    maxConnections: PositiveInt | None = None
    tlsVersion: str | None = None
    hostnameVerifier: Literal["STRICT", "ALLOW_ALL"] | None = None
    proxy: ProxyValue | None = None


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
