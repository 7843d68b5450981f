"""The CLI habits a newcomer expects (issue 13): repo discovery, -o -, pipes, help, flags."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BIN, cli

PROD_SECRET = "EXAMPLE-not-a-real-client-secret"


def test_check_in_an_empty_directory_is_not_a_config_repo(tmp_path: Path) -> None:
    run = cli("check", cwd=tmp_path)
    assert run.code == 2
    assert run.err == (
        "error: not a config repo (no environments/ here or above) "
        "(hint: run it in a config repo, pass -C DIR, or create one with 'promoter init')\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_missing_dash_c_directory_is_a_usage_error(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent"
    run = cli("-C", str(missing), "check", cwd=tmp_path)
    assert run.code == 2
    assert run.err.startswith(f"error: -C {missing}: no such directory")
    assert not missing.exists()


def test_the_repo_is_found_upward_from_a_subdirectory(example: Path) -> None:
    run = cli("check", "--no-cache", cwd=example / "environments")
    assert run.code == 0, run.err
    assert run.out.splitlines()[-1].startswith("3 environments checked")
    assert not (example / "environments" / "build").exists()


def test_global_flags_are_accepted_after_the_subcommand(example: Path, tmp_path: Path) -> None:
    run = cli("check", "-C", str(example), "--debug", "dev", cwd=tmp_path)
    assert run.code == 0, run.err
    assert "dev (development): ok" in run.out


def test_did_you_mean_for_a_mistyped_subcommand(tmp_path: Path) -> None:
    run = cli("chek", cwd=tmp_path)
    assert run.code == 2
    assert run.err.startswith("error: unknown command 'chek'")
    assert run.err.rstrip().endswith("(hint: did you mean 'check'?)")


def test_version(tmp_path: Path) -> None:
    run = cli("--version", cwd=tmp_path)
    assert run.code == 0 and run.out == "promoter 0.1.0\n"


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        ("watch", ["--debounce-ms N       wait after a change (default: 200)", "(default: 300)"]),
        ("dev-smtp", ["(default: 127.0.0.1:2525)"]),
        ("verify", ["(default: direct)"]),
        ("promote", ["(default: 10.0)"]),
    ],
)
def test_help_shows_defaults(command: str, shown: list[str], tmp_path: Path) -> None:
    run = cli(command, "--help", cwd=tmp_path)
    assert run.code == 0
    for text in shown:
        assert text in " ".join(run.out.split()) or text in run.out


def test_every_subcommand_help_has_a_description_and_its_exit_codes(tmp_path: Path) -> None:
    from promoter.cli.parser import build_parser

    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    names = sorted(subparsers.choices)  # type: ignore[union-attr]
    assert {"check", "compile", "promote", "watch", "dev-smtp"} <= set(names)
    for name in names:
        run = cli(name, "--help", cwd=tmp_path)
        assert run.code == 0, name
        description = run.out.split("\n\n")[1]
        assert description.strip().endswith("."), (name, description)
        assert "\nexit codes: 0 " in run.out or "\nexit codes: --once: 0" in run.out, name


def test_a_closed_pipe_exits_quietly(tmp_path: Path, example: Path) -> None:
    for args, cwd in ((["schema"], tmp_path), (["check", "--format", "json"], example)):
        exe = BIN / "promoter"
        with subprocess.Popen(
            [str(exe), *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        ) as proc:
            assert proc.stdout is not None and proc.stderr is not None
            assert proc.stdout.read(1)
            proc.stdout.close()  # what `| head -c1` does
            err = proc.stderr.read().decode()
            code = proc.wait(timeout=60)
        assert err == "", args
        assert code in (0, 141), (args, code)


def test_compile_dash_o_dash_is_stdout_not_a_file(example: Path) -> None:
    run = cli("compile", "prod", "-o", "-", cwd=example)
    assert run.code == 0, run.err
    assert json.loads(run.out)["auth"]["clientSecret"] == PROD_SECRET
    assert not (example / "-").exists()
    assert PROD_SECRET not in run.err


def test_compile_dash_o_dash_refuses_a_terminal(example: Path) -> None:
    script = shutil.which("script")
    if script is None:
        pytest.skip("util-linux script(1) gives the command a terminal")
    command = f"{BIN / 'promoter'} compile prod -o -"
    proc = subprocess.run(
        [script, "-qec", command, "/dev/null"],
        cwd=example,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode == 2
    assert "error: -o - prints the resolved secrets to this terminal; refused" in proc.stdout
    assert PROD_SECRET not in proc.stdout + proc.stderr


def test_compile_without_the_prod_store_previews_masked(example: Path) -> None:
    shutil.rmtree(example / "secrets" / "prod")
    run = cli("compile", "prod", cwd=example)
    assert run.code == 0, run.err
    assert json.loads(run.out)["type"] == "msgraph"
    assert "warn EMAIL009 [prod]" in run.err
    written = cli("compile", "prod", "-o", "out.json", cwd=example)
    assert written.code == 1
    assert "deny EMAIL009 [prod]" in written.err
    assert not (example / "out.json").exists()


GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@e",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@e",
}


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
    )
    return proc.stdout


def test_a_promotion_with_no_change_writes_nothing(example: Path) -> None:
    _git(example, "init", "-q")
    _git(example, "add", "-A")
    _git(example, "commit", "-qm", "initial")
    first = cli("promote", "dev", "staging", "--commit", cwd=example, env=GIT_ENV)
    assert first.code == 0, first.err
    pin = first.out.splitlines()[-1].split(", pin ")[1].split()[0]
    ledger = (example / "ledger/promotions.jsonl").read_text()
    commits = _git(example, "rev-list", "--count", "HEAD")
    again = cli("promote", "dev", "staging", "--commit", cwd=example, env=GIT_ENV)
    assert again.code == 0, again.err
    assert again.out == f"staging already holds pin {pin}; nothing to promote\n"
    assert (example / "ledger/promotions.jsonl").read_text() == ledger
    assert _git(example, "rev-list", "--count", "HEAD") == commits


def test_rollback_success_line_names_the_environment_once(example: Path) -> None:
    assert cli("promote", "dev", "staging", cwd=example).code == 0
    base = example / "environments/base.yaml"
    base.write_text(base.read_text().replace("threadPoolSize: 20", "threadPoolSize: 9"))
    assert cli("promote", "dev", "staging", cwd=example).code == 0
    run = cli("rollback", "staging", cwd=example)
    assert run.code == 0, run.err
    last = run.out.splitlines()[-1]
    assert last.startswith("rolled back staging: build/staging/conf/external.email.json sha256")
    assert "rollback staging" not in last


def test_a_first_dry_run_cites_files_that_exist(example: Path) -> None:
    run = cli("promote", "dev", "staging", "--dry-run", cwd=example)
    assert run.code == 0, run.err
    cited = re.findall(r"\(([^()\s]+):(\d+):\d+\)", run.out)
    assert cited, run.out
    assert "environments/base.yaml" in {file for file, _ in cited}
    for file, line in cited:
        lines = (example / file).read_text().splitlines()
        assert int(line) <= len(lines), (file, line)
    assert not (example / "environments/staging.pin.yaml").exists()


def test_verify_refuses_a_recipient_that_is_not_an_address(example: Path) -> None:
    run = cli("verify", "dev", "--to", "not-an-address", cwd=example)
    assert run.code == 2
    assert run.err == (
        "error: --to not-an-address: not an email address "
        "(hint: write the recipient as local@domain, e.g. me@example.com)\n"
    )
    assert not (example / "ledger").exists()


def test_watch_once_names_an_unreachable_token_endpoint_without_waiting(example: Path) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing answers there
    url = f"https://127.0.0.1:{port}/tenant/oauth2/v2.0/token"
    overlay = example / "environments/prod.yaml"
    overlay.write_text(re.sub(r"tokenEndpoint: \S+", f"tokenEndpoint: {url}", overlay.read_text()))
    # an hour of patience: were it spent on a host that does not answer, cli()'s timeout fails
    run = cli("watch", "prod", "--once", "--probe-patience-s", "3600", cwd=example)
    assert run.code == 1
    record = json.loads(run.err.splitlines()[-1])
    assert record["result"] == "probe-failed"
    assert record["message"] == (
        f"kept last known good: probe failed: cannot reach the token endpoint {url}: ConnectError"
    )
    assert PROD_SECRET not in run.out + run.err


STAGING_SECRET = "EXAMPLE-not-a-real-staging-password"


def test_promote_format_json(example: Path) -> None:
    dry = cli("promote", "dev", "staging", "--dry-run", "--format", "json", cwd=example)
    assert dry.code == 0, dry.err
    document = json.loads(dry.out)
    assert (document["action"], document["env"], document["source"]) == (
        "promote",
        "staging",
        "dev",
    )
    assert document["result"] == "dry-run" and document["written"] is False
    host = next(c for c in document["changes"] if c["pointer"] == "/host")
    assert host == {
        "change": "added",
        "pointer": "/host",
        "old": None,
        "new": '"smtp.staging.example.com"',
        "location": "environments/staging.yaml:5:1",
    }
    password = next(c for c in document["changes"] if c["pointer"] == "/auth/password")
    assert password["new"] == "<secret idm.email.smtp.password>"
    assert STAGING_SECRET not in dry.out + dry.err
    done = json.loads(cli("promote", "dev", "staging", "--format", "json", cwd=example).out)
    assert done["result"] == "promoted" and done["written"] is True
    again = json.loads(cli("promote", "dev", "staging", "--format", "json", cwd=example).out)
    assert again["result"] == "unchanged" and again["changes"] == []


def test_promote_format_json_refused_early_is_still_one_document(example: Path) -> None:
    """Scripts read stdout: a refusal before anything is compiled prints the document too."""
    skip = cli("promote", "dev", "prod", "--format", "json", cwd=example)
    assert skip.code == 1 and "refused: dev → prod" in skip.err
    document = json.loads(skip.out)
    assert (document["result"], document["reason"], document["written"]) == (
        "refused",
        "not-next-stage",
        False,
    )
    assert [f["rule"] for f in document["findings"]] == ["EMAIL013"]
    (example / "environments" / "dev.yaml").write_text("host: ''\n")  # AIC's built-in SMTP
    (example / "promoter.yaml").write_text(
        "order: [dev, staging, prod]\nenvironments:\n  dev: {tier: production}\n"
    )
    gated = cli("promote", "dev", "staging", "--format", "json", cwd=example)
    assert gated.code == 1 and "dev does not pass its own gates" in gated.err
    document = json.loads(gated.out)
    assert (document["env"], document["source"], document["reason"]) == (
        "staging",
        "dev",
        "source-gates",
    )
    assert [f["rule"] for f in document["findings"]] == ["EMAIL001"]
    assert STAGING_SECRET not in gated.out + gated.err


def test_promote_format_json_unverified_source(example: Path) -> None:
    (example / "promoter.yaml").write_text(
        "order: [dev, staging, prod]\nenvironments:\n  staging: {requireVerified: true}\n"
    )
    assert cli("promote", "dev", "staging", cwd=example).code == 0
    refused = cli("promote", "staging", "prod", "--format", "json", cwd=example)
    assert refused.code == 1 and "no successful verification" in refused.err
    document = json.loads(refused.out)
    assert (document["result"], document["reason"], document["findings"]) == (
        "refused",
        "not-verified",
        [],
    )
    assert not (example / "environments" / "prod.pin.yaml").exists()


def test_diff_format_json(example: Path) -> None:
    assert cli("promote", "dev", "staging", cwd=example).code == 0
    out = example / "build/staging/conf/external.email.json"
    data = json.loads(out.read_text())
    data["port"] = 25
    out.write_text(json.dumps(data))
    run = cli("diff", "staging", "--format", "json", "--exit-code", cwd=example)
    assert run.code == 1
    document = json.loads(run.out)
    assert document["differs"] is True
    assert document["changes"] == [
        {
            "change": "changed",
            "pointer": "/port",
            "old": "25",
            "new": "587",
            "location": "environments/staging.yaml:6:1",
        }
    ]
    assert STAGING_SECRET not in run.out + run.err


def test_history_spells_out_its_gate_summary(example: Path) -> None:
    assert cli("promote", "dev", "staging", cwd=example).code == 0
    run = cli("history", "staging", cwd=example)
    assert run.code == 0
    header, row = run.out.splitlines()
    assert "gates" in header
    columns = re.split(r"\s{2,}", row.strip())
    assert re.split(r"\s{2,}", header.strip())[6] == "gates"
    assert columns[6] == "no findings", row
    assert columns[7] == "promoted"


def _on_a_terminal(repo: Path, command: str, env: dict[str, str]) -> str:
    script = shutil.which("script")
    if script is None:
        pytest.skip("util-linux script(1) gives the command a terminal")
    proc = subprocess.run(
        [script, "-qec", f"{BIN / 'promoter'} {command}", "/dev/null"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TERM": "xterm", **env},
    )
    return proc.stdout


def _warn_in_dev(example: Path) -> None:
    overlay = example / "environments/dev.yaml"
    overlay.write_text(
        overlay.read_text()
        + "host: relay.example.com\nsmtpProperties:\n  mail.smtp.ssl.protocols: TLSv1\n"
    )


def test_colour_on_a_terminal_only(example: Path) -> None:
    _warn_in_dev(example)
    coloured = _on_a_terminal(example, "check dev", {"NO_COLOR": ""})  # recorded in the cache
    assert "\033[33mwarn\033[0m EMAIL003" in coloured, coloured
    assert "\033[31mdeny\033[0m EMAIL004" in coloured, coloured
    plain = _on_a_terminal(example, "check --no-cache dev", {"NO_COLOR": "1"})
    assert "warn EMAIL003" in plain and "deny EMAIL004" in plain and "\033[" not in plain
    piped = cli("check", "dev", cwd=example)  # replayed from the cache: still plain
    assert "deny EMAIL004" in piped.out and "\033[" not in piped.out


def test_findings_are_sorted_by_file_and_line(example: Path) -> None:
    overlay = example / "environments/staging.yaml"
    overlay.write_text(overlay.read_text().replace("port: 587", "port: 25") + "debug: true\n")
    base = example / "environments/base.yaml"
    base.write_text(base.read_text().replace("timeout: 30000", "timeout: 0"))
    run = cli("check", "--no-cache", "staging", cwd=example)
    cited = re.findall(r"^  (environments/[\w.]+):(\d+):(\d+): ", run.out, re.M)
    assert len(cited) >= 3, run.out
    assert cited == sorted(cited, key=lambda c: (c[0], int(c[1]), int(c[2])))
