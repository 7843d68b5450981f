"""A stand-in for one PingOne AIC tenant environment (dev, staging or prod), for tests.

It implements the REST contract of ``shared/aic-api.md`` on 127.0.0.1 with a random port
(plain http, or https with ``tls_context=Tls.server_context()``). Codes, bodies and field
names follow that file; the rows it marks [inferred] are chosen here and listed at the end.
It is a stand-in: no real tenant runs in the tests.

Quick start::

    with AicChain() as chain:                     # dev <- staging <- prod, started
        key = chain.key                           # one service account, on all three
        chain.dev.url, chain.dev.token_url        # http://127.0.0.1:PORT, its token URL
        key.id, key.private_jwk, key.private_pem  # what AIC hands out at creation (key.jwk)
        key.assertion(chain.dev.token_url)        # a signed JWT (tests of the stand-in only)

    with AicStandin("dev") as dev, AicStandin("staging", lower=dev) as staging: ...

Construction: ``AicStandin(name, *, lower=None, mutable=None, public_url=None,
token_lifetime=899, restart_seconds=0.1, lock_seconds=0.05, promotion_seconds=0.1,
properties=None, ca_file=None, tls_context=None)``. ``mutable`` defaults to "no lower env"
(dev is mutable; staging/prod are not). ``lower=dev`` makes this env the upper of the
pair (it pulls from ``dev`` on promotion) and sets ``dev.upper``. A ``*_seconds`` of 0
finishes the step before the answer leaves; ``None`` holds it until ``release()``.
``public_url`` (e.g. ``https://openam-x.example.com``) is the URL the tenant believes it
has: JWT ``aud`` may name it (also with ``:443``) as well as ``url``. ``properties`` are
platform placeholders (``&{email.sender.address}``, ``&{aic.*}``) for sends.

Endpoints (every response carries the contract's headers):

- ``POST /am/oauth2/access_token`` (form). ``grant_type=urn:ietf:params:oauth:grant-type:
  jwt-bearer``, ``client_id=service-account``, ``scope``, ``assertion``: RS256 JWT, ``iss``
  == ``sub`` == a registered account id, ``aud`` == token URL, ``exp`` not past and at most
  180 s ahead (1 s slack for integer rounding), ``nbf`` not in the future, ``jti`` spent
  once the JWT verifies (even when the scope is then refused: make a new JWT to retry);
  ``jti`` may be absent unless ``openid`` is asked. A scope outside the account's allowed
  set: ``400 {"error":"invalid_scope","error_description":"Unsupported scope for service
  account: a,b"}``. ``grant_type=client_credentials`` with a client from
  ``add_oauth2_client`` (HTTP Basic or form ``client_id``/``client_secret``; no scope =
  all the client's scopes). Success: ``200 {"access_token","scope","token_type":"Bearer",
  "expires_in": token_lifetime}``. Refusals: AM's ``{"error","error_description"}``.
- ``GET|PUT /openidm/config/<id>`` (``fr:idm:*``; ``Accept-API-Version`` optional, must
  name ``resource=1.0`` when sent). GET answers ``{"_id": id, ...}``; a new tenant holds
  ``DEFAULT_EMAIL`` as ``external.email``; other ids 404 until put. PUT stores the body
  (``_id`` dropped) and answers it; a literal ``auth.password``/``auth.clientSecret`` is
  stored as ``{"$crypto": ...}`` encrypted with this tenant's own key (another tenant
  cannot decrypt it). Immutable env: ``403`` "...editable only in your development
  environment..."; a lower env locked for a promotion: ``403`` "...locked for a promotion...".
- ``POST /openidm/external/email?_action=send`` (``fr:idm:*``) ``{from,to,subject,body}``
  really sends with the held ``external.email`` (smtp or msgraph, via
  ``idm_standin.Mailer``), placeholders resolved from the LOADED ESVs (``runtime``), then
  ``properties``, then ``|default``; ``$int``/``$bool``/``$number``/``$list``/``$array``/
  ``$object``/``$string`` coerced; a bare placeholder of a typed variable is typed;
  ``$crypto`` decrypted with this tenant's key. ``200 {"status":"OK",...}``; any failure
  ``500`` (reason appended to ``send_failures``); ``sent`` counts successes.
- ``GET /openidm/config?_queryFilter=_id sw "..."`` and ``POST /openidm/external/email?
  _action=sendTemplate``: the email templates in ``templates`` (``templates_standin``; the
  built-in ``fr*`` ones left out of ``_id sw "emailTemplate"``), sent with the held config.
- ``/environment/variables[/<id>]``, ``/environment/secrets[/<id>[/versions[/<v>]]]``,
  ``_action=setDescription|create|changestatus``, DELETE (see ``aic_esvs``): scopes
  ``fr:idc:esv:*`` or ``:read`` (GET) / ``:update`` (PUT, POST, DELETE). Lists answer
  the paged envelope; ``Accept-API-Version: resource=2.0`` pages (``_pageSize`` <= 100,
  ``_pagedResultsOffset``, ``_pagedResultsCookie``, ``_onlyPending``) and drops
  ``valueBase64``.
- ``GET /environment/startup`` (``:read``) ``{"restartStatus":"ready"|"restarting"}``;
  ``POST /environment/startup?_action=restart`` (``:restart``) ``200 restarting``, or
  ``409`` while one runs; after ``restart_seconds`` every ESV is loaded as it was when
  the restart began.
- ``GET /environment/info`` and ``/environment/direct-configuration/session/...``: see
  ``aic_dcc`` (``info`` overrides, ``dcc`` the session, with its dwell times).
- ``/environment/promotion/...`` on an upper env: see ``aic_promotion`` (lock, lock/state,
  unlock, promote status/start, report(s), provisional (lower env), provisional-rollback,
  rollback). Needs ``Accept-API-Version`` with ``resource=1.0`` (else 400) and
  ``fr:idc:promotion:*`` (GETs also ``fr:idc:promotion:read``).

Token failures: ``/environment``: ``401 {"code":401,"message":"unauthorized"}`` +
``WWW-Authenticate``; missing scope ``403 {"code":403,"message":"forbidden"}``.
``/openidm``: ``401 {"code":401,"reason":"Unauthorized","message":"Access Denied"}``,
``403 {"code":403,"reason":"Forbidden","message":"Access denied"}``.

Test hooks:

- accounts: ``add_service_account(scopes=ALL_SCOPES, key=None) -> ServiceAccountKey``
  (``key=`` registers an existing account on another env), ``add_oauth2_client(id,
  secret, scopes)``, ``issue_token(scopes) -> str``, ``expire_tokens()``,
  ``issued_tokens()``, ``token_lifetime`` (settable).
- state: ``config(id)`` / ``set_config(id, obj)`` (bypass immutability and locks; stored
  as given), ``configs`` (dict), ``set_variable(id, value, type="string", loaded=True)``,
  ``set_secret(id, value, loaded=True)`` (a new version if it exists), ``esvs``
  (``aic_esvs.EsvStore``: ``.variables``, ``.secrets``, ``.runtime``),
  ``secret_value(id, version=None)``, ``restarting``, ``restarts`` (count begun).
- log and faults: ``seen`` [(method, path, status)], ``count(method, path_prefix)``,
  ``fail_next(status, count, body=, headers=, delay=)`` / ``delay_next(seconds)``
  (the next requests, whatever they are; a delay makes a client time out),
  ``fail_request(method, path_prefix, status, body=, count=1, delay=0)`` (only matching
  requests; status -1 drops the connection), ``go_down()`` / ``come_back()``
  (connection refused, same port),
  ``release()`` (finish steps held by ``*_seconds=None``), ``promotions.fail_next(...)``
  (see ``aic_promotion``).

[inferred] choices: error texts not in aic-api.md; a variable PUT always answers
``loaded:false`` (even with the loaded value), so a client must compare values itself
to avoid a needless restart; a value must parse as its expressionType; an id is either
a variable or a secret, not both; secret versions always list ``loaded:false``;
``nbf``/``jti`` rules above.
"""

