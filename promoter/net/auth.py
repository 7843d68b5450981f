"""Token providers for ``idm`` and ``aic`` targets: where the Authorization comes from.

    bearerEnv               a ready token from an environment variable
    usernameEnv/passwordEnv IDM's X-OpenIDM-Username / -Password headers
    oauth2                  client_credentials against AM (self-managed IDM behind AM)
    serviceAccount          AIC's service-account grant: an RS256 JWT assertion signed with
                            the account's private key (JWK or PEM), jwt-bearer grant

Tokens are kept in memory only (one provider per auth setting for the process, so the
watcher reuses them), reused until shortly before ``expires_in`` runs out, and fetched again
then or once after a 401 (``invalidate``). A token, key or client secret never appears in a
message: errors from the token endpoint show its status, its OAuth error code and its
``error_description`` through ``untrusted.scrub``.

PyJWT and cryptography are imported only when a service-account assertion is signed.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from promoter.errors import InputError
from promoter.net.tokens import TokenProvider, environ_value
from promoter.project.auth import (
    AuthSettings,
    BearerAuth,
    HeadersAuth,
)


class Provider(Protocol):
    """What a client asks of its auth: headers for a request, a retry after a 401."""

    def headers(self) -> dict[str, str]: ...

    def invalidate(self) -> bool:
        """Forget the token; True when a fresh one may succeed (worth one retry)."""
        ...

    def hint(self) -> str: ...

    def secrets(self) -> list[str]:
        """What a remote reply must never echo back (tokens, keys, client secrets)."""
        ...


@dataclass(slots=True)
class StaticBearer:
    settings: BearerAuth
    environ: Mapping[str, str] = field(repr=False)  # holds the credentials: never in a repr

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {environ_value(self.environ, self.settings.env)}"}

    def invalidate(self) -> bool:
        return False  # the same token again would be refused again

    def hint(self) -> str:
        return f"check the token in ${self.settings.env}"

    def secrets(self) -> list[str]:
        value = self.environ.get(self.settings.env)
        return [value] if value else []


@dataclass(slots=True)
class StaticHeaders:
    settings: HeadersAuth
    environ: Mapping[str, str] = field(repr=False)

    def headers(self) -> dict[str, str]:
        return {
            "X-OpenIDM-Username": environ_value(self.environ, self.settings.username_env),
            "X-OpenIDM-Password": environ_value(self.environ, self.settings.password_env),
        }

    def invalidate(self) -> bool:
        return False

    def hint(self) -> str:
        return f"check ${self.settings.username_env} and ${self.settings.password_env}"

    def secrets(self) -> list[str]:
        value = self.environ.get(self.settings.password_env)
        return [value] if value else []


_PROVIDERS: dict[tuple[object, ...], Provider] = {}
_PROVIDERS_LOCK = threading.Lock()


def provider(
    settings: AuthSettings | None,
    *,
    url: str,
    ca_file: Path | None = None,
    timeout: float = 30.0,
    retries: int = 3,
    environ: Mapping[str, str] | None = None,
) -> Provider:
    """The provider for ``settings``; one per setting for the process, so tokens are reused."""
    env = os.environ if environ is None else environ
    if settings is None:
        raise InputError(
            f"no credentials configured for {url}",
            hint="set bearerEnv, usernameEnv and passwordEnv, oauth2 or serviceAccount "
            "on the target in promoter.yaml",
        )
    if isinstance(settings, BearerAuth):
        return StaticBearer(settings, env)
    if isinstance(settings, HeadersAuth):
        return StaticHeaders(settings, env)
    key = (settings, ca_file, timeout, retries, id(env))
    with _PROVIDERS_LOCK:
        found = _PROVIDERS.get(key)
        if found is None:
            found = _PROVIDERS[key] = TokenProvider(settings, env, ca_file, timeout, retries)
        return found


def forget_tokens() -> None:
    """Drop every cached provider (tests; a reloaded promoter.yaml)."""
    with _PROVIDERS_LOCK:
        _PROVIDERS.clear()
