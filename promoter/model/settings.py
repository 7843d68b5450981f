"""The pydantic model of promoter.yaml (all keys optional): the single source of truth.

``project/load.py`` applies it; ``schemas/promoter.schema.json`` is generated from it.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator

from promoter.findings import Tier
from promoter.model.shapes import (
    AicTargetKind,
    EsvSecretKind,
    FileTargetKind,
    IdmTargetKind,
    Render,
    check_optional_url,
    check_property_names,
    check_url,
    check_version_suffix,
    esv_value_kind,
    list_or_mapping,
    store_kind,
    target_kind,
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)


class StoreSettings(_Strict):
    directory: str
    format: Literal["plain", "base64"] = "plain"
    versionSuffix: str | None = Field(
        None,
        min_length=1,
        max_length=32,
        json_schema_extra={"pattern": r"^[A-Za-z0-9._-]+$"},
        description="appended to a purpose's file name (name.v1); letters, digits, '.', '_', '-'",
    )

    _a_suffix = field_validator("versionSuffix")(check_version_suffix)


class FileTargetSettings(FileTargetKind, _Strict):
    file: str


class OAuth2Settings(_Strict):
    tokenEndpoint: str = Field(description="AM's token endpoint: https://<am>/oauth2/access_token")
    clientIdEnv: str
    clientSecretEnv: str
    scope: list[str] = Field(default_factory=lambda: ["fr:idm:*"], min_length=1)

    _a_url = field_validator("tokenEndpoint")(check_url)


class ServiceAccountSettings(_Strict):
    idEnv: str = Field(description="environment variable holding the service account's id")
    keyEnv: str | None = Field(None, description="environment variable holding its key (JWK/PEM)")
    keyFile: str | None = Field(None, description="file holding its key (JWK or PEM)")
    scope: list[str] | None = Field(None, min_length=1)
    tokenEndpoint: str | None = Field(
        None, description="default on an aic target: <tenant>/am/oauth2/access_token"
    )

    _a_url = field_validator("tokenEndpoint")(check_optional_url)


class _AuthFields(_Strict):
    bearerEnv: str | None = None
    usernameEnv: str | None = None
    passwordEnv: str | None = None
    oauth2: OAuth2Settings | None = None
    serviceAccount: ServiceAccountSettings | None = None
    caFile: str | None = None
    timeout: float = Field(30.0, gt=0, le=3600)
    retries: int = Field(3, ge=0, le=10)


class IdmTargetSettings(IdmTargetKind, _AuthFields):
    idm: str = Field(description="Base URL, e.g. https://idm.example.com/openidm")

    _a_url = field_validator("idm")(check_url)


class AicTargetSettings(AicTargetKind, _AuthFields):
    aic: str = Field(description="the tenant environment's URL: https://<tenant-fqdn>")
    pollInterval: float = Field(
        1.0,
        gt=0,
        le=300,
        description="seconds between status polls (promotion, restart); 1 s by default",
    )
    waitTimeout: float = Field(
        1800.0,
        gt=0,
        le=86400,
        description="seconds to wait for a promotion or a restart to finish",
    )
    directConfiguration: bool = Field(
        False,
        description="write this immutable (controlled) tenant through a Direct Configuration "
        "session instead of refusing a direct deliver",
    )
    esvVersions: int | None = Field(
        None,
        ge=1,
        le=1000,
        description="after a proven rotation, keep only the newest N versions of each ESV "
        "secret (default: keep all)",
    )

    _a_url = field_validator("aic")(check_url)


# Tags in <> are dropped from error locations (see validation).
TargetSettings = Annotated[
    Annotated[FileTargetSettings, Tag("<file>")]
    | Annotated[IdmTargetSettings, Tag("<idm>")]
    | Annotated[AicTargetSettings, Tag("<aic>")],
    Discriminator(target_kind),
]


SecretsSettings = Annotated[
    Annotated[str, Tag("<path>")] | Annotated[StoreSettings, Tag("<directory>")],
    Discriminator(store_kind),
]


class _PurposeSpec(_Strict):
    name: str = Field(min_length=1, description="Secret purpose: a file name in the env's store")
    jsonPointer: str | None = None


class EsvSecretSettings(EsvSecretKind, _Strict):
    """An ESV secret: its value comes from the environment's secret store."""

    purpose: _PurposeSpec = Field(alias="$purpose")
    model_config = ConfigDict(populate_by_name=True)


# A literal ESV variable value; YAML numbers and booleans are kept as AIC's string form.
EsvLiteral = str | int | float | bool


EsvValue = Annotated[
    Annotated[None, Tag("<none>")]
    | Annotated[EsvLiteral, Tag("<literal>")]
    | Annotated[EsvSecretSettings, Tag("<secret>")],
    Discriminator(esv_value_kind),
]


EsvsSettings = Annotated[
    Annotated[list[str], Tag("<list>")] | Annotated[dict[str, EsvValue], Tag("<mapping>")],
    Discriminator(list_or_mapping),
]
PropertiesSettings = Annotated[
    Annotated[list[str], Tag("<list>")] | Annotated[dict[str, EsvLiteral | None], Tag("<mapping>")],
    Discriminator(list_or_mapping),
]


class EnvSettings(_Strict):
    tier: Tier | None = None
    overlay: str | None = None
    secrets: SecretsSettings | None = None
    render: Render = "resolved"
    target: TargetSettings | None = None
    esvs: EsvsSettings = Field(
        default_factory=list,
        description="ESVs of this environment: a list of names (value unknown), or name -> "
        "value (a literal ESV variable, or {$purpose: {...}}: an ESV secret from the store)",
    )
    properties: PropertiesSettings = Field(
        default_factory=list,
        description="IDM property substitution names (&{name}) this environment defines, "
        "as a list or name -> value",
    )

    _property_names = field_validator("properties")(check_property_names)
    requireVerified: bool | Literal["templates"] = Field(
        default=False,
        description="promote from here only an output `promoter verify` proved: true (a test "
        "email), or templates (`verify --templates`: every email template through the target)",
    )
    allowOutsideRepo: bool = Field(
        default=False,
        description="let secrets, overlay and a file target lie outside the repo "
        "(an absolute path or one through '..'); without it such a path is an error",
    )


class WaiverSettings(_Strict):
    rule: str = Field(json_schema_extra={"pattern": r"^EMAIL\d{3}$"}, description="e.g. EMAIL006")
    env: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    expires: Annotated[date, Field(strict=False)]


class AllowSettings(_Strict):
    fingerprint: str = Field(pattern=r"^fp:[0-9a-f]{16}$", description="from the scan finding")
    reason: str = Field(min_length=1)


class ScanSettings(_Strict):
    examples: list[str] = Field(
        default_factory=list, description="store paths holding fake values that git may track"
    )
    allow: list[AllowSettings] = Field(default_factory=list)


class ProjectSettings(_Strict):
    order: list[str] | None = None
    base: str | None = None
    environments: dict[str, EnvSettings] = Field(default_factory=dict)
    waivers: list[WaiverSettings] = Field(default_factory=list)
    scan: ScanSettings = Field(default_factory=ScanSettings)