from __future__ import annotations

import base64
import copy
import re
import secrets
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.aic_dcc import SESSION_PATH, DirectConfig, info, staged_write
from tests.support.aic_esvs import EsvStore, Secret, Variable, Version, error, now_stamp
from tests.support.http_standin import HttpStandin, Request, Response
from tests.support.idm_standin import Mailer
from tests.support.templates_standin import Templates

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
IDM_SCOPE = "fr:idm:*"
ESV_SCOPE = "fr:idc:esv:*"
PROMOTION_SCOPE = "fr:idc:promotion:*"
ALL_SCOPES = (IDM_SCOPE, ESV_SCOPE, PROMOTION_SCOPE)
MAX_ASSERTION_SECONDS = 180
EMAIL_ID = "external.email"
SECRET_FIELDS = ("password", "clientSecret")
DEFAULT_EMAIL: dict[str, Any] = {
    "auth": {
        "enable": True,
        "password": "&{aic.customer.sasl.pass}",
        "username": "&{aic.customer.sasl.user|donotuse@pingidentity.com}",
    },
    "connectiontimeout": 300000,
    "debug": False,
    "from": "&{email.sender.address}",
    "host": "&{aic.smtp.relay.host|smtp-relay.fr-platform.svc.cluster.local}",
    "port": 25,
    "smtpProperties": [],
    "ssl": {"enable": False},
    "starttls": {"enable": False},
    "threadPoolSize": 20,
    "timeout": 300000,
    "writetimeout": 300000,
}
IMMUTABLE = (
    "This configuration is editable only in your development environment: "
    "this environment is immutable."
)
LOCKED = "This configuration cannot be changed now: the environments are locked for a promotion."
PLACEHOLDER = re.compile(r"&\{([^{}|]+)(?:\|([^{}]*))?\}")
COERCIONS = ("$int", "$bool", "$number", "$list", "$array", "$object", "$string")


