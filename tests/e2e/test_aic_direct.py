"""Direct Configuration sessions on a controlled (immutable) tenant, against the stand-in's
sessions (tests/support/aic_dcc.py: short dwell times, restart states, 403s outside
SESSION_INITIALISED). The ``chain`` fixture asserts no key, token or ESV secret value in any
output or repo file."""

# ruff: noqa: F811  (``chain`` is test_aic's fixture, used here by name)

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import write
from tests.e2e.test_aic import Chain, chain  # noqa: F401  (the fixture)
from tests.support.aic_standin import DEFAULT_EMAIL
from tests.support.watch_harness import wait_until

STATE = "/environment/direct-configuration/session/state"


def _direct(chain: Chain) -> None:
    path = chain.repo / "promoter.yaml"
    url = chain.tenants.staging.url
    text = path.read_text().replace(
        f"aic: {url}\n", f"aic: {url}\n      directConfiguration: true\n"
    )
    write(path, text)


def _ledger(repo: Path) -> list[dict[str, Any]]:
    text = (repo / "ledger" / "promotions.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_deliver_through_a_session_with_restart_states(chain: Chain) -> None:
    staging = chain.tenants.staging
    staging.dcc.restart_states = True
    _direct(chain)
    run = chain.run("deliver", "staging")
    assert run.code == 0, run.err
    assert run.out.startswith(
        f"staging: delivered to {staging.url}/openidm/config/external.email through a Direct "
        "Configuration session"
    )
    assert (staging.config() or {})["host"] == "&{esv.email.host}"
    assert staging.dcc.inits == 1 and staging.dcc.applies == 1 and staging.dcc.aborts == 0
    assert [s for s in staging.seen if s[2] == 403] == []  # no write outside the session
    entry = _ledger(chain.repo)[-1]
    assert entry["action"] == "deliver" and entry["detail"]["aic"]["via"] == (
        "direct-configuration"
    )
    states = entry["detail"]["aic"]["sessionStates"]
    assert states[0] == "NO_SESSION" and states[-1] == "SESSION_APPLIED"
    assert "SESSION_INITIALISED" in states and "MUTABLE_RESTART_PROGRESSING" in states

    again = chain.run("deliver", "staging")
    assert again.code == 0, again.err
    assert "unchanged" in again.out and staging.dcc.inits == 1  # no session for nothing


def test_a_failure_before_apply_aborts_the_session(chain: Chain) -> None:
    staging = chain.tenants.staging
    _direct(chain)
    staging.fail_request("PUT", "/openidm/config/external.email", 500)
    run = chain.run("deliver", "staging")
    assert run.code == 3
    assert run.err.startswith(
        "error: direct configuration on staging's tenant: write external.email in the session "
        "failed: "
    )
    assert "the session was aborted, nothing applied" in run.err
    assert staging.count("PUT", "/openidm/config/external.email") == 1  # never repeated
    assert staging.dcc.aborts == 1 and staging.dcc.applies == 0
    assert staging.config() == DEFAULT_EMAIL


def test_a_session_someone_else_opened_is_left_alone(chain: Chain) -> None:
    staging = chain.tenants.staging
    _direct(chain)
    staging.dcc.status = "SESSION_INITIALISED"
    run = chain.run("deliver", "staging")
    assert run.code == 3
    assert run.err.startswith(
        "error: staging's tenant has a Direct Configuration session open (SESSION_INITIALISED), "
        "not ours: left untouched, nothing written"
    )
    assert staging.dcc.inits == 0 and staging.dcc.aborts == 0
    assert staging.count("PUT", "/openidm") == 0


def test_a_session_that_ends_in_error_after_apply_says_how_to_look(chain: Chain) -> None:
    staging = chain.tenants.staging
    staging.dcc.fail_apply = True
    _direct(chain)
    run = chain.run("deliver", "staging")
    assert run.code == 3
    assert "after apply" in run.err and "the session is ERROR" in run.err
    assert "(hint: look at what the tenant holds: promoter diff staging)" in run.err
    assert staging.dcc.aborts == 0


def test_promote_through_a_session_and_a_dry_run_opens_none(chain: Chain) -> None:
    dev, staging = chain.tenants.dev, chain.tenants.staging
    _direct(chain)
    write(chain.repo / "environments" / "staging.yaml", "port: 2525\n")  # EMAIL016 moot here
    assert chain.run("deliver", "dev").code == 0
    dry = chain.run("promote", "dev", "staging", "--dry-run")
    assert dry.code == 0, dry.err
    assert "(none opened by a dry run)" in dry.out
    assert staging.dcc.inits == 0
    run = chain.run("promote", "dev", "staging", "--apply", "--yes")
    assert run.code == 0, run.err
    assert staging.dcc.inits == 1 and staging.dcc.applies == 1
    assert staging.count("POST", "/environment/promotion") == 0  # no AIC promotion
    assert (staging.config() or {})["port"] == 2525
    assert (staging.config() or {})["host"] == (dev.config() or {})["host"]
    entry = _ledger(chain.repo)[-1]
    assert entry["action"] == "promote" and entry["detail"]["aic"]["via"] == (
        "direct-configuration"
    )


def test_slow_session_polls_that_fail_are_not_ready_yet(chain: Chain) -> None:
    staging = chain.tenants.staging
    _direct(chain)
    state = "/environment/direct-configuration/session/state"
    staging.fail_request("GET", state, 0)  # the check before init answers; then polls fail
    staging.fail_request("GET", state, 503, count=4)
    run = chain.run("deliver", "staging")
    assert run.code == 0, run.err
    assert staging.dcc.applies == 1
    assert [m for m, _, status in staging.seen if status == 503] == ["GET"] * 4


def test_ctrl_c_while_the_session_opens_aborts_it(chain: Chain) -> None:
    staging = chain.tenants.staging
    staging.dcc.dwell = None  # the session stays SESSION_INITIALISE_REQUESTED until released
    _direct(chain)
    proc = subprocess.Popen(
        [sys.executable, "-m", "promoter", "deliver", "staging"],
        cwd=chain.repo,
        env={**os.environ, **chain.environ},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: staging.dcc.inits == 1, timeout=30, what="the session's init")
        wait_until(lambda: staging.count("GET", STATE) >= 2, timeout=30, what="a state poll")
        proc.send_signal(signal.SIGINT)  # what ^C in the terminal sends
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 3, err
    assert err.startswith(
        "error: direct configuration on staging's tenant: open the configuration session "
        "failed: interrupted; the session was aborted, nothing applied"
    )
    assert "Traceback" not in err
    assert not any(canary in out + err for canary in chain.canaries())
    assert staging.dcc.aborts == 1 and staging.dcc.applies == 0
    assert staging.count("PUT", "/openidm/config/external.email") == 0
    assert staging.config() == DEFAULT_EMAIL
