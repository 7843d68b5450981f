"""The AIC tenant stand-in follows shared/aic-api.md (one test per rule group)."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.aic_standin import (
    ALL_SCOPES,
    DEFAULT_EMAIL,
    IMMUTABLE,
    JWT_BEARER,
    AicChain,
    AicStandin,
    ServiceAccountKey,
    new_service_account,
)
from tests.support.certs import Tls
from tests.support.smtp_standin import SmtpStandin

SCOPE = "fr:idm:* fr:idc:esv:* fr:idc:promotion:*"
HTTP = httpx.Client(timeout=10)  # one keep-alive client: a new client per call costs ~0.1 s


@pytest.fixture(autouse=True, scope="module")
def _close_client() -> Iterator[None]:
    yield
    HTTP.close()


@pytest.fixture
def chain() -> Iterator[AicChain]:
    with AicChain(restart_seconds=None, lock_seconds=None, promotion_seconds=None) as standins:
        yield standins


def grant(env: AicStandin, assertion: str, scope: str = SCOPE, **form: str) -> httpx.Response:
    data = {
        "grant_type": JWT_BEARER,
        "client_id": "service-account",
        "scope": scope,
        "assertion": assertion,
        **form,
    }
    return HTTP.post(env.token_url, data={k: v for k, v in data.items() if v})


def auth(env: AicStandin, key: ServiceAccountKey, scope: str = SCOPE) -> dict[str, str]:
    answer = grant(env, key.assertion(env.token_url), scope)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# -- token endpoint ------------------------------------------------------------------------


def test_service_account_grant_gives_a_bearer_token_that_works(chain: AicChain) -> None:
    dev = chain.dev
    dev.token_lifetime = 2
    answer = grant(dev, chain.key.assertion(dev.token_url), "fr:idm:* fr:idc:esv:*")
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "fr:idm:* fr:idc:esv:*"
    assert body["expires_in"] == 2
    assert answer.headers["Cache-Control"] == "no-store"
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert HTTP.get(f"{dev.url}/openidm/config/external.email", headers=headers).status_code == 200
    # a token of one tenant environment is no token for another
    assert HTTP.get(f"{chain.staging.url}/environment/secrets", headers=headers).status_code == 401


def _other_key_assertion(audience: str, key: ServiceAccountKey) -> str:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {"iss": key.id, "sub": key.id, "aud": audience, "exp": now + 60, "jti": "x1"}
    return jwt.encode(claims, other, algorithm="RS256")


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("client_id", 401, "invalid_client"),
        ("json", 400, "invalid_request"),
        ("no_assertion", 400, "invalid_request"),
        ("no_scope", 400, "invalid_request"),
        ("grant_type", 400, "unsupported_grant_type"),
        ("malformed", 400, "invalid_grant"),
        ("hs256", 400, "invalid_grant"),
        ("unknown_account", 400, "invalid_grant"),
        ("iss_not_sub", 400, "invalid_grant"),
        ("signature", 400, "invalid_grant"),
        ("audience", 400, "invalid_grant"),
        ("expired", 400, "invalid_grant"),
        ("exp_too_far", 400, "invalid_grant"),
        ("nbf_future", 400, "invalid_grant"),
        ("openid_without_jti", 400, "invalid_grant"),
    ],
)
def test_token_refusals_have_ams_shape(chain: AicChain, case: str, status: int, code: str) -> None:
    dev, key = chain.dev, chain.key
    url, now = dev.token_url, int(time.time())
    good = key.assertion(url)
    if case == "json":
        answer = HTTP.post(url, json={"grant_type": JWT_BEARER, "assertion": good})
    elif case == "client_id":
        answer = grant(dev, good, client_id="someone")
    elif case == "no_assertion":
        answer = grant(dev, "")
    elif case == "no_scope":
        answer = grant(dev, good, scope="")
    elif case == "grant_type":
        answer = grant(dev, good, grant_type="password")
    elif case == "openid_without_jti":
        answer = grant(dev, key.assertion(url, jti=None), scope="openid fr:idm:*")
    else:
        assertion = {
            "malformed": "not.a.jwt",
            "hs256": jwt.encode({"iss": key.id, "sub": key.id, "aud": url}, "k" * 32, "HS256"),
            "unknown_account": new_service_account().assertion(url),
            "iss_not_sub": key.assertion(url, sub="someone-else"),
            "signature": _other_key_assertion(url, key),
            "audience": key.assertion("https://elsewhere.example.com/am/oauth2/access_token"),
            "expired": key.assertion(url, exp=now - 5),
            "exp_too_far": key.assertion(url, exp=now + 600),
            "nbf_future": key.assertion(url, nbf=now + 60),
        }[case]
        answer = grant(dev, assertion)
    assert answer.status_code == status
    assert answer.json()["error"] == code
    assert set(answer.json()) == {"error", "error_description"}


def test_jti_replay_is_refused_and_absence_is_accepted(chain: AicChain) -> None:
    dev, key = chain.dev, chain.key
    assertion = key.assertion(dev.token_url)
    assert grant(dev, assertion).status_code == 200
    replay = grant(dev, assertion)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert grant(dev, key.assertion(dev.token_url, jti=None)).status_code == 200


def test_unsupported_scope_is_refused_with_the_exact_text_frodo_parses() -> None:
    with AicStandin("dev") as dev:
        key = dev.add_service_account(["fr:idm:*", "fr:idc:esv:*"])
        answer = grant(
            dev, key.assertion(dev.token_url), "fr:idm:* fr:idc:promotion:* fr:idc:sso-cookie:*"
        )
        assert answer.status_code == 400
        assert answer.json() == {
            "error": "invalid_scope",
            "error_description": (
                "Unsupported scope for service account: fr:idc:promotion:*,fr:idc:sso-cookie:*"
            ),
        }
        # dropping the refused scopes and signing a new JWT succeeds, as frodo retries
        assert grant(dev, key.assertion(dev.token_url), "fr:idm:*").status_code == 200


def test_audience_may_name_the_public_url_with_or_without_443() -> None:
    with AicStandin("dev", public_url="https://openam-x.example.com") as dev:
        key = dev.add_service_account()
        for audience in (
            "https://openam-x.example.com:443/am/oauth2/access_token",
            "https://openam-x.example.com/am/oauth2/access_token",
            dev.token_url,
        ):
            assert grant(dev, key.assertion(audience)).status_code == 200
        wrong = grant(
            dev, key.assertion("https://openam-x.example.com:8443/am/oauth2/access_token")
        )
        assert wrong.json()["error"] == "invalid_grant"


def test_client_credentials_grant_for_self_managed_am() -> None:
    with AicStandin("dev") as dev:
        dev.add_oauth2_client("promoter", "s3cret", ["fr:idm:*"])
        form = {"grant_type": "client_credentials", "scope": "fr:idm:*"}
        by_basic = HTTP.post(dev.token_url, data=form, auth=("promoter", "s3cret"))
        assert by_basic.status_code == 200
        assert by_basic.json()["scope"] == "fr:idm:*"
        by_form = HTTP.post(
            dev.token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": "promoter",
                "client_secret": "s3cret",
            },
        )
        assert by_form.status_code == 200
        bad = HTTP.post(dev.token_url, data=form, auth=("promoter", "wrong"))
        assert (bad.status_code, bad.json()["error"]) == (401, "invalid_client")
        scope = HTTP.post(
            dev.token_url, data={**form, "scope": "fr:idc:esv:*"}, auth=("promoter", "s3cret")
        )
        assert (scope.status_code, scope.json()["error"]) == (400, "invalid_scope")


def test_expired_unknown_and_underscoped_tokens(chain: AicChain) -> None:
    dev = chain.dev
    headers = auth(dev, chain.key, "fr:idm:*")
    config, secrets = f"{dev.url}/openidm/config/external.email", f"{dev.url}/environment/secrets"
    forbidden = HTTP.get(secrets, headers=headers)
    assert (forbidden.status_code, forbidden.json()) == (403, {"code": 403, "message": "forbidden"})
    promotion = HTTP.get(
        f"{chain.staging.url}/environment/promotion/lock/state",
        headers={
            **auth(chain.staging, chain.key, "fr:idm:*"),
            "Accept-API-Version": "resource=1.0",
        },
    )
    assert promotion.status_code == 403
    idm_forbidden = HTTP.get(config, headers=auth(dev, chain.key, "fr:idc:esv:*"))
    assert idm_forbidden.json() == {"code": 403, "reason": "Forbidden", "message": "Access denied"}
    dev.expire_tokens()
    expired = HTTP.get(config, headers=headers)
    assert expired.status_code == 401
    assert expired.json() == {"code": 401, "reason": "Unauthorized", "message": "Access Denied"}
    unknown = HTTP.get(secrets, headers={"Authorization": "Bearer nope"})
    assert (unknown.status_code, unknown.json()) == (401, {"code": 401, "message": "unauthorized"})
    assert unknown.headers["WWW-Authenticate"].startswith("Bearer")
    assert unknown.headers["Content-API-Version"] == "resource=1.0"


# -- IDM config ----------------------------------------------------------------------------


def test_new_tenant_holds_aics_default_email_provider(chain: AicChain) -> None:
    answer = HTTP.get(
        f"{chain.prod.url}/openidm/config/external.email", headers=auth(chain.prod, chain.key)
    )
    assert answer.status_code == 200
    assert answer.json() == {"_id": "external.email", **DEFAULT_EMAIL}
    assert answer.headers["Content-API-Version"] == "protocol=2.1,resource=1.0"
    assert answer.headers["Cache-Control"] == "no-store"


def test_dev_stores_config_encrypting_literal_secrets(chain: AicChain) -> None:
    dev = chain.dev
    headers = {**auth(dev, chain.key), "Accept-API-Version": "resource=1.0"}
    url = f"{dev.url}/openidm/config/external.email"
    config = {
        "_id": "external.email",
        "host": "smtp.example.com",
        "port": 587,
        "auth": {"enable": True, "username": "u", "password": "literal-pw-canary"},
        "from": "&{esv.email.from}",
    }
    put = HTTP.put(url, json=config, headers=headers)
    assert put.status_code == 200
    got = HTTP.get(url, headers=headers).json()
    assert got["_id"] == "external.email"
    assert got["from"] == "&{esv.email.from}"
    assert got["auth"]["password"]["$crypto"]["type"] == "x-simple-encryption"
    assert "literal-pw-canary" not in HTTP.get(url, headers=headers).text
    assert put.json() == got
    wrong_version = HTTP.get(url, headers={**headers, "Accept-API-Version": "resource=2.0"})
    assert wrong_version.status_code == 400
    # another config item: absent, then held
    template = f"{dev.url}/openidm/config/emailTemplate/welcome"
    assert HTTP.get(template, headers=headers).status_code == 404
    assert HTTP.put(template, json={"subject": {"en": "Hi"}}, headers=headers).status_code == 200
    assert dev.config("emailTemplate/welcome") == {"subject": {"en": "Hi"}}


def test_staging_and_prod_refuse_config_writes(chain: AicChain) -> None:
    for env in (chain.staging, chain.prod):
        answer = HTTP.put(
            f"{env.url}/openidm/config/external.email",
            json={"host": "x"},
            headers={**auth(env, chain.key), "Accept-API-Version": "resource=1.0"},
        )
        assert answer.status_code == 403
        assert answer.json() == {"code": 403, "reason": "Forbidden", "message": IMMUTABLE}
        assert env.config() == DEFAULT_EMAIL


# -- ESV variables -------------------------------------------------------------------------


def test_variable_rules(chain: AicChain) -> None:
    dev = chain.dev
    headers = auth(dev, chain.key)
    url = f"{dev.url}/environment/variables"

    def put(esv_id: str, body: dict[str, Any]) -> httpx.Response:
        return HTTP.put(f"{url}/{esv_id}", json=body, headers=headers)

    untyped = put("esv-email-host", {"valueBase64": b64("smtp.example.com")})
    assert untyped.status_code == 400
    assert untyped.json() == {
        "code": 400,
        "message": "Variable type required; expressionType cannot be empty when creating new "
        "variables",
    }
    for bad_id in ("email-host", "esv-Email", "esv-" + "a" * 125, "esv-"):
        assert put(bad_id, {"valueBase64": b64("x"), "expressionType": "string"}).status_code == 400
    assert (
        put("esv-x", {"valueBase64": "not base64!", "expressionType": "string"}).status_code == 400
    )
    assert put("esv-x", {"valueBase64": b64("x"), "expressionType": "text"}).status_code == 400
    assert (
        put("esv-x", {"valueBase64": b64("x" * 65536), "expressionType": "string"}).status_code
        == 400
    )
    assert put("esv-port", {"valueBase64": b64("five"), "expressionType": "int"}).status_code == 400

    created = put(
        "esv-email-port",
        {"valueBase64": b64("587"), "expressionType": "int", "description": "port"},
    )
    assert created.status_code == 200
    assert created.json()["loaded"] is False
    assert set(created.json()) == {
        "_id",
        "description",
        "expressionType",
        "lastChangeDate",
        "lastChangedBy",
        "loaded",
        "valueBase64",
    }
    assert created.json()["lastChangeDate"].endswith("Z")
    assert (
        put("esv-email-port", {"valueBase64": b64("25"), "expressionType": "string"}).status_code
        == 400
    )
    assert put("esv-email-port", {"valueBase64": b64("25")}).status_code == 200

    missing = HTTP.get(f"{url}/esv-none", headers=headers)
    assert (missing.status_code, missing.json()) == (
        404,
        {"code": 404, "message": "The variable does not exist"},
    )
    described = HTTP.post(
        f"{url}/esv-email-port",
        params={"_action": "setDescription"},
        json={"description": "the port"},
        headers=headers,
    )
    assert (described.status_code, described.content) == (200, b"")
    listed = HTTP.get(url, headers=headers).json()
    assert listed["resultCount"] == 1
    assert listed["result"][0]["description"] == "the port"
    assert listed["result"][0]["valueBase64"] == b64("25")
    assert {k for k in listed if k != "result"} == {
        "pagedResultsCookie",
        "remainingPagedResults",
        "resultCount",
        "totalPagedResults",
        "totalPagedResultsPolicy",
    }
    deleted = HTTP.delete(f"{url}/esv-email-port", headers=headers)
    assert (deleted.status_code, deleted.json()["_id"]) == (200, "esv-email-port")
    assert HTTP.get(f"{url}/esv-email-port", headers=headers).status_code == 404


def test_variable_listing_v2_pages_without_values(chain: AicChain) -> None:
    dev = chain.dev
    for n in range(5):
        dev.set_variable(f"esv-v{n}", str(n), loaded=n < 3)
    headers = {**auth(dev, chain.key), "Accept-API-Version": "resource=2.0"}
    url = f"{dev.url}/environment/variables"
    first = HTTP.get(url, params={"_pageSize": 2}, headers=headers).json()
    assert [v["_id"] for v in first["result"]] == ["esv-v0", "esv-v1"]
    assert "valueBase64" not in first["result"][0]
    second = HTTP.get(
        url,
        params={"_pageSize": 2, "_pagedResultsCookie": first["pagedResultsCookie"]},
        headers=headers,
    ).json()
    assert [v["_id"] for v in second["result"]] == ["esv-v2", "esv-v3"]
    pending = HTTP.get(url, params={"_onlyPending": "true"}, headers=headers).json()
    assert [v["_id"] for v in pending["result"]] == ["esv-v3", "esv-v4"]
    assert HTTP.get(url, params={"_pageSize": 101}, headers=headers).status_code == 400


# -- ESV secrets ---------------------------------------------------------------------------


def test_secret_rules_versions_and_status(chain: AicChain) -> None:
    dev = chain.dev
    headers = auth(dev, chain.key)
    url = f"{dev.url}/environment/secrets/esv-email-password"
    created = HTTP.put(
        url,
        json={"valueBase64": b64("pw-1"), "encoding": "generic", "useInPlaceholders": True},
        headers=headers,
    )
    assert created.status_code == 200
    body = created.json()
    assert (body["activeVersion"], body["loaded"], body["loadedVersion"]) == ("1", False, "")
    assert "valueBase64" not in body
    again = HTTP.put(url, json={"valueBase64": b64("pw-1")}, headers=headers)
    assert again.json() == {
        "code": 400,
        "message": "Failed to create secret, the secret already exists",
    }

    new = HTTP.post(
        f"{url}/versions",
        params={"_action": "create"},
        json={"valueBase64": b64("pw-2")},
        headers=headers,
    )
    assert new.status_code == 200
    assert (new.json()["version"], new.json()["status"], new.json()["loaded"]) == (
        "2",
        "ENABLED",
        False,
    )
    same = HTTP.post(
        f"{url}/versions",
        params={"_action": "create"},
        json={"valueBase64": b64("pw-2")},
        headers=headers,
    )
    assert same.json()["version"] == "2"  # deduplicated
    versions = HTTP.get(f"{url}/versions", headers=headers).json()
    assert [v["version"] for v in versions] == ["2", "1"]
    assert HTTP.get(url, headers=headers).json()["activeVersion"] == "2"

    def status(version: str, wanted: str) -> httpx.Response:
        return HTTP.post(
            f"{url}/versions/{version}",
            params={"_action": "changestatus"},
            json={"status": wanted},
            headers=headers,
        )

    assert status("2", "DISABLED").status_code == 400
    assert status("1", "DISABLED").json()["status"] == "DISABLED"
    assert status("1", "ENABLED").json()["status"] == "ENABLED"
    assert HTTP.delete(f"{url}/versions/2", headers=headers).status_code == 400
    destroyed = HTTP.delete(f"{url}/versions/1", headers=headers)
    assert (destroyed.status_code, destroyed.json()["status"]) == (200, "DESTROYED")
    assert status("1", "ENABLED").status_code == 400
    assert HTTP.get(f"{url}/versions/9", headers=headers).json() == {
        "code": 404,
        "message": "Failed to get secret version",
    }
    assert HTTP.get(f"{url}/versions/2", headers=headers).json()["version"] == "2"

    none = f"{dev.url}/environment/secrets/esv-none"
    assert HTTP.get(none, headers=headers).json() == {
        "code": 404,
        "message": "The secret does not exist or does not have a version",
    }
    assert HTTP.post(
        f"{none}/versions",
        params={"_action": "create"},
        json={"valueBase64": b64("x")},
        headers=headers,
    ).json() == {"code": 404, "message": "Failed to create secret version"}
    described = HTTP.post(
        url, params={"_action": "setDescription"}, json={"description": "smtp"}, headers=headers
    )
    assert (described.status_code, described.content) == (200, b"")
    listed = HTTP.get(f"{dev.url}/environment/secrets", headers=headers).json()["result"]
    assert [(s["_id"], s["description"]) for s in listed] == [("esv-email-password", "smtp")]
    assert HTTP.delete(url, headers=headers).json()["_id"] == "esv-email-password"
    assert HTTP.get(url, headers=headers).status_code == 404


def test_secret_not_used_in_placeholders_is_loaded_at_once(chain: AicChain) -> None:
    dev = chain.dev
    headers = auth(dev, chain.key)
    created = HTTP.put(
        f"{dev.url}/environment/secrets/esv-hmac",
        json={"valueBase64": b64("k"), "encoding": "base64hmac", "useInPlaceholders": False},
        headers=headers,
    ).json()
    assert (created["loaded"], created["loadedVersion"]) == (True, "1")


# -- restart -------------------------------------------------------------------------------


def test_restart_loads_esvs_as_they_were_when_it_began(chain: AicChain) -> None:
    dev = chain.dev
    headers = auth(dev, chain.key)
    env = f"{dev.url}/environment"
    HTTP.put(
        f"{env}/variables/esv-a",
        json={"valueBase64": b64("1"), "expressionType": "string"},
        headers=headers,
    )
    HTTP.put(f"{env}/secrets/esv-s", json={"valueBase64": b64("s1")}, headers=headers)
    assert HTTP.get(f"{env}/startup", headers=headers).json() == {"restartStatus": "ready"}
    started = HTTP.post(f"{env}/startup", params={"_action": "restart"}, json=[], headers=headers)
    assert (started.status_code, started.json()) == (200, {"restartStatus": "restarting"})
    again = HTTP.post(f"{env}/startup", params={"_action": "restart"}, headers=headers)
    assert again.status_code == 409
    assert HTTP.get(f"{env}/startup", headers=headers).json() == {"restartStatus": "restarting"}
    # changed while restarting: not loaded by this restart
    HTTP.put(f"{env}/variables/esv-a", json={"valueBase64": b64("2")}, headers=headers)
    dev.release()
    assert HTTP.get(f"{env}/startup", headers=headers).json() == {"restartStatus": "ready"}
    assert HTTP.get(f"{env}/variables/esv-a", headers=headers).json()["loaded"] is False
    secret = HTTP.get(f"{env}/secrets/esv-s", headers=headers).json()
    assert (secret["loaded"], secret["loadedVersion"], secret["activeVersion"]) == (True, "1", "1")
    assert dev.esvs.runtime["esv-a"] == ("1", "string")
    HTTP.post(f"{env}/startup", params={"_action": "restart"}, headers=headers)
    dev.release()
    assert HTTP.get(f"{env}/variables/esv-a", headers=headers).json()["loaded"] is True
    assert dev.esvs.runtime["esv-a"] == ("2", "string")
    same = HTTP.put(f"{env}/variables/esv-a", json={"valueBase64": b64("2")}, headers=headers)
    assert same.json()["loaded"] is False  # any PUT waits for a restart
    assert dev.restarts == 2
    only_restart = dev.add_service_account(["fr:idc:esv:restart"])
    assert (
        HTTP.get(
            f"{env}/startup", headers=auth(dev, only_restart, "fr:idc:esv:restart")
        ).status_code
        == 403
    )


# -- sending through the tenant ------------------------------------------------------------


def test_send_uses_loaded_esvs_so_a_rotated_secret_works_after_restart(chain: AicChain) -> None:
    dev = chain.dev
    headers = {**auth(dev, chain.key), "Accept-API-Version": "resource=1.0"}
    with SmtpStandin(users={"mailer": "old-pw"}, starttls=False) as smtp:
        config = {
            "host": "&{esv.email.host}",
            "port": {"$int": "&{esv.email.port|25}"},
            "auth": {
                "enable": True,
                "username": "&{esv.email.user|mailer}",
                "password": "&{esv.email.password}",
            },
            "ssl": {"enable": False},
            "starttls": {"enable": False},
            "from": "&{email.sender.address|noreply@example.com}",
        }
        assert (
            HTTP.put(
                f"{dev.url}/openidm/config/external.email", json=config, headers=headers
            ).status_code
            == 200
        )
        dev.set_variable("esv-email-host", "127.0.0.1")
        dev.set_variable("esv-email-port", str(smtp.port), "int")
        dev.set_secret("esv-email-password", "old-pw")
        send = f"{dev.url}/openidm/external/email"
        message = {"to": "a@example.com", "subject": "hi", "body": "test"}
        assert (
            HTTP.post(send, params={"_action": "send"}, json=message, headers=headers).status_code
            == 200
        )
        # rotate: a new version, the SMTP server accepts only the new password
        HTTP.post(
            f"{dev.url}/environment/secrets/esv-email-password/versions",
            params={"_action": "create"},
            json={"valueBase64": b64("new-pw")},
            headers=headers,
        )
        smtp.set_password("mailer", "new-pw")
        failed = HTTP.post(send, params={"_action": "send"}, json=message, headers=headers)
        assert failed.status_code == 500
        HTTP.post(f"{dev.url}/environment/startup", params={"_action": "restart"}, headers=headers)
        dev.release()
        assert (
            HTTP.post(send, params={"_action": "send"}, json=message, headers=headers).status_code
            == 200
        )
        assert dev.sent == 2
        assert len(smtp.messages()) == 2


def test_send_decrypts_its_own_crypto_but_not_another_tenants(chain: AicChain) -> None:
    dev, staging = chain.dev, chain.staging
    headers = {**auth(dev, chain.key), "Accept-API-Version": "resource=1.0"}
    with SmtpStandin(users={"mailer": "literal-pw"}, starttls=False) as smtp:
        config = {
            "host": "127.0.0.1",
            "port": smtp.port,
            "from": "n@example.com",
            "auth": {"enable": True, "username": "mailer", "password": "literal-pw"},
        }
        HTTP.put(f"{dev.url}/openidm/config/external.email", json=config, headers=headers)
        message = {"to": "a@example.com", "subject": "hi", "body": "b"}
        assert (
            HTTP.post(
                f"{dev.url}/openidm/external/email",
                params={"_action": "send"},
                json=message,
                headers=headers,
            ).status_code
            == 200
        )
        held = dev.config()
        assert held is not None
        staging.set_config("external.email", held)  # as a promotion ignoring encrypted secrets
        sent = HTTP.post(
            f"{staging.url}/openidm/external/email",
            params={"_action": "send"},
            json=message,
            headers=auth(staging, chain.key),
        )
        assert sent.status_code == 500


# -- test hooks ----------------------------------------------------------------------------


def test_request_log_faults_and_outage(chain: AicChain) -> None:
    dev = chain.dev
    headers = auth(dev, chain.key)
    url = f"{dev.url}/environment/startup"
    dev.fail_next(503)
    assert HTTP.get(url, headers=headers).status_code == 503
    assert HTTP.get(url, headers=headers).status_code == 200
    assert dev.count("GET", "/environment/startup") == 2
    assert dev.count("POST", "/am/oauth2/access_token") == 1
    assert ("GET", "/environment/startup", 503) in dev.seen
    dev.delay_next(0.5)
    with pytest.raises(httpx.TimeoutException):
        HTTP.get(url, headers=headers, timeout=0.1)
    dev.go_down()
    with pytest.raises(httpx.ConnectError):
        HTTP.get(url, headers=headers)
    dev.come_back()
    assert HTTP.get(url, headers=headers).status_code == 200


# -- promotions ----------------------------------------------------------------------------

V1 = {"Accept-API-Version": "protocol=2.1,resource=1.0"}


class Tenant:
    """Promotion calls on one stand-in with a full-scope token."""

    def __init__(self, env: AicStandin, key: ServiceAccountKey) -> None:
        self.env, self.headers = env, {**auth(env, key), **V1}

    def __call__(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = f"{self.env.url}/environment/promotion/{path}"
        return HTTP.request(method, url, headers=self.headers, **kwargs)

    def lock(self) -> str:
        answer = self("POST", "lock")
        assert answer.status_code == 202, answer.text
        self.env.release()
        promotion_id: str = answer.json()["promotionId"]
        return promotion_id

    def promote(self, **body: Any) -> dict[str, Any]:
        assert self("POST", "promote", json=body).status_code == 202
        assert self("GET", "promote").json()["status"] == "RUNNING"
        self.env.release()
        status: dict[str, Any] = self("GET", "promote").json()
        return status


def put_email(dev: AicStandin, key: ServiceAccountKey, config: dict[str, Any]) -> None:
    answer = HTTP.put(
        f"{dev.url}/openidm/config/external.email", json=config, headers=auth(dev, key)
    )
    assert answer.status_code == 200, answer.text


EMAIL = {
    "host": "smtp.example.com",
    "port": 587,
    "from": "&{esv.email.from|noreply@example.com}",
    "auth": {"enable": True, "username": "&{esv.email.user}", "password": "&{esv.email.password}"},
}


def test_promotion_calls_need_the_version_header_and_the_scope(chain: AicChain) -> None:
    staging = Tenant(chain.staging, chain.key)
    url = f"{chain.staging.url}/environment/promotion/lock/state"
    bare = {"Authorization": staging.headers["Authorization"]}
    for headers in (bare, {**bare, "Accept-API-Version": "resource=2.0"}):
        answer = HTTP.get(url, headers=headers)
        assert answer.status_code == 400
    reader = chain.staging.add_service_account(["fr:idc:promotion:read"])
    read_only = {**auth(chain.staging, reader, "fr:idc:promotion:read"), **V1}
    assert HTTP.get(url, headers=read_only).status_code == 200
    locked = HTTP.post(f"{chain.staging.url}/environment/promotion/lock", headers=read_only)
    assert (locked.status_code, locked.json()) == (403, {"code": 403, "message": "forbidden"})
    assert staging("GET", "lock/state").json()["result"] == "unlocked"


def test_lock_lifecycle_and_the_lower_env_is_held(chain: AicChain) -> None:
    staging, prod = Tenant(chain.staging, chain.key), Tenant(chain.prod, chain.key)
    started = staging("POST", "lock")
    assert started.status_code == 202
    promotion_id = started.json()["promotionId"]
    assert started.json() == {
        "description": "Environment lock in progress",
        "promotionId": promotion_id,
        "result": "locking",
    }
    assert staging("GET", "lock/state").json()["result"] == "locking"
    assert staging("GET", "promote").json()["status"] == "LOCKING"
    assert staging("POST", "lock").status_code == 409
    assert prod("POST", "lock").status_code == 409  # staging is busy as dev's upper
    put = HTTP.put(
        f"{chain.dev.url}/openidm/config/external.email",
        json=EMAIL,
        headers=auth(chain.dev, chain.key),
    )
    assert put.status_code == 403
    assert "locked for a promotion" in put.json()["message"]
    chain.staging.release()
    state = staging("GET", "lock/state").json()
    assert state["result"] == "locked"
    assert state["lowerEnv"] == {
        "promotionId": promotion_id,
        "proxyState": "locked",
        "state": "locked",
    }
    assert state["upperEnv"]["state"] == "locked"
    assert set(staging("GET", "lock/state", params={"localLockOnly": "true"}).json()) == {
        "description",
        "promotionId",
        "result",
    }
    status = staging("GET", "promote").json()
    assert (status["status"], status["globalLock"], status["message"]) == (
        "READY",
        "LOCKED",
        "Environment ready for promotion",
    )
    wrong = staging("DELETE", "lock/not-the-id")
    assert (wrong.status_code, wrong.json()) == (
        409,
        {"message": "Environment is not in locked state"},
    )
    unlocking = staging("DELETE", f"lock/{promotion_id}")
    assert (unlocking.status_code, unlocking.json()["result"]) == (202, "unlocking")
    assert staging("DELETE", f"lock/{promotion_id}").status_code == 409
    chain.staging.release()
    assert staging("GET", "lock/state").json()["result"] == "unlocked"
    unlocked = staging("GET", "promote").json()
    assert (unlocked["status"], unlocked["globalLock"], unlocked["blockingError"]) == (
        "UNLOCKED",
        "UNLOCKED",
        False,
    )
    put_email(chain.dev, chain.key, EMAIL)  # dev is writable again
    dev = Tenant(chain.dev, chain.key)
    assert dev("POST", "lock").status_code == 404  # dev has no lower env


def test_dry_run_reports_the_email_provider_and_changes_nothing(chain: AicChain) -> None:
    staging = Tenant(chain.staging, chain.key)
    assert staging("POST", "promote", json={"dryRun": True}).json() == {
        "code": 409,
        "message": "Environment is not locked",
        "status": "Conflict",
    }
    put_email(chain.dev, chain.key, EMAIL)
    for name in ("esv-email-user", "esv-email-password"):
        chain.staging.set_secret(name, "x")
    promotion_id = staging.lock()
    assert staging("POST", "promote", json={"promoter": "me"}).status_code == 400
    status = staging.promote(dryRun=True, promoter="me", promotionDescription="try")
    assert (status["status"], status["message"], status["blockingError"]) == (
        "READY",
        "Dry run promotion completed",
        False,
    )
    report = staging("GET", "report").json()
    assert report["reportId"] == status["reportId"]
    assert (report["dryRun"], report["type"], report["promotionId"]) == (
        True,
        "promotion",
        promotion_id,
    )
    assert report["report"] == {
        "IDMConfig": [
            {
                "configItem": "Email > Provider",
                "configChange": {"modified": [{"name": "external.email", "uid": "external.email"}]},
            }
        ]
    }
    assert "missingESVs" not in report and "encryptedSecrets" not in report
    assert report["reportName"].endswith(f"_dryrun=true_{report['reportId']}")
    assert staging("GET", f"report/{report['reportId']}").json() == report
    missing = staging("GET", "report/nope")
    assert missing.status_code == 404 and missing.json()["status"] == "Not Found"
    assert staging("GET", "reports").json() == [
        {
            "createdDate": report["createdDate"],
            "dryRun": True,
            "promoter": "me",
            "promotionId": promotion_id,
            "reportId": report["reportId"],
            "type": "promotion",
        }
    ]
    assert chain.staging.config() == DEFAULT_EMAIL


def test_missing_esvs_and_encrypted_secrets_block_a_promotion(chain: AicChain) -> None:
    staging = Tenant(chain.staging, chain.key)
    put_email(chain.dev, chain.key, {**EMAIL, "auth": {**EMAIL["auth"], "password": "literal"}})
    staging.lock()
    status = staging.promote(dryRun=True)
    assert status["blockingError"] is True
    assert status["missingESVs"] == ["esv-email-user"]  # esv.email.from has a |default
    assert status["encryptedSecrets"] == ["external.email/auth/password"]
    report = staging("GET", "report").json()
    assert (report["missingESVs"], report["encryptedSecrets"]) == (
        ["esv-email-user"],
        ["external.email/auth/password"],
    )
    blocked = staging.promote(dryRun=False)
    assert blocked["blockingError"] is True
    assert blocked["missingESVs"] == ["esv-email-user"]
    assert len(staging("GET", "reports").json()) == 1  # a blocked promotion writes no report
    assert chain.staging.config() == DEFAULT_EMAIL
    # with the ESV in staging and encrypted secrets ignored it goes through
    chain.staging.set_variable("esv-email-user", "mailer")
    done = staging.promote(dryRun=False, ignoreEncryptedSecrets=True)
    assert (done["status"], done["message"], done["blockingError"]) == (
        "READY",
        "Promotion completed",
        False,
    )
    assert chain.staging.config() == chain.dev.config()
    again = staging.promote(dryRun=True)
    assert again["blockingError"] is False
    assert staging("GET", "report").json()["previouslyIgnoredEncryptedSecrets"] == [
        "external.email/auth/password"
    ]


def test_promotion_copies_the_lower_config_and_rollback_restores(chain: AicChain) -> None:
    staging, prod = Tenant(chain.staging, chain.key), Tenant(chain.prod, chain.key)
    for env in (chain.staging, chain.prod):
        env.set_variable("esv-email-user", "u")
        env.set_secret("esv-email-password", "p")
    put_email(chain.dev, chain.key, EMAIL)
    nothing = staging("GET", "report/provisional-rollback")
    assert nothing.status_code == 404
    staging.lock()
    assert (
        staging("POST", "rollback", json={}).json()["message"]
        == "There is no promotion to roll back"
    )
    done = staging.promote(dryRun=False, unlockEnvironmentsAfterPromotion=True)
    assert done["status"] == "UNLOCKING"  # done, and unlocking as asked
    assert chain.staging.config() == chain.dev.config()
    report = staging("GET", "report").json()
    assert (report["dryRun"], report["type"]) == (False, "promotion")
    chain.staging.release()  # unlockEnvironmentsAfterPromotion
    assert staging("GET", "lock/state").json()["result"] == "unlocked"
    # prod pulls from staging
    prod_lock = prod.lock()
    assert prod.promote(dryRun=False)["message"] == "Promotion completed"
    assert chain.prod.config() == chain.dev.config()
    assert Tenant(chain.staging, chain.key)("POST", "lock").status_code == 409  # held by prod
    assert prod("DELETE", f"lock/{prod_lock}").status_code == 202
    chain.prod.release()
    # roll staging back
    staging.lock()
    provisional = staging("GET", "report/provisional-rollback").json()
    assert provisional["type"] == "rollback"
    assert provisional["report"]["IDMConfig"][0]["configItem"] == "Email > Provider"
    assert staging("POST", "rollback", json={"promoter": "me"}).json() == {
        "result": "Rollback process initiated successfully"
    }
    assert staging("GET", "promote").json()["message"] == "Rollback in progress"
    chain.staging.release()
    status = staging("GET", "promote").json()
    assert (status["status"], status["message"], status["type"]) == (
        "READY",
        "Rollback completed",
        "rollback",
    )
    assert chain.staging.config() == DEFAULT_EMAIL
    assert staging("GET", "report").json()["type"] == "rollback"
    assert staging("POST", "rollback", json={}).status_code == 409


def test_other_config_changes_show_in_the_provisional_report(chain: AicChain) -> None:
    dev, prod = Tenant(chain.dev, chain.key), Tenant(chain.prod, chain.key)
    empty = dev("GET", "report/provisional").json()
    assert empty["report"] == {} and empty["dryRun"] is True
    chain.dev.set_config("emailTemplate/welcome", {"subject": {"en": "Hi"}})
    chain.dev.set_config("am/alpha/journeys/Login", {"nodes": 3})
    chain.dev.set_config("external.email", {**EMAIL, "auth": {"enable": False}})
    report = dev("GET", "report/provisional").json()
    assert report["report"]["IDMConfig"] == [
        {
            "configItem": "Email > Templates",
            "configChange": {"added": [{"name": "welcome", "uid": "emailTemplate/welcome"}]},
        },
        {
            "configItem": "Email > Provider",
            "configChange": {"modified": [{"name": "external.email", "uid": "external.email"}]},
        },
    ]
    assert report["report"]["AMConfig"] == [
        {
            "configItem": "journeys",
            "configChange": {
                "added": [{"name": "Login", "realm": "/alpha", "uid": "am/alpha/journeys/Login"}]
            },
        }
    ]
    assert prod("GET", "report/provisional").status_code == 404  # prod has no upper env


def test_injected_failure_stops_half_way_and_rollback_restores(chain: AicChain) -> None:
    staging = Tenant(chain.staging, chain.key)
    chain.staging.set_variable("esv-email-user", "u")
    chain.staging.set_secret("esv-email-password", "p")
    put_email(chain.dev, chain.key, EMAIL)
    chain.dev.set_config("emailTemplate/welcome", {"subject": {"en": "Hi"}})
    promotion_id = staging.lock()
    chain.staging.promotions.fail_next(apply=1, message="Promotion failed: timeout")
    failed = staging.promote(dryRun=False)
    assert (failed["status"], failed["blockingError"], failed["message"]) == (
        "ERROR",
        True,
        "Promotion failed: timeout",
    )
    assert staging("GET", "reports").json() == []
    assert chain.staging.config("emailTemplate/welcome") == {"subject": {"en": "Hi"}}
    assert chain.staging.config() == DEFAULT_EMAIL  # the second item was never applied
    assert staging("POST", "rollback", json={}).status_code == 202
    chain.staging.release()
    assert chain.staging.config("emailTemplate/welcome") is None
    assert staging("DELETE", f"lock/{promotion_id}").status_code == 202
    chain.staging.release()
    # a lock that fails ends in result error and can be unlocked
    chain.staging.promotions.fail_next_lock("lower environment unreachable")
    promotion_id = staging.lock()
    state = staging("GET", "lock/state").json()
    assert (state["result"], state["description"]) == ("error", "lower environment unreachable")
    assert staging("POST", "promote", json={"dryRun": True}).status_code == 409
    assert staging("DELETE", f"lock/{promotion_id}").status_code == 202


def test_a_fault_can_target_one_call(chain: AicChain) -> None:
    staging = Tenant(chain.staging, chain.key)
    chain.staging.fail_request("POST", "/environment/promotion/lock", 500, body={"code": 500})
    assert staging("GET", "lock/state").status_code == 200
    assert staging("POST", "lock").status_code == 500
    assert staging("POST", "lock").status_code == 202
    assert chain.staging.seen[-3:] == [
        ("GET", "/environment/promotion/lock/state", 200),
        ("POST", "/environment/promotion/lock", 500),
        ("POST", "/environment/promotion/lock", 202),
    ]


def test_tls(tls: Tls) -> None:
    with (
        AicStandin("dev", tls_context=tls.server_context()) as dev,
        httpx.Client(verify=tls.client_context()) as client,
    ):
        assert dev.url.startswith("https://127.0.0.1:")
        token = dev.issue_token(ALL_SCOPES)
        answer = client.get(
            f"{dev.url}/environment/startup", headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.json() == {"restartStatus": "ready"}
        dev.go_down()
        dev.come_back()
        assert client.get(f"{dev.url}/environment/startup").status_code == 401
