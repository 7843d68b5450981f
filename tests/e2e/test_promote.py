from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import cli, write

PIN = Path("environments/staging.pin.yaml")
LEDGER = Path("ledger/promotions.jsonl")


def tree_digest(root: Path, skip: str = ".git") -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if {".git", skip}.isdisjoint(p.parts)):
        h.update(str(path.relative_to(root)).encode())
        if path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()


def git_repo(root: Path) -> Path:
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "initial"]):
        subprocess.run(
            ["git", *args],
            cwd=root,
            check=True,
            capture_output=True,
            env={
                **os.environ,
                "GIT_AUTHOR_NAME": "t",
                "GIT_AUTHOR_EMAIL": "t@e",
                "GIT_COMMITTER_NAME": "t",
                "GIT_COMMITTER_EMAIL": "t@e",
            },
        )
    return root


def set_base(root: Path, text: str) -> None:
    """Add to base.yaml, replacing the key if it is there."""
    path = root / "environments/base.yaml"
    key = text.split(":")[0]
    lines = [line for line in path.read_text().splitlines(True) if not line.startswith(key + ":")]
    path.write_text("".join(lines) + text)


def test_a_base_change_reaches_staging_only_by_promotion(example: Path) -> None:
    assert cli("promote", "dev", "staging", cwd=example).code == 0
    assert (example / PIN).is_file()
    set_base(example, "fromName: Example Corp\n")
    shown = json.loads(cli("compile", "staging", cwd=example).out)
    assert "fromName" not in shown  # staging still compiles from its pin
    assert json.loads(cli("compile", "dev", cwd=example).out)["fromName"] == "Example Corp"
    run = cli("promote", "dev", "staging", cwd=example)
    assert run.code == 0
    assert '  + /fromName: "Example Corp"   (environments/base.yaml:' in run.out
    assert json.loads(cli("compile", "staging", cwd=example).out)["fromName"] == "Example Corp"


def test_prod_gets_staging_pin_not_the_working_base(example: Path) -> None:
    assert cli("promote", "dev", "staging", cwd=example).code == 0
    set_base(example, "threadPoolSize: 7\n")
    assert cli("promote", "staging", "prod", cwd=example).code == 0
    prod = json.loads((example / "build/prod/conf/external.email.json").read_text())
    assert prod["threadPoolSize"] == 20
    pin = (example / "environments/prod.pin.yaml").read_text()
    assert pin.count("# promoter pin:") == 1 and "threadPoolSize: 20" in pin


def test_a_base_change_that_breaks_prod_is_refused_at_prod(example: Path) -> None:
    set_base(example, "fromName: Example Corp\n")  # smtp-only: invalid for msgraph prod
    assert cli("promote", "dev", "staging", cwd=example).code == 0
    before = tree_digest(example, skip="build")
    run = cli("promote", "staging", "prod", cwd=example)
    assert run.code == 1
    # cited where prod's pin comes from: staging's pin (a refused promotion writes no pin)
    assert "environments/staging.pin.yaml:" in run.err and "unknown property" in run.err
    assert tree_digest(example, skip="build") == before  # build/ holds only the repo lock


def test_first_promotion_shows_the_whole_output_as_new(example: Path) -> None:
    run = cli("promote", "dev", "staging", "--dry-run", cwd=example)
    assert '  + /host: "smtp.staging.example.com"   (environments/staging.yaml:5:1)' in run.out
    assert (
        "  + /auth/password: <secret idm.email.smtp.password>   (environments/staging.yaml:"
        in run.out
    )
    assert '  + /from: "noreply@example.com"   (environments/base.yaml:' in run.out


def test_dry_run_leaves_the_tree_unchanged(example: Path) -> None:
    assert cli("promote", "dev", "staging", cwd=example).code == 0
    set_base(example, "threadPoolSize: 9\n")
    before = tree_digest(example)
    run = cli("promote", "dev", "staging", "--dry-run", cwd=example)
    assert run.code == 0 and "~ /threadPoolSize: 20 → 9" in run.out
    assert tree_digest(example) == before


