"""The pydantic model of IDM's external.email configuration: the single source of truth.

Property names, defaults and constraints follow the PingIDM 8.1 outbound email
service page and the AIC email provider page. ``schemas/*.schema.json`` are
generated from these classes (``promoter schema --write``).
"""

from __future__ import annotations

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

from promoter.model.expected import expected
from promoter.model.placeholders import PLACEHOLDER_TEXT
from promoter.model.shapes import (
    FROM_PATTERN,
    MsGraphKind,
    OAuth2Kind,
    SmtpKind,
    TypedKind,
    bool_kind,
    check_address,
    check_port_digits,
    config_type,
    int_kind,
    port_kind,
    proxy_kind,
    scope_kind,
    secret_kind,
)

TIMEOUT_DEFAULT_MS = 300_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True, defer_build=True)


Placeheld = Annotated[
    str, Field(pattern=PLACEHOLDER_TEXT, description="Holds an &{...} placeholder")
]


class TypedValue(TypedKind, _Strict):
    """AIC's typed placeholder forms: ``{"$int": "&{esv.email.port|587}"}`` and the like."""


class IntExpr(TypedValue):
    value: Placeheld = Field(alias="$int")


class NumberExpr(TypedValue):
    value: Placeheld = Field(alias="$number")


class BoolExpr(TypedValue):
    value: Placeheld = Field(alias="$bool")


class ListExpr(TypedValue):
    value: Placeheld = Field(alias="$list", description="Comma-separated values")


class ArrayExpr(TypedValue):
    value: Placeheld = Field(alias="$array", description="A JSON array")


class ObjectExpr(TypedValue):
    value: Placeheld = Field(alias="$object", description="A JSON object")


_INT_EXPECTED = expected('an integer or {$int: "&{...}"}', 'e.g. 30000 or {$int: "&{esv.x|30000}"}')
TimeoutMs = TypeAliasType(
    "TimeoutMs",
    Annotated[
        Annotated[Annotated[int, Field(ge=0)], Tag("<int>")]
        | Annotated[IntExpr, Tag("<$int>")]
        | Annotated[NumberExpr, Tag("<$number>")],
        Discriminator(int_kind, **_INT_EXPECTED),
        Field(description="Milliseconds; 0 disables the timeout"),
    ],
)
PositiveInt = TypeAliasType(
    "PositiveInt",
    Annotated[
        Annotated[Annotated[int, Field(ge=1)], Tag("<int>")]
        | Annotated[IntExpr, Tag("<$int>")]
        | Annotated[NumberExpr, Tag("<$number>")],
        Discriminator(int_kind, **_INT_EXPECTED),
    ],
)


def as_int(value: int | TypedValue) -> int:
    """An integer field's number; a typed placeholder must have been substituted first."""
    if isinstance(value, int):
        return value
    raise ValueError(f"{value.expr} is a placeholder whose value is not known here")


Port = Annotated[
    Annotated[Annotated[int, Field(ge=1, le=65535)], Tag("<int>")]
    | Annotated[
        Annotated[str, Field(pattern=r"^[0-9]{1,5}$"), AfterValidator(check_port_digits)],
        Tag("<digits>"),
    ]
    | Annotated[
        Annotated[str, Field(pattern=r"^\s*" + PLACEHOLDER_TEXT + r"\s*$")], Tag("<placeholder>")
    ]
    | Annotated[IntExpr, Tag("<$int>")]
    | Annotated[NumberExpr, Tag("<$number>")],
    Discriminator(
        port_kind,
        **expected(
            "an integer, a digit string or a placeholder",
            'e.g. 587, "587", "&{esv.email.port}" or {$int: "&{esv.email.port|587}"}',
        ),
    ),
]


