"""A file target's directory (often IDM's own conf/) holds the output and its .bak only:
the secret pointers promoter remembers about an output live in the repo's build/.promoter/
(written by every writer: promote, deliver, the watcher)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import cli, write

RECORDS = "build/.promoter/records"
PROD_CONF = "build/prod/conf"
CANARY = "canary-record-secret-7f3a91"


def _promote_to_prod(repo: Path) -> None:
    assert cli("promote", "dev", "staging", cwd=repo).code == 0
    run = cli("promote", "staging", "prod", cwd=repo)
    assert run.code == 0, run.err


def _record(repo: Path) -> Path:
    """prod's record: the one in the state directory that names its output."""
    [record] = [p for p in (repo / RECORDS).iterdir() if "prod" in p.name]
    return record


def _listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_the_target_directory_holds_the_output_and_its_backup_only(example: Path) -> None:
    _promote_to_prod(example)
    conf = example / PROD_CONF
    assert _listing(conf) == ["external.email.json"]
    assert json.loads(_record(example).read_text())
    creds = example / "secrets/prod/idm.email.msgraph.credentials"
    secret = json.loads(creds.read_text())
    creds.write_text(json.dumps({**secret, "clientSecret": CANARY}))
    for _ in range(2):
        run = cli("deliver", "prod", cwd=example)
        assert run.code == 0, run.err
        assert CANARY not in run.out + run.err
    assert _listing(conf) == ["external.email.json", "external.email.json.bak"]
    record = _record(example).read_text()
    assert CANARY not in record and "/auth/clientSecret" in record


def test_a_record_an_older_promoter_left_is_read_then_moved(example: Path) -> None:
    _promote_to_prod(example)
    conf = example / PROD_CONF
    legacy = conf / ".external.email.json.secret-pointers"
    state = _record(example)
    held = state.read_text()
    state.unlink()
    write(legacy, held)  # what a promoter before this one left in the target directory
    overlay = example / "environments/prod.yaml"
    text = overlay.read_text()
    assert "clientId: {$purpose:" in text
    overlay.write_text(
        "\n".join(
            "  clientId: literal-client-id" if "clientId: {$purpose:" in line else line
            for line in text.splitlines()
        )
        + "\n"
    )
    diff = cli("diff", "prod", cwd=example)
    assert diff.code == 0, diff.err
    # the legacy record still masks the old side: it says clientId was a secret
    assert '~ /auth/clientId: <secret> → "literal-client-id"' in diff.out
    assert legacy.exists()  # reading does not move it
    assert cli("deliver", "prod", cwd=example).code == 0
    assert not legacy.exists()
    assert _listing(conf) == ["external.email.json", "external.email.json.bak"]
    assert json.loads(state.read_text()) == sorted(
        p for p in json.loads(held) if p != "/auth/clientId"
    )


def test_a_file_target_inside_the_state_directory_is_refused(example: Path) -> None:
    text = (example / "promoter.yaml").read_text()
    (example / "promoter.yaml").write_text(
        text.replace(
            "target: {file: build/prod/conf/external.email.json}",
            "target: {file: build/.promoter/records/prod.json}",
        )
    )
    run = cli("check", cwd=example)
    assert run.code == 2
    assert "under build/.promoter/" in run.err
