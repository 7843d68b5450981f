"""Delivery to IDM's REST API, against the IDM REST stand-in (no real IDM runs here)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import cli, set_target
from tests.support.idm_standin import IdmStandin

TOKEN = "good-token"


@pytest.fixture
def idm() -> Iterator[IdmStandin]:
    with IdmStandin(tokens=frozenset({TOKEN})) as standin:
        yield standin  # type: ignore[misc]


def bearer(repo: Path, idm: IdmStandin, env: str = "prod", extra: str = "") -> None:
    set_target(
        repo, env, f"{{idm: '{idm.base}', bearerEnv: IDM_TOKEN, timeout: 2, retries: 2}}", extra
    )


def test_deliver_puts_reads_back_and_records(example: Path, idm: IdmStandin) -> None:
    bearer(example, idm)
    run = cli("deliver", "prod", cwd=example, env={"IDM_TOKEN": TOKEN})
    assert run.code == 0, run.err
    assert "read back: non-secret fields match" in run.out
    assert idm.config is not None
    assert idm.config["auth"]["clientSecret"] == "EXAMPLE-not-a-real-client-secret"
    assert ("PUT", "/openidm/config/external.email", 200) in idm.seen
    assert ("GET", "/openidm/config/external.email", 200) in idm.seen
    assert TOKEN not in run.out + run.err


def test_username_password_headers(example: Path) -> None:
    with IdmStandin(users={"admin": "pw-from-env"}) as idm:
        set_target(example, "prod", f"{{idm: '{idm.base}', usernameEnv: U, passwordEnv: P}}")
        ok = cli("deliver", "prod", cwd=example, env={"U": "admin", "P": "pw-from-env"})
        assert ok.code == 0, ok.err
        bad = cli("deliver", "prod", cwd=example, env={"U": "admin", "P": "wrong"})
    assert bad.code == 3
    assert "401" in bad.err and "check $U and $P" in bad.err and "wrong" not in bad.err


def test_401_names_the_variable_never_the_token(example: Path, idm: IdmStandin) -> None:
    bearer(example, idm)
    run = cli("deliver", "prod", cwd=example, env={"IDM_TOKEN": "stale-token-value"})
    assert run.code == 3
    assert run.err.strip() == (
        "error: IDM rejected the credentials (401): check the token in $IDM_TOKEN"
    )
    assert "stale-token-value" not in run.out + run.err


def test_missing_token_variable_is_a_usage_error(example: Path, idm: IdmStandin) -> None:
    bearer(example, idm)
    run = cli("deliver", "prod", cwd=example, env={"IDM_TOKEN": ""})
    assert run.code == 2 and "environment variable IDM_TOKEN is not set" in run.err


def test_403_is_final(example: Path, idm: IdmStandin) -> None:
    bearer(example, idm)
    idm.fail_next(403, count=5)
    run = cli("deliver", "prod", cwd=example, env={"IDM_TOKEN": TOKEN})
    assert run.code == 3 and "(403)" in run.err
    assert [s for m, _, s in idm.seen if m == "PUT"] == [403]


def test_5xx_is_retried_then_succeeds(example: Path, idm: IdmStandin) -> None:
    bearer(example, idm)
    idm.fail_next(503, count=2)
    run = cli("deliver", "prod", cwd=example, env={"IDM_TOKEN": TOKEN})
    assert run.code == 0, run.err
    assert [(m, s) for m, _, s in idm.seen][:4] == [
        ("GET", 503),
        ("GET", 503),
        ("GET", 404),
        ("PUT", 200),
    ]


def test_persistent_5xx_gives_exit_3(example: Path, idm: IdmStandin) -> None:
    bearer(example, idm)
    idm.fail_next(500, count=10)
    run = cli("deliver", "prod", cwd=example, env={"IDM_TOKEN": TOKEN})
    assert run.code == 3
    assert "IDM answered PUT /config/external.email with 500 (after 3 attempts)" in run.err


def test_slow_idm_times_out(example: Path, idm: IdmStandin) -> None:
    set_target(
        example, "prod", f"{{idm: '{idm.base}', bearerEnv: IDM_TOKEN, timeout: 0.3, retries: 0}}"
    )
    idm.delay_next(1.5, count=2)  # the read before the write, then the PUT
    run = cli("deliver", "prod", cwd=example, env={"IDM_TOKEN": TOKEN})
    # a read timeout, or the whole-request deadline of the same 0.3 s, whichever fires first
    assert run.code == 3 and ("ReadTimeout" in run.err or "within timeout: 0.3 s" in run.err)


def test_unreachable_idm(example: Path) -> None:
    with IdmStandin() as idm:
        url = idm.base
    set_target(example, "prod", f"{{idm: '{url}', bearerEnv: IDM_TOKEN, timeout: 1, retries: 1}}")
    run = cli("deliver", "prod", cwd=example, env={"IDM_TOKEN": TOKEN})
    assert run.code == 3 and "cannot reach IDM" in run.err and "after 2 attempts" in run.err


def test_tls_verification_with_ca_file(example: Path, tls: Any) -> None:
    with IdmStandin(tokens=frozenset({TOKEN}), tls_context=tls.server_context()) as idm:
        set_target(example, "prod", f"{{idm: '{idm.base}', bearerEnv: IDM_TOKEN, retries: 0}}")
        untrusted = cli("deliver", "prod", cwd=example, env={"IDM_TOKEN": TOKEN})
        assert untrusted.code == 3 and "TLS certificate not trusted" in untrusted.err
        (example / "ca.pem").write_bytes(tls.ca_file.read_bytes())
        set_target(
            example,
            "staging",
            f"{{idm: '{idm.base}', bearerEnv: IDM_TOKEN, caFile: ca.pem, retries: 0}}",
        )
        trusted = cli("deliver", "staging", cwd=example, env={"IDM_TOKEN": TOKEN})
        assert trusted.code == 0, trusted.err


def test_drift_detected_through_idm(example: Path, idm: IdmStandin) -> None:
    bearer(example, idm)
    env = {"IDM_TOKEN": TOKEN}
    assert cli("deliver", "prod", cwd=example, env=env).code == 0
    same = cli("diff", "prod", "--exit-code", cwd=example, env=env)
    assert same.code == 0, same.out + same.err
    assert idm.config is not None
    idm.config["from"] = "changed-in-ui@example.com"  # someone used the admin UI
    drift = cli("diff", "prod", "--exit-code", cwd=example, env=env)
    assert drift.code == 1
    assert '~ /from: "changed-in-ui@example.com" → "noreply@example.onmicrosoft.com"' in drift.out
    assert "EXAMPLE-not-a-real" not in drift.out


def test_promote_apply_delivers_before_writing(example: Path, idm: IdmStandin) -> None:
    bearer(example, idm, env="staging")
    env = {"IDM_TOKEN": TOKEN}
    idm.fail_next(500, count=6)  # every attempt of the read before the write and of the PUT
    failed = cli("promote", "dev", "staging", "--apply", "--yes", cwd=example, env=env)
    assert failed.code == 3
    assert not (example / "environments/staging.pin.yaml").exists()
    assert not (example / "ledger").exists()
    done = cli("promote", "dev", "staging", "--apply", "--yes", cwd=example, env=env)
    assert done.code == 0, done.err
    assert idm.config is not None and idm.config["host"] == "smtp.staging.example.com"
    entry = json.loads((example / "ledger/promotions.jsonl").read_text().splitlines()[-1])
    assert entry["result"] == "applied"
    assert (example / "build/staging/conf/external.email.json").is_file()


def test_a_second_deliver_writes_nothing_and_a_drifted_one_is_written(
    example: Path, idm: IdmStandin
) -> None:
    bearer(example, idm)
    assert cli("deliver", "prod", cwd=example, env={"IDM_TOKEN": TOKEN}).code == 0
    puts = sum(1 for s in idm.seen if s[0] == "PUT")
    again = cli("deliver", "prod", cwd=example, env={"IDM_TOKEN": TOKEN})
    assert again.code == 0, again.err
    assert "unchanged:" in again.out and "nothing written" in again.out
    assert sum(1 for s in idm.seen if s[0] == "PUT") == puts
    secret = "EXAMPLE-not-a-real-client-secret"
    assert secret not in again.out + again.err
    assert idm.config is not None
    idm.config["drifted"] = True
    third = cli("deliver", "prod", cwd=example, env={"IDM_TOKEN": TOKEN})
    assert third.code == 0, third.err
    assert "delivered to" in third.out
    assert sum(1 for s in idm.seen if s[0] == "PUT") == puts + 1
    assert "drifted" not in idm.config
