"""How a target authenticates, as promoter.yaml says: settings only (net/auth.py makes tokens)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

IDM_SCOPE = "fr:idm:*"


ESV_SCOPE = "fr:idc:esv:*"


PROMOTION_SCOPE = "fr:idc:promotion:*"


AIC_SCOPES = (IDM_SCOPE, ESV_SCOPE, PROMOTION_SCOPE)


@dataclass(frozen=True, slots=True)
class BearerAuth:
    env: str


@dataclass(frozen=True, slots=True)
class HeadersAuth:
    username_env: str
    password_env: str


@dataclass(frozen=True, slots=True)
class OAuth2Auth:
    token_endpoint: str
    client_id_env: str
    client_secret_env: str
    scope: tuple[str, ...] = (IDM_SCOPE,)


@dataclass(frozen=True, slots=True)
class ServiceAccountAuth:
    token_endpoint: str
    id_env: str
    key_env: str | None = None
    key_file: Path | None = None
    key_display: str | None = None  # the key file as written in promoter.yaml
    scope: tuple[str, ...] = AIC_SCOPES


AuthSettings = BearerAuth | HeadersAuth | OAuth2Auth | ServiceAccountAuth
