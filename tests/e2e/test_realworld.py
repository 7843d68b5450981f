"""Real-world external.email.json shapes (tests/realworld/) copied in as overlays.

Each file is compiled for dev, staging and prod; its verdict per tier and the
round trip (compiled output == the file less ``_id``/``_rev``) are checked.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from promoter.check.compiler import Compiled, Compiler
from promoter.files.yamlfile import load_yaml
from promoter.project.load import load_project
from tests.conftest import cli, write

CORPUS = Path(__file__).resolve().parents[1] / "realworld"
CASES: dict[str, dict[str, Any]] = load_yaml(CORPUS / "cases.yaml", "cases.yaml").data
TIERS = ("dev", "staging", "prod")
FAKE_PASSWORD = "realworld-canary-7f3a9c"


def repo_for(tmp_path: Path, name: str, *, render: str = "resolved") -> Path:
    case = CASES[name]
    root = tmp_path / "repo"
    shutil.copy(CORPUS / name, write(root / "environments" / name, ""))
    declared = {"esvs": case.get("esvs", []), "properties": case.get("properties", [])}
    envs = {env: {"overlay": f"environments/{name}", "render": render, **declared} for env in TIERS}
    write(root / "promoter.yaml", json.dumps({"order": list(TIERS), "environments": envs}))
    for env in TIERS:
        write(root / "secrets" / env / "idm.email.smtp.password", FAKE_PASSWORD)
    return root


def compile_all(root: Path) -> dict[str, Compiled]:
    compiler = Compiler(load_project(root))
    return {env: compiler.compile(env) for env in TIERS}


def test_the_corpus_is_large_enough_and_every_file_has_a_verdict() -> None:
    files = sorted(p.name for p in CORPUS.glob("*.json"))
    assert len(files) >= 20
    assert files == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_verdict_per_tier(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    compiled = compile_all(repo_for(tmp_path, name))
    for env in TIERS:
        findings = compiled[env].findings
        denies = sorted({f.rule for f in findings if f.blocking})
        expected = [] if case[env] == "pass" else sorted(case[env])
        assert denies == expected, (env, [f.message for f in findings])
        if "warn" in case:
            warns = sorted({f.rule for f in findings if f.severity == "warn"})
            assert set(case["warn"]) <= set(warns), (env, warns)


@pytest.mark.parametrize("name", sorted(n for n in CASES if CASES[n]["dev"] != ["CONFIG"]))
def test_compile_gives_the_file_back_less_id_and_rev(tmp_path: Path, name: str) -> None:
    compiled = compile_all(repo_for(tmp_path, name, render="references"))["dev"]
    authored = json.loads((CORPUS / name).read_text())
    authored.pop("_id", None)
    authored.pop("_rev", None)
    assert compiled.output == authored
    assert compiled.text is not None and json.loads(compiled.text) == authored


def test_the_pre_2015_flat_format_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    root = repo_for(tmp_path, "pre-2015-flat-keys.json")
    run = cli("check", "staging", cwd=root)
    assert run.code == 1
    assert (
        "environments/pre-2015-flat-keys.json:2:3: deny CONFIG 'mail.smtp.host' is a top-level "
        "JavaMail key: this is the pre-2015 flat format, which IDM no longer reads"
    ) in run.out
    assert "hint: write host, port, auth, starttls and ssl as properties" in run.out


def test_aic_default_relay_message_says_what_the_built_in_server_cannot_do(
    tmp_path: Path,
) -> None:
    run = cli("check", "prod", cwd=repo_for(tmp_path, "aic-default-relay.json"))
    assert run.code == 1
    assert (
        "environments/aic-default-relay.json:11:3: deny EMAIL001 built-in SMTP: host is AIC's "
        "own &{aic.smtp.relay.host}, so AIC sends through "
        "its built-in server, which is for testing only: at most 10 messages a minute, always "
        "sent as noreply@<tenant-fqdn>, no non-ASCII addresses, and no OTP email nodes"
    ) in run.out
    assert cli("check", "dev", cwd=repo_for(tmp_path / "d", "aic-default-relay.json")).code == 0


def test_resolved_output_of_an_export_keeps_placeholders_and_drops_id(tmp_path: Path) -> None:
    root = repo_for(tmp_path, "crypto-idm7-password.json")
    run = cli("compile", "prod", "-o", "out.json", cwd=root)
    assert run.code == 0, run.err
    out = json.loads((root / "out.json").read_text())
    assert "_id" not in out and "_rev" not in out
    assert out["auth"]["password"]["$crypto"]["value"]["stableId"] == "openidm-sym-default"
    assert FAKE_PASSWORD not in run.out + run.err
