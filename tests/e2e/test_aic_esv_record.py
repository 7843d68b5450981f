"""An ESV secret the tenant already holds is not given another version (build/.promoter's
push record, promoter/targets/esv_record.py), against the AIC stand-in. The ``chain``
fixture asserts no key, token or ESV secret value in any output or repo file, the record
included."""

# ruff: noqa: F811  (``chain`` is test_aic's fixture, used here by name)

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from pathlib import Path

from tests.conftest import write
from tests.e2e.test_aic import PASSWORDS, Chain, _promote, chain  # noqa: F401  (the fixture)

VERSIONS = "/environment/secrets/esv-email-password/versions"
RECORD = Path("build") / ".promoter" / "esv-pushes.json"


def _aged(path: Path) -> None:
    """A store file last changed over 2 s ago (a fresher one is "racy": pushed once more)."""
    changed = os.stat(path).st_ctime
    time.sleep(max(0.0, changed + 2.1 - time.time()))


def test_an_unchanged_secret_gets_no_new_version_and_deliver_writes_nothing(chain: Chain) -> None:
    dev = chain.tenants.dev
    _aged(chain.repo / "secrets" / "dev" / "email.password")
    first = chain.run("deliver", "dev")
    assert first.code == 0, first.err
    writes = [m for m, p, _ in dev.seen if m in ("PUT", "POST", "DELETE") and p[:4] != "/am/"]

    again = chain.run("deliver", "dev")
    assert again.code == 0, again.err
    assert again.out.startswith(f"dev: unchanged: {dev.url}/openidm/config/external.email")
    assert "ESVs changed" not in again.out
    after = [m for m, p, _ in dev.seen if m in ("PUT", "POST", "DELETE") and p[:4] != "/am/"]
    assert after == writes  # 0 writes: no PUT, no secret version
    assert dev.count("POST", VERSIONS) == 0


def test_a_changed_store_file_or_a_version_added_by_hand_is_pushed(chain: Chain) -> None:
    dev = chain.tenants.dev
    store = chain.repo / "secrets" / "dev" / "email.password"
    _aged(store)
    assert chain.run("deliver", "dev").code == 0
    write(store, "rotated-CANARY-77c1\n")
    run = chain.run("deliver", "dev")
    assert run.code == 0, run.err
    assert "secret esv-email-password v2" in run.out
    assert dev.secret_value("esv-email-password") == "rotated-CANARY-77c1"

    _aged(store)
    assert chain.run("deliver", "dev").code == 0  # proves the record for the aged file
    dev.set_secret("esv-email-password", "set-in-the-console-CANARY")  # v3, by hand
    fixed = chain.run("deliver", "dev")
    assert fixed.code == 0, fixed.err
    assert "secret esv-email-password v4" in fixed.out
    assert dev.secret_value("esv-email-password") == "rotated-CANARY-77c1"


def test_a_store_file_changed_just_before_the_push_is_pushed_once_more(chain: Chain) -> None:
    dev = chain.tenants.dev
    write(chain.repo / "secrets" / "dev" / "email.password", PASSWORDS["dev"] + "\n")
    assert chain.run("deliver", "dev").code == 0  # read within 2 s of its change: racy
    again = chain.run("deliver", "dev")
    assert again.code == 0, again.err
    assert dev.count("POST", VERSIONS) == 1  # pushed again; the tenant deduplicates it
    assert "ESVs changed" not in again.out
    assert dev.secret_value("esv-email-password") == PASSWORDS["dev"]


def test_the_record_holds_no_value_nor_anything_computed_from_one(chain: Chain) -> None:
    _aged(chain.repo / "secrets" / "staging" / "email.password")
    assert chain.run("deliver", "dev").code == 0
    run = _promote(chain, "dev", "staging")
    assert run.code == 0, run.err
    text = (chain.repo / RECORD).read_text()
    record = json.loads(text)
    assert set(record) == {chain.tenants.dev.url, chain.tenants.staging.url}
    entry = record[chain.tenants.staging.url]["esv-email-password"]
    assert entry["version"] == "1" and entry["proven"] is True
    for value in PASSWORDS.values():
        for derived in (
            value,
            base64.b64encode(value.encode()).decode(),
            hashlib.sha256(value.encode()).hexdigest(),
            hashlib.sha256((value + "\n").encode()).hexdigest(),
        ):
            assert derived not in text
