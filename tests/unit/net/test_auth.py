"""Token providers against the AIC stand-in's token endpoint (service accounts, oauth2)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from promoter.errors import InputError, TargetError
from promoter.net.auth import forget_tokens
from promoter.net.tokens import JWT_BEARER, TokenProvider, sign_assertion
from promoter.project.auth import AIC_SCOPES, OAuth2Auth, ServiceAccountAuth
from promoter.project.types import AicTarget
from promoter.targets.aic import AicClient
from tests.conftest import cli, write
from tests.support.aic_standin import ESV_SCOPE, IDM_SCOPE, AicStandin, new_service_account

TOKEN_PATH = "/am/oauth2/access_token"


@pytest.fixture
def tenant() -> Iterator[AicStandin]:
    forget_tokens()
    with AicStandin("dev") as standin:
        yield standin
    forget_tokens()


def _jwk(standin: AicStandin, **kwargs: object) -> tuple[str, str, dict[str, str]]:
    key = standin.add_service_account(**kwargs)  # type: ignore[arg-type]
    return (
        key.id,
        json.dumps(key.private_jwk),
        {"SA_ID": key.id, "SA_KEY": json.dumps(key.private_jwk)},
    )


def _client(standin: AicStandin, environ: dict[str, str]) -> AicClient:
    settings = ServiceAccountAuth(
        token_endpoint=standin.token_url, id_env="SA_ID", key_env="SA_KEY"
    )
    target = AicTarget(standin.url, settings, None, 5.0, 1, 0.01, 5.0)
    return AicClient(target, label="dev's tenant", environ=environ)


def test_assertion_claims_signature_and_expiry(tenant: AicStandin) -> None:
    key = tenant.add_service_account()
    token = sign_assertion(key.id, json.dumps(key.private_jwk), tenant.token_url)
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = jwt.decode(
        token, key.private_key.public_key(), algorithms=["RS256"], audience=tenant.token_url
    )
    assert claims["iss"] == claims["sub"] == key.id
    assert 0 < claims["exp"] - time.time() <= 180
    again = sign_assertion(key.id, key.private_pem.decode(), tenant.token_url)
    assert jwt.decode(again, options={"verify_signature": False})["jti"] != claims["jti"]


def test_a_replayed_assertion_is_refused_by_the_standin(tenant: AicStandin) -> None:
    key = tenant.add_service_account()
    form = {
        "grant_type": JWT_BEARER,
        "client_id": "service-account",
        "scope": " ".join(AIC_SCOPES),
        "assertion": sign_assertion(key.id, json.dumps(key.private_jwk), tenant.token_url),
    }
    assert httpx.post(tenant.token_url, data=form).status_code == 200
    replay = httpx.post(tenant.token_url, data=form)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"


def test_token_is_reused_then_refreshed_near_expiry(tenant: AicStandin) -> None:
    _, _, environ = _jwk(tenant)
    now = [1000.0]
    tenant.token_lifetime = 100
    with _client(tenant, environ) as client:
        assert isinstance(client.auth, TokenProvider)
        client.auth.clock = lambda: now[0]
        client.get_config()
        client.get_config()
        assert tenant.count("POST", TOKEN_PATH) == 1
        now[0] += 79  # a fifth of the lifetime before expiry: still reused
        client.get_config()
        assert tenant.count("POST", TOKEN_PATH) == 1
        now[0] += 2  # within the last fifth: fetched again before the tenant refuses it
        client.get_config()
        assert tenant.count("POST", TOKEN_PATH) == 2


def test_token_is_refetched_once_after_a_401(tenant: AicStandin) -> None:
    _, _, environ = _jwk(tenant)
    with _client(tenant, environ) as client:
        client.get_config()
        tenant.expire_tokens()
        assert client.get_config() is not None
    assert tenant.count("POST", TOKEN_PATH) == 2
    assert tenant.count("GET", "/openidm/config/external.email") == 3  # one refused, retried


def test_a_refused_scope_is_dropped_and_asked_again(tenant: AicStandin) -> None:
    _, _, environ = _jwk(tenant, scopes=(IDM_SCOPE, ESV_SCOPE))
    with _client(tenant, environ) as client:
        assert client.get_config() is not None
        assert isinstance(client.auth, TokenProvider)
        assert client.auth.dropped == ["fr:idc:promotion:*"]
    assert tenant.count("POST", TOKEN_PATH) == 2


def test_a_refused_service_account_names_the_step_and_the_reason(tenant: AicStandin) -> None:
    key = new_service_account()  # a key the tenant does not know
    key_text = json.dumps(key.private_jwk)
    with _client(tenant, {"SA_ID": key.id, "SA_KEY": key_text}) as client:
        with pytest.raises(TargetError) as caught:
            client.get_config()
    message = str(caught.value)
    assert message.startswith(
        f"get a token: {tenant.token_url} refused the service account (400 invalid_grant)"
    )
    assert caught.value.hint == "check the service account id in $SA_ID and its key in $SA_KEY"
    assert key_text not in message and key.private_jwk["d"] not in message


def test_a_key_that_is_not_a_private_rsa_key_is_an_input_error(tenant: AicStandin) -> None:
    canary = "not-a-key-CANARY-7f3a"
    with _client(tenant, {"SA_ID": "x", "SA_KEY": canary}) as client:
        with pytest.raises(InputError) as caught:
            client.get_config()
    assert str(caught.value) == (
        "the service-account key is not a private RSA key (JWK or PEM) "
        "(hint: use the key.jwk downloaded when the service account was created)"
    )
    assert tenant.count("POST", TOKEN_PATH) == 0


def test_oauth2_client_credentials_for_an_idm_target(tmp_path: Path, tenant: AicStandin) -> None:
    """An idm target behind AM: the stand-in plays AM's token endpoint and IDM."""
    secret = "oauth2-client-secret-CANARY-51c2"
    tenant.add_oauth2_client("promoter-client", secret, scopes=(IDM_SCOPE,))
    repo = tmp_path / "repo"
    write(
        repo / "promoter.yaml",
        "environments:\n  dev:\n    target:\n"
        f"      idm: {tenant.url}/openidm\n"
        "      oauth2:\n"
        f"        tokenEndpoint: {tenant.token_url}\n"
        "        clientIdEnv: CID\n        clientSecretEnv: CSECRET\n",
    )
    write(
        repo / "environments" / "dev.yaml",
        "host: smtp.example.com\nport: 587\nfrom: a@example.com\nstarttls: {enable: true}\n"
        "auth: {enable: false}\n",
    )
    environ = {"CID": "promoter-client", "CSECRET": secret}
    run = cli("deliver", "dev", cwd=repo, env=environ)
    assert run.code == 0, run.err
    assert tenant.config()["host"] == "smtp.example.com"  # type: ignore[index]
    bad = cli("deliver", "dev", cwd=repo, env={**environ, "CSECRET": secret + "-wrong"})
    assert bad.code == 3
    assert bad.err.startswith(f"error: get a token: {tenant.token_url} refused the client (401")
    for text in (run.out, run.err, bad.out, bad.err):
        assert secret not in text


def test_oauth2_settings_default_scope() -> None:
    assert OAuth2Auth("https://am.example.com/token", "A", "B").scope == ("fr:idm:*",)
