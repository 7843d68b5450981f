"""Tokens from a token endpoint: OAuth2 client credentials, AIC's signed service-account grant."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promoter.errors import InputError, TargetError
from promoter.files.safeopen import Unreadable, read_text_file
from promoter.net.deadline import Deadline
from promoter.net.tls import client_context
from promoter.project.auth import (
    OAuth2Auth,
    ServiceAccountAuth,
)
from promoter.untrusted import http_status, oauth_error, remote_json, scrub

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


SERVICE_ACCOUNT_CLIENT = "service-account"


MAX_KEY_BYTES = 64 * 1024  # a JWK or PEM key is a few KB
ASSERTION_LIFETIME = 150  # s; AIC refuses exp > now + 180: 30 s for a tenant clock behind ours


DEFAULT_LIFETIME = 60  # s, when a token endpoint omits expires_in


@dataclass(slots=True)
class _Token:
    value: str = field(repr=False)
    expires_at: float  # monotonic
    scope: str


@dataclass
class TokenProvider:
    """A token from a token endpoint, cached until shortly before it expires."""

    settings: OAuth2Auth | ServiceAccountAuth
    environ: Mapping[str, str] = field(repr=False)
    ca_file: Path | None = None
    timeout: float = 30.0
    retries: int = 3
    fetches: int = 0  # token requests made (for tests and figures)
    dropped: list[str] = field(default_factory=list)  # scopes the endpoint refused
    clock: Callable[[], float] = time.monotonic
    _token: _Token | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _sent: list[str] = field(default_factory=list, repr=False)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def token(self) -> str:
        with self._lock:
            now = self.clock()
            if self._token is None or now >= self._token.expires_at:
                self._token = self._fetch()
            return self._token.value

    def invalidate(self) -> bool:
        with self._lock:
            self._token = None
        return True

    def hint(self) -> str:
        s = self.settings
        if isinstance(s, OAuth2Auth):
            return f"check ${s.client_id_env} and ${s.client_secret_env}"
        where = f"${s.key_env}" if s.key_env else (s.key_display or str(s.key_file))
        return f"check the service account id in ${s.id_env} and its key in {where}"

    def secrets(self) -> list[str]:
        return [v for v in self._sent if v] + ([self._token.value] if self._token else [])

    def _scope(self) -> list[str]:
        return [s for s in self.settings.scope if s not in self.dropped]

    def _fetch(self) -> _Token:
        for _ in range(len(self.settings.scope) + 1):
            status, body = self._post(self._form())
            if status == 200:
                return self._parse(body)
            refused = _refused_scopes(body, self._scope()) if status == 400 else []
            if not refused or refused == self._scope():
                raise self._refusal(status, body)
            self.dropped.extend(refused)  # as frodo does: ask again without them
        raise self._refusal(status, body)

    def _form(self) -> dict[str, str]:
        s = self.settings
        scope = " ".join(self._scope())
        if isinstance(s, OAuth2Auth):
            client_id = environ_value(self.environ, s.client_id_env)
            secret = environ_value(self.environ, s.client_secret_env)
            self._sent = [secret, client_id]
            return {
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
                "scope": scope,
            }
        key = self._key_text()
        assertion = sign_assertion(environ_value(self.environ, s.id_env), key, s.token_endpoint)
        self._sent = [assertion, key]
        return {
            "grant_type": JWT_BEARER,
            "client_id": SERVICE_ACCOUNT_CLIENT,
            "scope": scope,
            "assertion": assertion,
        }

    def _key_text(self) -> str:
        s = self.settings
        assert isinstance(s, ServiceAccountAuth)
        if s.key_env:
            return environ_value(self.environ, s.key_env)
        assert s.key_file is not None
        display = s.key_display or str(s.key_file)
        try:
            # as overlays are read: non-blocking, a regular file only, bounded (a FIFO or
            # /dev/zero named as keyFile is an error, not a hang or a MemoryError)
            return read_text_file(s.key_file, MAX_KEY_BYTES)
        except Unreadable as exc:
            raise InputError(
                f"cannot read the service-account key file {display}: {exc.reason}",
                hint="keyFile names the key.jwk (or PEM) downloaded when the account was made",
            ) from None

    def _post(self, form: dict[str, str]) -> tuple[int, Any]:
        import httpx  # lazy: httpx only for the commands that use it

        url = self.settings.token_endpoint
        timeout = httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0))
        problem = ""
        deadline = Deadline(self.timeout)  # the whole request, not each read
        with httpx.Client(verify=client_context(self.ca_file), timeout=timeout) as client:
            for attempt in range(1 + self.retries):
                if attempt:
                    time.sleep(min(0.2 * 2 ** (attempt - 1), 2.0))
                    if isinstance(self.settings, ServiceAccountAuth):
                        form = self._form()  # a fresh jti: a replayed assertion is refused
                self.fetches += 1
                try:
                    with deadline.running():
                        response = client.post(
                            url,
                            data=form,
                            headers={"Accept": "application/json"},
                            extensions={"trace": deadline.trace},
                        )
                except httpx.TransportError as exc:
                    why = deadline.explain(type(exc).__name__, exc)
                    problem = f"cannot reach the token endpoint {url}: {why}"
                    continue
                if response.status_code >= 500:
                    problem = f"the token endpoint {url} answered {response.status_code}"
                    continue
                try:
                    body = remote_json(response)
                except ValueError:
                    body = None
                return response.status_code, body
        raise TargetError(f"get a token: {problem} (after {1 + self.retries} attempts)")

    def _parse(self, body: Any) -> _Token:
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise TargetError(
                f"get a token: {self.settings.token_endpoint} answered 200 without an access_token"
            )
        lifetime = body.get("expires_in", DEFAULT_LIFETIME)
        if isinstance(lifetime, str) and lifetime.isdigit():
            lifetime = int(lifetime)
        if not isinstance(lifetime, int | float) or isinstance(lifetime, bool) or lifetime <= 0:
            lifetime = DEFAULT_LIFETIME
        # renew a little early: a fifth of the lifetime, at most a minute
        margin = min(60.0, float(lifetime) / 5)
        scope = body.get("scope")
        granted = scope if isinstance(scope, str) else ""
        return _Token(token, self.clock() + float(lifetime) - margin, granted)

    def _refusal(self, status: int, body: Any) -> TargetError:
        code = oauth_error(body)
        description = body.get("error_description") if isinstance(body, dict) else None
        reason = f" {code}" if code else ""
        text = ""
        if isinstance(description, str) and description:
            text = ": " + scrub(description, self.secrets())
        dropped = f" (dropped scopes the tenant refused: {', '.join(self.dropped)})"
        who = "service account" if isinstance(self.settings, ServiceAccountAuth) else "client"
        return TargetError(
            f"get a token: {self.settings.token_endpoint} refused the {who} "
            f"({http_status(status)}{reason}){text}" + (dropped if self.dropped else ""),
            hint=self.hint(),
        )


def _refused_scopes(body: Any, asked: list[str]) -> list[str]:
    """Scopes an ``invalid_scope`` answer names ("Unsupported scope for service account: a,b").

    Only scopes we asked for count: the text is untrusted and matched, never shown.
    """
    if oauth_error(body) != "invalid_scope" or not isinstance(body, dict):
        return []
    description = body.get("error_description")
    if not isinstance(description, str) or ": " not in description:
        return []
    named = {part.strip() for part in description[:2000].split(": ", 1)[1].split(",")}
    return [s for s in asked if s in named]


def sign_assertion(account_id: str, key_text: str, audience: str) -> str:
    """The service-account JWT: RS256, iss = sub = id, aud = token endpoint, short exp, jti."""
    import jwt  # lazy: jwt only for the commands that use it

    key = _private_key(key_text)
    now = int(time.time())
    claims = {
        "iss": account_id,
        "sub": account_id,
        "aud": audience,
        "exp": now + ASSERTION_LIFETIME,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, key, algorithm="RS256")


def _private_key(text: str) -> Any:
    # lazy: cryptography only for the commands that use it
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    # lazy: cryptography only for the commands that use it
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    problem = InputError(
        "the service-account key is not a private RSA key (JWK or PEM)",
        hint="use the key.jwk downloaded when the service account was created",
    )
    stripped = text.strip()
    try:
        if stripped.startswith("{"):
            from jwt.algorithms import RSAAlgorithm  # lazy: jwt only for the commands that use it

            key: Any = RSAAlgorithm.from_jwk(stripped)
        else:
            key = load_pem_private_key(stripped.encode(), password=None)
    except Exception:  # noqa: BLE001 - never show the library's text: it may quote the key
        raise problem from None
    if not isinstance(key, RSAPrivateKey):
        raise problem
    return key


def environ_value(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name)
    if not value:
        raise InputError(f"environment variable {name} is not set", hint=f"export {name}=...")
    return value