@dataclass(frozen=True)
class ServiceAccountKey:
    """A service account as AIC creates it: an id (UUID) and its private RSA JWK."""

    id: str
    private_key: rsa.RSAPrivateKey

    @property
    def private_jwk(self) -> dict[str, Any]:
        import jwt

        jwk: dict[str, Any] = jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key, as_dict=True)
        return jwk

    @property
    def private_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def assertion(self, audience: str, **claims: Any) -> str:
        """A JWT as frodo signs it; ``claims`` override (``exp=``, ``jti=None`` drops it)."""
        import jwt

        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.id,
            "sub": self.id,
            "aud": audience,
            "exp": now + MAX_ASSERTION_SECONDS,
            "jti": str(uuid.uuid4()),
        }
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(payload, self.private_key, algorithm="RS256")


def new_service_account() -> ServiceAccountKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ServiceAccountKey(str(uuid.uuid4()), key)


@dataclass
class _Account:
    key: ServiceAccountKey
    scopes: frozenset[str]


@dataclass
class _PathFault:
    method: str
    prefix: str
    status: int
    body: Any
    count: int
    delay: float


@dataclass
class _Token:
    subject: str
    scopes: frozenset[str]
    expires: float


def _oauth_error(status: int, code: str, description: str) -> Response:
    return Response(status, {"error": code, "error_description": description})


def _api_version(headers: Any) -> dict[str, str] | None:
    header = headers.get("Accept-API-Version")
    if header is None:
        return None
    parts = (p.strip().split("=", 1) for p in header.split(","))
    return {p[0]: p[1] for p in parts if len(p) == 2}


def _normal_url(url: str) -> tuple[str, str, int | None, str] | None:
    try:
        parts = urlsplit(url)
        port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    except ValueError:
        return None
    return parts.scheme, (parts.hostname or "").lower(), port, parts.path