def test_ledger_history_and_rollback(example: Path) -> None:
    assert cli("promote", "dev", "staging", cwd=example).code == 0
    set_base(example, "threadPoolSize: 9\n")
    assert cli("promote", "dev", "staging", cwd=example).code == 0
    entries = [json.loads(line) for line in (example / LEDGER).read_text().splitlines()]
    assert [e["result"] for e in entries] == ["promoted", "promoted"]
    assert {
        "time",
        "action",
        "env",
        "source",
        "pin_sha256",
        "output_sha256",
        "gates",
        "user",
    } <= set(entries[1])
    history = cli("history", "staging", cwd=example)
    assert history.code == 0 and len(history.out.splitlines()) == 3
    run = cli("rollback", "staging", cwd=example)
    assert run.code == 0, run.err
    assert "~ /threadPoolSize: 9 → 20" in run.out
    data = json.loads((example / "build/staging/conf/external.email.json").read_text())
    assert data["threadPoolSize"] == 20
    as_json = json.loads(cli("history", "staging", "--format", "json", cwd=example).out)
    assert [e["action"] for e in as_json] == ["promote", "promote", "rollback"]
    assert as_json[2]["pin_sha256"] == as_json[0]["pin_sha256"]
    to_second = cli("rollback", "staging", "--to", "2", cwd=example)
    assert to_second.code == 0 and "~ /threadPoolSize: 20 → 9" in to_second.out


def test_rollback_is_gated_again(example: Path) -> None:
    assert cli("promote", "dev", "staging", cwd=example).code == 0
    (example / "environments/base.yaml").write_text("from: noreply@example.com\nport: 25\n")
    assert cli("promote", "dev", "staging", cwd=example).code == 0
    overlay = example / "environments/staging.yaml"
    overlay.write_text(overlay.read_text().replace("  mail.smtp.starttls.required: true\n", ""))
    write(example / "promoter.yaml", "environments:\n  staging: {tier: production}\n")
    run = cli("rollback", "staging", "--to", "1", cwd=example)
    assert run.code == 0  # warnings only at production for this config
    assert "warn EMAIL003" in run.err


def test_rollback_without_history_is_refused(example: Path) -> None:
    run = cli("rollback", "staging", cwd=example)
    assert run.code == 1 and "no earlier pin" in run.err