Bool = TypeAliasType(
    "Bool",
    Annotated[
        Annotated[bool, Tag("<bool>")] | Annotated[BoolExpr, Tag("<$bool>")],
        Discriminator(
            bool_kind,
            **expected(
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


SecretValue = TypeAliasType(
    "SecretValue",
    Annotated[
        Annotated[str, Tag("<literal>")]
        | Annotated[PurposeRef, Tag("<$purpose>")]
        | Annotated[CryptoValue, Tag("<$crypto>")],
        Discriminator(
            secret_kind,
            **expected(
                "a string, {$purpose: {name: ...}} or {$crypto: ...}",
                "keep secrets in the store: {$purpose: {name: idm.email.smtp.password}}",
                secret=True,
            ),
        ),
    ],
)


Scope = Annotated[
    Annotated[list[str], Field(min_length=1), Tag("<list>")]
    | Annotated[ListExpr, Tag("<$list>")]
    | Annotated[ArrayExpr, Tag("<$array>")],
    Discriminator(
        scope_kind,
        **expected("a list of scopes", "e.g. scope: [https://graph.microsoft.com/.default]"),
    ),
]


class Toggle(_Strict):
    enable: Bool = False


class SmtpAuth(_Strict):
    enable: Bool = Field(description="Whether login credentials are needed")
    username: SecretValue | None = Field(None, repr=False)  # secrets never in a repr
    password: SecretValue | None = Field(None, repr=False)
    type: Literal["basic"] = "basic"


class OAuth2Auth(OAuth2Kind, _Strict):
    enable: Bool = True
    type: Literal["oauth2"] = Field(description="msgraph supports oauth2 only")
    clientId: SecretValue = Field(repr=False)
    clientSecret: SecretValue = Field(repr=False)
    tokenEndpoint: str = Field(min_length=1)
    scope: Scope = Field(description="OAuth2 scopes, a JSON array of strings")
    scopeDelimiter: str = " "
    grantType: Literal["client_credentials"] = "client_credentials"


class Proxy(_Strict):
    proxyUri: str | None = None
    userName: str | None = None
    password: SecretValue | None = Field(None, repr=False)


ProxyValue = Annotated[
    Annotated[Proxy, Tag("<proxy>")] | Annotated[ObjectExpr, Tag("<$object>")],
    Discriminator(proxy_kind, **expected("a mapping", "e.g. proxy: {proxyUri: ...}")),
]

SmtpProperties = dict[str, str]


class _Common(_Strict):
    id_: str | None = Field(None, alias="_id", description="Set by IDM; left out of the output")
    rev_: str | None = Field(None, alias="_rev", description="Set by IDM; left out of the output")
    from_: str | None = Field(
        None,
        alias="from",
        description="Default From: an address, or Name <address>",
        json_schema_extra={"pattern": FROM_PATTERN},
    )
    threadPoolSize: PositiveInt = 20
    connectiontimeout: TimeoutMs = TIMEOUT_DEFAULT_MS
    timeout: TimeoutMs = TIMEOUT_DEFAULT_MS
    writetimeout: TimeoutMs = TIMEOUT_DEFAULT_MS
    smtpProperties: SmtpProperties = Field(
        default_factory=dict, description="JavaMail properties, rendered as 'key=value' strings"
    )

    _address = field_validator("from_")(check_address)


class SmtpConfig(SmtpKind, _Common):
    type: Literal["smtp"] = "smtp"
    host: str | None = Field(None, description="Empty or absent: AIC's built-in SMTP server")
    port: Port = Field(587, description="An integer, a digit string or a placeholder")
    debug: Bool = False
    fromName: str | None = None
    auth: SmtpAuth | None = Field(None, description="Absent: no authentication")
    starttls: Toggle = Field(default_factory=Toggle)
    ssl: Toggle = Field(default_factory=Toggle)


class MsGraphConfig(MsGraphKind, _Common):
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


EmailConfig = Annotated[
    Annotated[SmtpConfig, Tag("smtp")] | Annotated[MsGraphConfig, Tag("msgraph")],
    Discriminator(
        config_type,
        custom_error_type="invalid_type",
        custom_error_message="'type' must be 'smtp' or 'msgraph'",
    ),
]

VARIANTS: dict[str, type[BaseModel]] = {"smtp": SmtpConfig, "msgraph": MsGraphConfig}
