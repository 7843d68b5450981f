"""Outputs are identified by the sha256 of the masked output (issue 12 item 4): a hash of
the resolved output, shown or stored, would let anyone with the repo test guesses of a
weak password offline."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.conftest import cli, write

CREDS = "secrets/prod/idm.email.msgraph.credentials"
OUT = "build/prod/conf/external.email.json"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def secret(repo: Path, value: str) -> None:
    write(
        repo / CREDS,
        json.dumps({"clientId": "00000000-0000-0000-0000-EXAMPLE00000", "clientSecret": value}),
    )


def test_the_sha256_shown_and_stored_is_the_masked_outputs(example: Path) -> None:
    secret(example, "weak")
    masked = cli("compile", "prod", cwd=example)
    delivered = cli("deliver", "prod", cwd=example)
    checked = cli("check", "prod", "--format", "json", cwd=example)
    assert masked.code == delivered.code == checked.code == 0, delivered.err
    resolved = (example / OUT).read_text()
    assert '"weak"' in resolved  # the file target really holds the secret
    identity = sha(masked.out)
    assert delivered.out.strip().endswith(f"(sha256 {identity})")
    [entry] = [
        json.loads(x) for x in (example / "ledger/promotions.jsonl").read_text().splitlines()
    ]
    assert entry["output_sha256"] == identity
    assert json.loads(checked.out)["environments"][0]["sha256"] == identity
    stored = "".join(p.read_text() for p in (example / "build/.promoter").rglob("*.json"))
    everything = delivered.out + delivered.err + checked.out + stored
    assert sha(resolved) not in everything  # nothing to test password guesses against


def test_a_secret_rotated_in_place_keeps_the_identity(example: Path) -> None:
    secret(example, "first-value")
    first = cli("deliver", "prod", cwd=example)
    secret(example, "second-value")
    second = cli("deliver", "prod", cwd=example)
    assert first.code == second.code == 0, second.err
    assert first.out.split("(sha256 ")[1] == second.out.split("(sha256 ")[1]
    assert '"second-value"' in (example / OUT).read_text()