def test_commit_records_pin_and_ledger(example: Path) -> None:
    git_repo(example)
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
    }
    assert cli("promote", "dev", "staging", "--commit", cwd=example, env=env).code == 0
    set_base(example, "threadPoolSize: 9\n")
    run = cli("promote", "dev", "staging", "--commit", cwd=example, env=env)
    assert run.code == 0, run.err
    log = subprocess.run(
        ["git", "log", "-1", "--format=%B", "--name-only"],
        cwd=example,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert log.startswith("promote dev → staging")
    assert "changed: /threadPoolSize" in log
    assert "environments/staging.pin.yaml" in log and "ledger/promotions.jsonl" in log
    assert "EXAMPLE-not-a-real" not in log
    status = subprocess.run(
        ["git", "status", "--porcelain", "--", "environments", "ledger"],
        cwd=example,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert status.strip() == "?? environments/base.yaml" or "base.yaml" in status


def test_concurrent_promotion_fails_clearly(example: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path\n"
            "from promoter.promotion.lock import repo_lock\n"
            "with repo_lock(Path(sys.argv[1]), wait=0):\n"
            "    print('locked', flush=True); time.sleep(30)\n",
            str(example),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        run = cli("promote", "dev", "staging", "--lock-wait", "0.3", cwd=example)
        assert run.code == 1
        assert f"another promoter command holds the repo lock (pid {holder.pid})" in run.err
        assert not (example / PIN).exists()
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
    assert cli("promote", "dev", "staging", cwd=example).code == 0


def test_drift_between_target_file_and_repo(example: Path) -> None:
    assert cli("promote", "dev", "staging", cwd=example).code == 0
    same = cli("diff", "staging", "--exit-code", cwd=example)
    assert same.code == 0 and "holds what the repo compiles to" in same.out
    out = example / "build/staging/conf/external.email.json"
    data = json.loads(out.read_text())
    data["port"] = 2525
    data["auth"]["password"] = "changed-in-the-admin-ui"
    out.write_text(json.dumps(data))
    drift = cli("diff", "staging", "--exit-code", cwd=example)
    assert drift.code == 1
    assert "~ /port: 2525 → 587" in drift.out
    assert "~ /auth/password: <secret> → <secret idm.email.smtp.password> changed" in drift.out
    assert "changed-in-the-admin-ui" not in drift.out and "EXAMPLE-not" not in drift.out


def test_deliver_to_file_target_and_ledger(example: Path) -> None:
    run = cli("deliver", "prod", cwd=example)
    assert run.code == 0 and "wrote build/prod/conf/external.email.json" in run.out
    entry = json.loads((example / LEDGER).read_text().splitlines()[-1])
    assert entry["action"] == "deliver" and entry["result"] == "delivered"


@pytest.mark.parametrize("fail_at", ["rename", "fsync"])
def test_file_target_is_old_or_new_never_half(example: Path, tmp_path: Path, fail_at: str) -> None:
    assert cli("promote", "dev", "staging", cwd=example).code == 0
    out = example / "build/staging/conf/external.email.json"
    old = out.read_text()
    set_base(example, "threadPoolSize: 9\n")
    hook = tmp_path / "sitecustomize.py"
    target = "os.replace" if fail_at == "rename" else "os.fsync"
    hook.write_text(
        "import os\n"
        f"_real = {target}\n"
        "def _boom(*a, **k):\n"
        "    raise OSError(28, 'No space left on device')\n"
        f"{target} = _boom\n"
    )
    run = cli(
        "promote",
        "dev",
        "staging",
        cwd=example,
        env={"PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"},
    )
    assert run.code == 3, run.err
    assert "No space left on device" in run.err and "Traceback" not in run.err
    assert out.read_text() == old
    leftovers = [p.name for p in out.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_killed_writer_leaves_old_or_new(example: Path) -> None:
    from promoter.files.atomic import write_atomic

    out = example / "target.json"
    write_atomic(out, '{"v": 0}\n' * 1000, secret=False)
    code = (
        "import sys\nfrom pathlib import Path\nfrom promoter.files.atomic import write_atomic\n"
        "i = 1\nwhile True:\n"
        "    write_atomic(Path(sys.argv[1]), ('{\"v\": %d}\\n' % i) * 1000, secret=False)\n"
        "    i += 1\n"
    )
    for _ in range(5):
        proc = subprocess.Popen([sys.executable, "-c", code, str(out)])
        try:
            proc.wait(timeout=0.3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        lines = out.read_text().splitlines()
        assert len(lines) == 1000 and len(set(lines)) == 1


def test_a_rotated_secret_shows_in_the_promotion_diff(example: Path) -> None:
    assert cli("promote", "dev", "staging", cwd=example).code == 0
    (example / "secrets/staging/idm.email.smtp.password").write_text("rotated-value\n")
    run = cli("promote", "dev", "staging", "--dry-run", cwd=example)
    assert "  ~ /auth/password: <secret> → <secret idm.email.smtp.password> changed" in run.out
    assert "rotated-value" not in run.out + run.err


def test_a_damaged_ledger_stops_promotion_before_any_write(example: Path) -> None:
    assert cli("promote", "dev", "staging", cwd=example).code == 0
    with (example / LEDGER).open("a") as handle:
        handle.write("not json\n")
    set_base(example, "threadPoolSize: 9\n")
    pin = (example / PIN).read_text()
    run = cli("promote", "dev", "staging", cwd=example)
    assert run.code == 2
    assert "error: ledger/promotions.jsonl:2:1: not a ledger entry" in run.err
    assert (example / PIN).read_text() == pin


def test_switching_to_references_never_shows_the_old_resolved_values(example: Path) -> None:
    client_id = "00000000-0000-0000-0000-EXAMPLE00000"
    assert cli("promote", "dev", "staging", cwd=example).code == 0
    assert cli("promote", "staging", "prod", cwd=example).code == 0  # resolved values rendered
    text = (example / "promoter.yaml").read_text().replace("render: resolved", "render: references")
    (example / "promoter.yaml").write_text(text)
    runs = [
        cli("promote", "staging", "prod", "--dry-run", cwd=example),
        cli("diff", "prod", cwd=example),
    ]
    for run in runs:
        assert run.code == 0, run.err
        assert "/auth/clientId: <secret>" in run.out
        assert client_id not in run.out + run.err and "EXAMPLE-not-a-real" not in run.out


def test_promotion_writes_its_files_with_their_modes_whatever_the_umask(example: Path) -> None:
    """IDM may run as another user: the pin and a secret-free output stay world-readable
    under a strict umask, and an output holding secrets stays owner-only under a loose one."""
    import os
    import stat

    previous = os.umask(0o077)
    try:
        assert cli("promote", "dev", "staging", cwd=example).code == 0
    finally:
        os.umask(previous)
    pin = example / "environments" / "staging.pin.yaml"
    output = example / "build" / "staging" / "conf" / "external.email.json"
    assert stat.S_IMODE(pin.stat().st_mode) == 0o644
    assert stat.S_IMODE(output.stat().st_mode) == 0o600  # it holds the resolved password