class AicStandin(HttpStandin):
    def __init__(
        self,
        name: str = "dev",
        *,
        lower: AicStandin | None = None,
        mutable: bool | None = None,
        public_url: str | None = None,
        token_lifetime: int = 899,
        restart_seconds: float | None = 0.1,
        lock_seconds: float | None = 0.05,
        promotion_seconds: float | None = 0.1,
        properties: dict[str, str] | None = None,
        ca_file: Path | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(tls_context)
        from tests.support.aic_promotion import Promotions

        self.name = name
        self.lower = lower
        self.upper: AicStandin | None = None
        if lower is not None:
            lower.upper = self
        self.mutable = lower is None if mutable is None else mutable
        self.public_url = public_url
        self.token_lifetime = token_lifetime
        self.restart_seconds = restart_seconds
        self.lock_seconds = lock_seconds
        self.promotion_seconds = promotion_seconds
        self.properties = dict(properties or {})
        self.configs: dict[str, dict[str, Any]] = {EMAIL_ID: copy.deepcopy(DEFAULT_EMAIL)}
        self.esvs = EsvStore()
        self.restarting = False
        self.restarts = 0
        self.sent = 0
        self.send_failures: list[str] = []
        self.mailer = Mailer(ca_file)
        self.templates = Templates(builtin_prefix="fr")
        self.promotions = Promotions(self)
        self.info: dict[str, Any] = {}  # GET /environment/info overrides (aic_dcc)
        self.dcc = DirectConfig(self)
        self._accounts: dict[str, _Account] = {}
        self._clients: dict[str, tuple[str, frozenset[str]]] = {}
        self._tokens: dict[str, _Token] = {}
        self._spent_jti: set[str] = set()
        self._fernet = Fernet(Fernet.generate_key())
        self._tls = tls_context
        self._held: list[Callable[[], None]] = []
        self._timers: list[threading.Timer] = []
        self._path_faults: list[_PathFault] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._quiet()

    def _quiet(self) -> None:
        """A client that gave up (a timeout test) is no error worth a traceback."""
        self.server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]

    def _serve(self) -> None:
        self.server.serve_forever(poll_interval=0.02)  # a quick shutdown: three per chain

    # -- test hooks ------------------------------------------------------------------------

    @property
    def token_url(self) -> str:
        return f"{self.url}/am/oauth2/access_token"

    def add_service_account(
        self, scopes: Iterable[str] = ALL_SCOPES, *, key: ServiceAccountKey | None = None
    ) -> ServiceAccountKey:
        key = key or new_service_account()
        with self.lock:
            self._accounts[key.id] = _Account(key, frozenset(scopes))
        return key

    def add_oauth2_client(
        self, client_id: str, secret: str, scopes: Iterable[str] = (IDM_SCOPE,)
    ) -> None:
        with self.lock:
            self._clients[client_id] = (secret, frozenset(scopes))

    def issue_token(self, scopes: Iterable[str] = ALL_SCOPES, *, subject: str = "test") -> str:
        token = secrets.token_urlsafe(32)
        with self.lock:
            self._tokens[token] = _Token(
                subject, frozenset(scopes), time.time() + self.token_lifetime
            )
        return token

    def expire_tokens(self) -> None:
        with self.lock:
            for token in self._tokens.values():
                token.expires = 0.0

    def issued_tokens(self) -> list[str]:
        """Every access token this stand-in handed out (canary tests assert them absent)."""
        with self.lock:
            return list(self._tokens)

    def config(self, config_id: str = EMAIL_ID) -> dict[str, Any] | None:
        with self.lock:
            return copy.deepcopy(self.configs.get(config_id))

    def set_config(self, config_id: str, value: dict[str, Any] | None) -> None:
        """Change (or, with None, delete) a config item directly, as another team would."""
        with self.lock:
            if value is None:
                self.configs.pop(config_id, None)
            else:
                self.configs[config_id] = copy.deepcopy(value)

    def set_variable(
        self, esv_id: str, value: str, expression_type: str = "string", *, loaded: bool = True
    ) -> None:
        encoded = base64.b64encode(value.encode()).decode()
        with self.lock:
            variable = self.esvs.variables.get(esv_id)
            if variable is None:
                variable = Variable(esv_id, encoded, expression_type, changed_by="test")
                self.esvs.variables[esv_id] = variable
            else:
                variable.changes += 1
            variable.value_base64, variable.last_change = encoded, now_stamp()
            if loaded:
                variable.loaded_changes = variable.changes
                self.esvs.runtime[esv_id] = (value, expression_type)

    def set_secret(
        self, esv_id: str, value: str, *, loaded: bool = True, use_in_placeholders: bool = True
    ) -> None:
        encoded = base64.b64encode(value.encode()).decode()
        with self.lock:
            secret = self.esvs.secrets.get(esv_id)
            if secret is None:
                secret = Secret(esv_id, "generic", use_in_placeholders, [], changed_by="test")
                self.esvs.secrets[esv_id] = secret
            if not secret.versions or secret.active.value_base64 != encoded:
                number = str(int(secret.active.version) + 1) if secret.versions else "1"
                secret.versions.append(Version(number, encoded))
                secret.last_change = now_stamp()
            if loaded or not use_in_placeholders:
                secret.loaded_version = secret.active.version
            if loaded and use_in_placeholders:
                self.esvs.runtime[esv_id] = (value, "secret")

    def secret_value(self, esv_id: str, version: str | None = None) -> str | None:
        with self.lock:
            secret = self.esvs.secrets.get(esv_id)
            chosen = (secret.version(version) if version else secret.active) if secret else None
            if chosen is None or chosen.value_base64 is None:
                return None
            return base64.b64decode(chosen.value_base64).decode()

    def count(self, method: str | None = None, path_prefix: str = "") -> int:
        with self.lock:
            return sum(
                1
                for m, path, _ in self.seen
                if (method is None or m == method) and path.startswith(path_prefix)
            )

    def release(self) -> None:
        """Finish every step held because its ``*_seconds`` is None."""
        with self.lock:
            held, self._held = self._held, []
            for action in held:
                action()

    def later(self, seconds: float | None, action: Callable[[], None]) -> None:
        """Run ``action`` (under the lock) after ``seconds``; 0 = now; None = at release()."""
        if seconds is None:
            self._held.append(action)
        elif seconds <= 0:
            action()
        else:

            def run() -> None:
                with self.lock:
                    action()

            timer = threading.Timer(seconds, run)
            timer.daemon = True
            self._timers.append(timer)
            timer.start()

    def go_down(self) -> None:
        """Stop listening: clients get connection refused until ``come_back()``."""
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def come_back(self) -> None:
        handler = self.server.RequestHandlerClass
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.server.daemon_threads = True
        self._quiet()
        if self._tls is not None:
            self.server.socket = self._tls.wrap_socket(self.server.socket, server_side=True)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def __enter__(self) -> AicStandin:
        super().__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        for timer in self._timers:
            timer.cancel()
        super().__exit__(*exc)
        self.mailer.close()

    # -- routing ---------------------------------------------------------------------------

    def fail_request(
        self,
        method: str,
        path_prefix: str,
        status: int,
        *,
        body: Any = None,
        count: int = 1,
        delay: float = 0.0,
    ) -> None:
        """The next ``count`` requests matching method and path prefix answer ``status``
        (after ``delay`` s; status 0 = only delay, then answer normally; -1 = drop the
        connection without an answer)."""
        with self.lock:
            self._path_faults.append(_PathFault(method, path_prefix, status, body, count, delay))

    def _path_fault(self, request: Request) -> _PathFault | None:
        with self.lock:
            for fault in self._path_faults:
                if fault.method == request.method and request.path.startswith(fault.prefix):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._path_faults.remove(fault)
                    return fault
        return None

    def route(self, request: Request) -> Response:
        fault = self._path_fault(request)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.status == -1:
            raise ConnectionAbortedError("dropped by the stand-in")  # no answer at all
        if fault is not None and fault.status:
            response = Response(fault.status, fault.body)
        else:
            response = self._route(request)
        if request.path.startswith("/environment"):
            response.headers.setdefault("Content-API-Version", "resource=1.0")
            if response.status == 401:
                response.headers.setdefault(
                    "WWW-Authenticate", 'Bearer realm="environment", error="invalid_token"'
                )
        elif request.path.startswith("/openidm"):
            response.headers.setdefault("Content-API-Version", "protocol=2.1,resource=1.0")
            response.headers.setdefault("Cache-Control", "no-store")
        elif request.path.startswith("/am"):
            response.headers.setdefault("Cache-Control", "no-store")
            response.headers.setdefault("Pragma", "no-cache")
        return response

    def _route(self, request: Request) -> Response:
        path = request.path
        if path == "/am/oauth2/access_token":
            if request.method != "POST":
                return _oauth_error(405, "invalid_request", "Use POST")
            return self._token_endpoint(request)
        if path.startswith("/openidm/"):
            return self._idm(request)
        if path.startswith("/environment/promotion"):
            refused = self._promotion_guard(request)
            if refused is not None:
                return refused
            return self.promotions.route(request)
        if path == "/environment/info" or path.startswith(SESSION_PATH):
            token = self._authorise(request, (IDM_SCOPE, ESV_SCOPE, PROMOTION_SCOPE))
            if isinstance(token, Response):
                return token
            return info(self, self.info) if path == "/environment/info" else self.dcc.route(request)
        if path.startswith("/environment/"):
            return self._environment(request)
        return Response(404, {"code": 404, "message": "Not Found"})

    # -- tokens ----------------------------------------------------------------------------

    def _token_endpoint(self, request: Request) -> Response:
        content_type = request.headers.get("Content-Type", "")
        if not content_type.startswith("application/x-www-form-urlencoded"):
            return _oauth_error(400, "invalid_request", "The request must be a form post")
        form = {k: v[0] for k, v in parse_qs(request.body.decode(errors="replace")).items()}
        grant = form.get("grant_type")
        if not grant:
            return _oauth_error(400, "invalid_request", "Missing parameter: grant_type")
        if grant == JWT_BEARER:
            return self._jwt_grant(form)
        if grant == "client_credentials":
            return self._client_grant(request, form)
        return _oauth_error(400, "unsupported_grant_type", f"Grant type is not supported: {grant}")

    def _jwt_grant(self, form: dict[str, str]) -> Response:
        import jwt

        if form.get("client_id") != "service-account":
            return _oauth_error(401, "invalid_client", "Client authentication failed")
        assertion, scope = form.get("assertion"), form.get("scope", "").split()
        if not assertion:
            return _oauth_error(400, "invalid_request", "Missing parameter: assertion")
        if not scope:
            return _oauth_error(400, "invalid_request", "Missing parameter: scope")
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            return _oauth_error(400, "invalid_grant", "The JWT is malformed")
        if header.get("alg") != "RS256":
            return _oauth_error(400, "invalid_grant", "The JWT must be signed with RS256")
        if claims.get("iss") != claims.get("sub"):
            return _oauth_error(400, "invalid_grant", "The JWT iss and sub must be equal")
        with self.lock:
            account = self._accounts.get(str(claims.get("sub")))
        if account is None:
            return _oauth_error(400, "invalid_grant", "Unknown service account")
        try:
            jwt.decode(
                assertion,
                account.key.private_key.public_key(),
                algorithms=["RS256"],
                options={
                    "verify_aud": False,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError:
            return _oauth_error(400, "invalid_grant", "The JWT signature is invalid")
        refused = self._claims_refused(claims, "openid" in scope)
        if refused is not None:
            return refused
        unsupported = [s for s in scope if s not in account.scopes]
        if unsupported:
            return _oauth_error(
                400,
                "invalid_scope",
                f"Unsupported scope for service account: {','.join(unsupported)}",
            )
        return self._grant(account.key.id, scope)

    def _claims_refused(self, claims: dict[str, Any], openid: bool) -> Response | None:
        now = time.time()
        audiences = claims.get("aud")
        audiences = audiences if isinstance(audiences, list) else [audiences]
        wanted = {_normal_url(self.token_url)}
        if self.public_url:
            wanted.add(_normal_url(f"{self.public_url}/am/oauth2/access_token"))
        if not any(isinstance(a, str) and _normal_url(a) in wanted for a in audiences):
            return _oauth_error(400, "invalid_grant", "The JWT audience is not this endpoint")
        exp = claims.get("exp")
        if not isinstance(exp, int | float):
            return _oauth_error(400, "invalid_grant", "The JWT has no exp claim")
        if exp < now:
            return _oauth_error(400, "invalid_grant", "The JWT has expired")
        if exp > now + MAX_ASSERTION_SECONDS + 1:
            return _oauth_error(
                400, "invalid_grant", "The JWT exp is more than 180 seconds in the future"
            )
        nbf = claims.get("nbf")
        if isinstance(nbf, int | float) and nbf > now + 1:
            return _oauth_error(400, "invalid_grant", "The JWT is not valid yet (nbf)")
        jti = claims.get("jti")
        if jti is None:
            if openid:
                return _oauth_error(
                    400, "invalid_grant", "jti is required when requesting the openid scope"
                )
            return None
        with self.lock:
            if str(jti) in self._spent_jti:
                return _oauth_error(400, "invalid_grant", "The JWT has been used before (jti)")
            self._spent_jti.add(str(jti))
        return None

    def _client_grant(self, request: Request, form: dict[str, str]) -> Response:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        basic = request.headers.get("Authorization", "")
        if basic.startswith("Basic "):
            try:
                pair = base64.b64decode(basic.removeprefix("Basic ")).decode()
                client_id, secret = (unquote(p) for p in pair.split(":", 1))
            except ValueError:
                return _oauth_error(401, "invalid_client", "Client authentication failed")
        with self.lock:
            known = self._clients.get(client_id or "")
        if known is None or secret is None or not secrets.compare_digest(known[0], secret):
            return _oauth_error(401, "invalid_client", "Client authentication failed")
        scope = form.get("scope", "").split() or sorted(known[1])
        unknown = [s for s in scope if s not in known[1]]
        if unknown:
            return _oauth_error(
                400, "invalid_scope", f"Unknown/invalid scope(s): [{', '.join(unknown)}]"
            )
        return self._grant(str(client_id), scope)

    def _grant(self, subject: str, scope: list[str]) -> Response:
        token = self.issue_token(scope, subject=subject)
        return Response(
            200,
            {
                "access_token": token,
                "scope": " ".join(scope),
                "token_type": "Bearer",
                "expires_in": self.token_lifetime,
            },
        )

    def _token(self, request: Request) -> _Token | None:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return None
        with self.lock:
            token = self._tokens.get(auth.removeprefix("Bearer ").strip())
        if token is None or token.expires <= time.time():
            return None
        return token

    def _authorise(self, request: Request, accepted: tuple[str, ...]) -> _Token | Response:
        """The token, or the 401/403 of the path's family."""
        idm = request.path.startswith("/openidm")
        token = self._token(request)
        if token is None:
            if idm:
                body = {"code": 401, "reason": "Unauthorized", "message": "Access Denied"}
            else:
                body = {"code": 401, "message": "unauthorized"}
            return Response(401, body)
        if not token.scopes & set(accepted):
            if idm:
                return Response(
                    403, {"code": 403, "reason": "Forbidden", "message": "Access denied"}
                )
            return Response(403, {"code": 403, "message": "forbidden"})
        return token

    # -- IDM -------------------------------------------------------------------------------

    def _idm(self, request: Request) -> Response:
        token = self._authorise(request, (IDM_SCOPE,))
        if isinstance(token, Response):
            return token
        version = _api_version(request.headers)
        if version is not None and version.get("resource") != "1.0":
            return Response(
                400,
                {"code": 400, "reason": "Bad Request", "message": "Unsupported resource version"},
            )
        if request.path.startswith("/openidm/config/"):
            config_id = request.path.removeprefix("/openidm/config/")
            if request.method == "GET":
                with self.lock:
                    held = (
                        self.dcc.get(config_id)
                        if staged_write(request)
                        else copy.deepcopy(self.configs.get(config_id))
                    )
                if held is None:
                    return Response(
                        404,
                        {
                            "code": 404,
                            "reason": "Not Found",
                            "message": f"No configuration exists for id {config_id}",
                        },
                    )
                return Response(200, {"_id": config_id, **held})
            if request.method == "PUT":
                return self._put_config(config_id, request)
        if request.path == "/openidm/config" and request.method == "GET":
            return self.templates.query(request)
        if request.path == "/openidm/external/email" and request.method == "POST":
            if request.query.get("_action") == "sendTemplate":
                return self._send_template(request)
            if request.query.get("_action") != "send":
                return Response(
                    400, {"code": 400, "reason": "Bad Request", "message": "Unknown action"}
                )
            return self._send(request)
        return Response(404, {"code": 404, "reason": "Not Found", "message": "Not Found"})

    def _put_config(self, config_id: str, request: Request) -> Response:
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return Response(
                400,
                {
                    "code": 400,
                    "reason": "Bad Request",
                    "message": "The request body must be a JSON object",
                },
            )
        body.pop("_id", None)
        with self.lock:
            if staged_write(request) and not self.mutable:
                staged = self.dcc.put(config_id, self._encrypt_literals(body))
                if staged is not None:
                    return staged
            if not self.mutable:
                return Response(403, {"code": 403, "reason": "Forbidden", "message": IMMUTABLE})
            if self.upper is not None and self.upper.promotions.holds_lower():
                return Response(403, {"code": 403, "reason": "Forbidden", "message": LOCKED})
            if config_id == EMAIL_ID:
                body = self._encrypt_literals(body)
            self.configs[config_id] = copy.deepcopy(body)
        return Response(200, {"_id": config_id, **body})

    def _encrypt_literals(self, config: dict[str, Any]) -> dict[str, Any]:
        auth = config.get("auth")
        if isinstance(auth, dict):
            for name in SECRET_FIELDS:
                value = auth.get(name)
                if isinstance(value, str) and value and "&{" not in value:
                    auth[name] = self.encrypt(value)
        return config

    def encrypt(self, value: str) -> dict[str, Any]:
        """A ``$crypto`` object only this tenant can decrypt."""
        return {
            "$crypto": {
                "type": "x-simple-encryption",
                "value": {
                    "cipher": "AES/CBC/PKCS5Padding",
                    "data": self._fernet.encrypt(value.encode()).decode(),
                    "keySize": 32,
                    "purpose": "idm.config.encryption",
                    "stableId": f"openidm-sym-default-{self.name}",
                },
            }
        }

    def _send(self, request: Request) -> Response:
        try:
            message = request.json()
        except ValueError:
            message = None
        if not isinstance(message, dict) or not message.get("to"):
            return Response(
                400,
                {"code": 400, "reason": "Bad Request", "message": "A message needs a recipient"},
            )
        with self.lock:
            config = copy.deepcopy(self.configs[EMAIL_ID])
            runtime = dict(self.esvs.runtime)
        try:
            resolved = self._resolve(config, runtime)
            self.mailer.send(resolved, message)
        except Exception as exc:  # any failure is IDM's 500, as the IDM stand-in answers it
            with self.lock:
                self.send_failures.append(f"{type(exc).__name__}: {exc}")
            return Response(
                500,
                {
                    "code": 500,
                    "reason": "Internal Server Error",
                    "message": f"send failed: {type(exc).__name__}",
                },
            )
        with self.lock:
            self.sent += 1
        return Response(200, {"status": "OK", "message": "Email sent"})

    def _send_template(self, request: Request) -> Response:
        with self.lock:
            config = copy.deepcopy(self.configs.get(EMAIL_ID))
            runtime = dict(self.esvs.runtime)

        def deliver(message: dict[str, Any]) -> None:
            self.mailer.send(self._resolve(config, runtime), message)

        return self.templates.send(request, config, deliver)

    def _resolve(self, value: Any, runtime: dict[str, tuple[str, str]]) -> Any:
        if isinstance(value, dict):
            if len(value) == 1 and next(iter(value)) in COERCIONS:
                ((kind, inner),) = value.items()
                return _coerce(kind, self._resolve(inner, runtime))
            if "$crypto" in value:
                data = value["$crypto"]["value"]["data"]
                try:
                    return self._fernet.decrypt(data.encode()).decode()
                except InvalidToken:
                    raise ValueError("a $crypto value this tenant cannot decrypt") from None
            return {k: self._resolve(v, runtime) for k, v in value.items()}
        if isinstance(value, list):
            return [self._resolve(v, runtime) for v in value]
        if isinstance(value, str):
            return self._substitute(value, runtime)
        return value

    def _substitute(self, text: str, runtime: dict[str, tuple[str, str]]) -> Any:
        def lookup(match: re.Match[str]) -> tuple[str, str]:
            name, default = match.group(1), match.group(2)
            if name.startswith("esv."):
                held = runtime.get(name.replace(".", "-"))
                if held is not None:
                    return held
            elif name in self.properties:
                return self.properties[name], "string"
            if default is not None:
                return default, "string"
            raise KeyError(f"unresolved placeholder &{{{name}}}")

        whole = PLACEHOLDER.fullmatch(text)
        if whole is not None:
            found, kind = lookup(whole)
            typed = {
                "int": "$int",
                "number": "$number",
                "bool": "$bool",
                "array": "$array",
                "object": "$object",
                "list": "$list",
            }.get(kind)
            return _coerce(typed, found) if typed else found
        return PLACEHOLDER.sub(lambda m: lookup(m)[0], text)

    # -- ESVs and restart ------------------------------------------------------------------

    def _environment(self, request: Request) -> Response:
        method, parts = request.method, request.path.strip("/").split("/")
        kind = parts[1] if len(parts) > 1 else ""
        if kind not in ("variables", "secrets", "startup"):
            return Response(404, {"code": 404, "message": "Not Found"})
        version = _api_version(request.headers)
        resource = (version or {}).get("resource", "1.0")
        if resource not in ("1.0", "2.0"):
            return Response(400, {"code": 400, "message": "Unsupported API version"})
        if kind == "startup" and method == "POST":
            scopes: tuple[str, ...] = (ESV_SCOPE, "fr:idc:esv:restart")
        elif method == "GET":
            scopes = (ESV_SCOPE, "fr:idc:esv:read")
        else:
            scopes = (ESV_SCOPE, "fr:idc:esv:update")
        token = self._authorise(request, scopes)
        if isinstance(token, Response):
            return token
        if kind == "startup":
            return self._startup(request)
        if len(parts) == 2:
            if method != "GET":
                return Response(405, {"code": 405, "message": "Method not allowed"})
            return self._list(kind, request, paged=resource == "2.0")
        body: Any
        try:
            body = request.json()
        except ValueError:
            body = None
        with self.lock:
            status, answer = self._esv_call(kind, parts[2:], request, body, token.subject)
        return Response(status, answer)

    def _esv_call(
        self, kind: str, rest: list[str], request: Request, body: Any, by: str
    ) -> tuple[int, Any]:
        store, method, action = self.esvs, request.method, request.query.get("_action")
        esv_id = rest[0]
        if kind == "variables" and len(rest) == 1:
            if method == "GET":
                return store.get_variable(esv_id)
            if method == "PUT":
                return store.put_variable(esv_id, body, by=by)
            if method == "DELETE":
                return store.delete_variable(esv_id)
            if method == "POST" and action == "setDescription":
                return store.describe_variable(esv_id, body)
        if kind == "secrets" and len(rest) == 1:
            if method == "GET":
                return store.get_secret(esv_id)
            if method == "PUT":
                return store.put_secret(esv_id, body, by=by)
            if method == "DELETE":
                return store.delete_secret(esv_id)
            if method == "POST" and action == "setDescription":
                return store.describe_secret(esv_id, body)
        if kind == "secrets" and len(rest) == 2 and rest[1] == "versions":
            if method == "GET":
                return store.list_versions(esv_id)
            if method == "POST" and action == "create":
                return store.create_version(esv_id, body, by=by)
        if kind == "secrets" and len(rest) == 3 and rest[1] == "versions":
            if method == "GET":
                return store.get_version(esv_id, rest[2])
            if method == "DELETE":
                return store.destroy_version(esv_id, rest[2])
            if method == "POST" and action == "changestatus":
                return store.change_status(esv_id, rest[2], body)
        return error(400, f"Unsupported request: {method} {request.path} _action={action}")

    def _list(self, kind: str, request: Request, *, paged: bool) -> Response:
        pending = request.query.get("_onlyPending") == "true"
        with self.lock:
            if kind == "variables":
                items = self.esvs.list_variables(with_values=not paged, pending_only=pending)
            else:
                items = self.esvs.list_secrets(pending_only=pending)
        cookie: str | None = None
        if paged:
            try:
                size = int(request.query.get("_pageSize", "100"))
                offset = int(
                    request.query.get("_pagedResultsCookie")
                    or request.query.get("_pagedResultsOffset", "0")
                )
            except ValueError:
                return Response(400, {"code": 400, "message": "Invalid paging parameters"})
            if not 1 <= size <= 100 or offset < 0:
                return Response(400, {"code": 400, "message": "_pageSize must be 1 to 100"})
            cookie = str(offset + size) if offset + size < len(items) else None
            items = items[offset : offset + size]
        return Response(
            200,
            {
                "pagedResultsCookie": cookie,
                "remainingPagedResults": -1,
                "result": items,
                "resultCount": len(items),
                "totalPagedResults": -1,
                "totalPagedResultsPolicy": "NONE",
            },
        )

    def _startup(self, request: Request) -> Response:
        if request.method == "GET":
            with self.lock:
                status = "restarting" if self.restarting else "ready"
            return Response(200, {"restartStatus": status})
        if request.method != "POST" or request.query.get("_action") != "restart":
            return Response(400, {"code": 400, "message": "Unsupported action"})
        with self.lock:
            if self.restarting:
                return Response(409, {"code": 409, "message": "A restart is already in progress"})
            self.restarting = True
            self.restarts += 1
            taken = self.esvs.snapshot()

            def finish() -> None:
                self.esvs.load(taken)
                self.restarting = False

            self.later(self.restart_seconds, finish)
        return Response(200, {"restartStatus": "restarting"})

    # -- promotions ------------------------------------------------------------------------

    def _promotion_guard(self, request: Request) -> Response | None:
        reads = ("fr:idc:promotion:read",) if request.method == "GET" else ()
        token = self._authorise(request, (PROMOTION_SCOPE, *reads))
        if isinstance(token, Response):
            return token
        if (_api_version(request.headers) or {}).get("resource") != "1.0":
            return Response(
                400,
                {
                    "code": 400,
                    "message": "Accept-API-Version with resource=1.0 is required",
                    "status": "Bad Request",
                },
            )
        return None


def _coerce(kind: str, value: Any) -> Any:
    import json

    if not isinstance(value, str):
        return value
    if kind == "$int":
        return int(value)
    if kind == "$number":
        number = float(value)
        return int(number) if number.is_integer() and "." not in value else number
    if kind == "$bool":
        return value.strip().lower() == "true"
    if kind == "$list":
        return [item.strip() for item in value.split(",")] if value else []
    if kind in ("$array", "$object"):
        return json.loads(value)
    return value


class AicChain:
    """dev <- staging <- prod stand-ins, started, one service account registered on each.

    ``options`` go to every ``AicStandin``. ``chain.envs`` maps name -> stand-in.
    """

    def __init__(self, names: tuple[str, ...] = ("dev", "staging", "prod"), **options: Any):
        self.key = new_service_account()
        self.envs: dict[str, AicStandin] = {}
        lower: AicStandin | None = None
        for name in names:
            lower = AicStandin(name, lower=lower, **options)
            lower.add_service_account(key=self.key)
            self.envs[name] = lower

    @property
    def dev(self) -> AicStandin:
        return self.envs["dev"]

    @property
    def staging(self) -> AicStandin:
        return self.envs["staging"]

    @property
    def prod(self) -> AicStandin:
        return self.envs["prod"]

    def __enter__(self) -> AicChain:
        for standin in self.envs.values():
            standin.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        for standin in self.envs.values():
            standin.__exit__(*exc)
