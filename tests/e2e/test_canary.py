"""A random canary in every secret: it may appear only in resolved output files (mode 0600).

Each scenario plants the canary in every secret of every store of a copy of the
example (staging's SMTP password, prod's msgraph clientId and clientSecret; plain,
base64 and versionSuffix stores) and as a literal password in dev.yaml, runs the
commands through the real console scripts, and asserts that no stdout or stderr holds
the canary in any form (plain, hex halves, base64 at any alignment, sha256) and that
every file the commands created or changed under the repo (secrets/ aside) is free of
it, except the resolved outputs written by `compile -o` and `promote`, which must be
mode 0600. The failure scenarios make the secrets fail to resolve, or refuse the
config right next to resolved secrets.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import stat
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest

from tests.conftest import Run, cli

FORMATS = ("text", "json", "sarif", "github")
PW = "secrets/staging/idm.email.smtp.password"
CREDS = "secrets/prod/idm.email.msgraph.credentials"
STAGING_OUT = "build/staging/conf/external.email.json"
PROD_OUT = "build/prod/conf/external.email.json"
CHECK_CACHE = "build/.promoter/check-cache.json"

DEV_TEXT = """\
type: smtp
auth:
  enable: true
  username: dev-user
  password: {LITERAL}
"""
STAGING_TEXT = """\
type: smtp
host: smtp.staging.example.com
port: 587
auth:
  enable: true
  username: idm-mailer
  password: {$purpose: {name: idm.email.smtp.password}}
starttls:
  enable: true
smtpProperties:
  mail.smtp.ssl.protocols: TLSv1.2 TLSv1.3
  mail.smtp.starttls.required: true
"""
PROD_TEXT = """\
type: msgraph
mailEndpoint: https://graph.microsoft.com/v1.0/users/noreply@example.onmicrosoft.com/sendMail
from: noreply@example.onmicrosoft.com
auth:
  enable: true
  type: oauth2
  clientId: {$purpose: {name: idm.email.msgraph.credentials, jsonPointer: clientId}}
  clientSecret: {$purpose: {name: idm.email.msgraph.credentials, jsonPointer: /clientSecret}}
  tokenEndpoint: https://login.microsoftonline.com/example.onmicrosoft.com/oauth2/v2.0/token
  scope: ['https://graph.microsoft.com/.default']
"""


@dataclass
class Repo:
    """A copy of the example, its canary, and every secret value planted in it."""

    path: Path
    canary: str
    planted: list[str]

    def write(self, name: str, text: str) -> None:
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    def secret(self, suffix: str) -> str:
        value = self.canary + suffix
        self.planted.append(value)
        return value

    def creds(self, suffix: str = "") -> str:
        return json.dumps(
            {"clientId": self.secret(f"-id{suffix}"), "clientSecret": self.secret(f"-cs{suffix}")}
        )

    def project(self, extra: dict[str, tuple[str, str]]) -> None:
        """promoter.yaml: the three stages, plus ``extra`` envs (name -> tier, secrets)."""
        lines = [
            "order: [dev, staging, prod]",
            "environments:",
            "  dev: {tier: development}",
            "  staging: {tier: staging, secrets: secrets/staging}",
            "  prod:",
            "    tier: production",
            "    secrets: {directory: secrets/prod, format: plain}",
            "    render: resolved",
        ]
        lines += [
            f"  {name}: {{tier: {tier}, secrets: {store}}}" for name, (tier, store) in extra.items()
        ]
        self.write("promoter.yaml", "\n".join(lines) + "\n")


def plant_stores(repo: Repo) -> None:
    """The canary in every secret of plain, base64 and versioned stores, and in dev.yaml."""
    repo.project(
        {
            "staging64": ("staging", "{directory: secrets/staging64, format: base64}"),
            "prodv": ("production", "{directory: secrets/prodv, versionSuffix: .v}"),
        }
    )
    repo.write("environments/dev.yaml", DEV_TEXT.format(LITERAL=repo.secret("-dev")))
    repo.write("environments/staging.yaml", STAGING_TEXT)
    repo.write("environments/staging64.yaml", STAGING_TEXT)
    repo.write("environments/prod.yaml", PROD_TEXT)
    repo.write("environments/prodv.yaml", PROD_TEXT)
    repo.write(PW, repo.secret("-pw") + "\n")
    repo.write(CREDS, repo.creds())
    encoded = base64.b64encode(repo.secret("-pw64").encode()).decode()
    repo.write("secrets/staging64/idm.email.smtp.password", encoded + "\n")
    repo.write("secrets/prodv/idm.email.msgraph.credentials.v1", repo.creds("-v1"))
    repo.write("secrets/prodv/idm.email.msgraph.credentials.v2", repo.creds("-v2"))


def rotate_staging_password(repo: Repo) -> None:
    """A rotation: the next diff and promotion see a changed secret."""
    repo.write(PW, repo.secret("-rotated") + "\n")


def plant_failures(repo: Repo) -> None:
    """Each env fails in its own way next to (or inside) a secret holding the canary.

    staging: a deny gate (EMAIL004) with its password resolved · prod: clientId resolves,
    clientSecret's jsonPointer does not · devx: a model error next to a literal password ·
    b64bad: a base64 store holding garbage · jsonbad: a secret that is invalid JSON ·
    modelerr: a model error next to resolvable secrets.
    """
    repo.project(
        {
            "devx": ("development", "secrets/devx"),
            "b64bad": ("staging", "{directory: secrets/b64bad, format: base64}"),
            "jsonbad": ("production", "secrets/jsonbad"),
            "modelerr": ("production", "secrets/modelerr"),
        }
    )
    repo.write("environments/dev.yaml", "type: smtp\nauth: {enable: false}\n")
    repo.write("environments/staging.yaml", STAGING_TEXT.replace("TLSv1.2 TLSv1.3", "TLSv1"))
    repo.write(PW, repo.secret("-pw") + "\n")
    repo.write("environments/prod.yaml", PROD_TEXT)
    repo.write(CREDS, json.dumps({"clientId": repo.secret("-id-only")}))
    literal = DEV_TEXT.format(LITERAL=repo.secret("-devx"))
    repo.write("environments/devx.yaml", literal + "from: nobody\n")
    repo.write("environments/b64bad.yaml", STAGING_TEXT)
    repo.write("secrets/b64bad/idm.email.smtp.password", repo.secret("!!not-base64") + "\n")
    repo.write("environments/jsonbad.yaml", PROD_TEXT)
    truncated = '{"clientId": "' + repo.secret("-id") + '", "clientSecret": "' + repo.canary
    repo.write("secrets/jsonbad/idm.email.msgraph.credentials", truncated)
    repo.write("environments/modelerr.yaml", PROD_TEXT + "threadPoolSize: 0\n")
    repo.write("secrets/modelerr/idm.email.msgraph.credentials", repo.creds("-m"))


Command = tuple[str, ...]  # ("promote", SRC, DST, ...) runs the promote script


@dataclass(frozen=True)
class Scenario:
    id: str
    plant: Callable[[Repo], None]
    phases: tuple[tuple[Command, ...], ...]  # the commands of one phase run concurrently
    holders: frozenset[str]  # the files (repo-relative) that end up holding the canary
    codes: dict[Command, int]  # the exit code of each command
    before_last: Callable[[Repo], None] | None = None  # changes made before the last phase
    scanned: frozenset[str] = frozenset({CHECK_CACHE})  # created files the scan must cover


def checks(*extra: str) -> tuple[Command, ...]:
    return tuple(("check", "--format", f, *extra) for f in FORMATS)


def to_file(env: str) -> Command:
    return ("compile", env, "-o", f"out/{env}.json")


REQUIRE = "--require-secrets"  # every format runs with it in one scenario, without in the other
PROMOTE_STAGING: Command = ("promote", "dev", "staging")
PROMOTE_PROD: Command = ("promote", "staging", "prod")
FAILING = ("staging", "b64bad", "jsonbad")  # compile -o; check covers every env

SCENARIOS = [
    Scenario(
        "every store and a literal",
        plant_stores,
        (
            (
                *checks(),
                ("compile", "dev"),
                ("compile", "staging"),
                ("compile", "prod"),
                to_file("dev"),
                to_file("staging64"),
                to_file("prodv"),
                ("promote", "dev", "staging", "--dry-run"),
            ),
            (PROMOTE_STAGING,),
            (PROMOTE_PROD,),
            (
                ("diff", "staging"),
                ("promote", "dev", "staging", "--yes"),  # --yes: only to tell it from the first
            ),
        ),
        frozenset(
            {
                "out/dev.json",
                "out/staging64.json",
                "out/prodv.json",
                STAGING_OUT,
                STAGING_OUT + ".bak",  # the second promotion keeps the previous output
                PROD_OUT,
            }
        ),
        {
            **{c: 0 for c in checks()},
            **{("compile", e): 0 for e in ("dev", "staging", "prod")},
            **{to_file(e): 0 for e in ("dev", "staging64", "prodv")},
            ("promote", "dev", "staging", "--dry-run"): 0,
            PROMOTE_STAGING: 0,
            PROMOTE_PROD: 0,
            ("diff", "staging"): 0,
            ("promote", "dev", "staging", "--yes"): 0,
        },
        rotate_staging_password,
        frozenset(
            {
                CHECK_CACHE,
                "ledger/promotions.jsonl",
                "environments/staging.pin.yaml",
                "environments/prod.pin.yaml",
            }
        ),
    ),
    Scenario(
        "failures next to secrets",
        plant_failures,
        ((*checks(REQUIRE), *(to_file(e) for e in FAILING), PROMOTE_STAGING, PROMOTE_PROD),),
        frozenset(),
        {
            **{c: 1 for c in checks(REQUIRE)},
            **{to_file(e): 1 for e in FAILING},
            PROMOTE_STAGING: 1,
            PROMOTE_PROD: 1,
        },
    ),
]


def leak_forms(canary: str, values: Iterable[str]) -> set[str]:
    """Ways a secret could show: the canary, its hex halves, base64 at any alignment, sha256."""
    token = canary.removeprefix("canary-")
    forms = {canary, token[:16], token[16:], canary.encode().hex()}
    for value in {canary, *values}:
        raw = value.encode()
        for pad in range(3):
            encoded = base64.b64encode(b"\0" * pad + raw).decode()
            skip = -(-pad * 8 // 6)  # characters that carry bits of the padding bytes
            forms.add(encoded[skip:-4])  # the tail depends on what follows the secret
        forms.add(hashlib.sha256(raw).hexdigest())
    return forms


def run_command(repo: Path, command: Command) -> Run:
    if command[0] == "promote":
        return cli(*command[1:], cwd=repo, script="promote")
    return cli(*command, cwd=repo)


def files_of(repo: Path) -> dict[str, bytes]:
    """Regular files under ``repo`` outside secrets/, by repo-relative path."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(repo):
        if Path(dirpath) == repo:
            dirnames[:] = [d for d in dirnames if d != "secrets"]
        for name in filenames:
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                out[path.relative_to(repo).as_posix()] = path.read_bytes()
    return out


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_the_canary_stays_in_resolved_outputs(example: Path, scenario: Scenario) -> None:
    repo = Repo(example, "canary-" + secrets.token_hex(16), [])
    scenario.plant(repo)
    authored = files_of(example)
    results: list[tuple[Command, Run]] = []
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for index, phase in enumerate(scenario.phases):
            if scenario.before_last and index == len(scenario.phases) - 1:
                scenario.before_last(repo)
            runs = pool.map(partial(run_command, example), phase)
            results.extend(zip(phase, runs, strict=True))

    forms = leak_forms(repo.canary, repo.planted)
    for command, run in results:
        shown = f"{' '.join(command)} -> exit {run.code}\n{run.out}{run.err}"
        assert "Traceback" not in run.out + run.err, shown
        assert "internal error" not in run.err, shown
        for form in forms:
            assert form not in run.out and form not in run.err, (form, shown)
    assert {c: r.code for c, r in results} == scenario.codes, results

    created = {
        name: content
        for name, content in files_of(example).items()
        if authored.get(name) != content
    }
    assert scenario.scanned <= set(created), sorted(created)
    holders = set()
    for name, content in created.items():
        if repo.canary.encode() in content:
            holders.add(name)
            mode = stat.S_IMODE((example / name).stat().st_mode)
            assert mode == 0o600, f"{name} holds resolved secrets with mode {mode:o}"
        else:
            for form in forms:
                assert form.encode() not in content, (name, form)
    assert holders == scenario.holders
    for name in holders:  # resolved: the real values, not labels or references
        text = created[name].decode()
        assert "<secret" not in text and "$purpose" not in text, name
        assert repo.canary + "-id-v1" not in text, name  # the versioned store's older version
    if STAGING_OUT + ".bak" in holders:  # rotated between the two promotions
        assert repo.canary + "-rotated" in created[STAGING_OUT].decode()
        assert repo.canary + '-pw"' in created[STAGING_OUT + ".bak"].decode()


def test_reprs_of_objects_holding_secrets_show_none(example: Path) -> None:
    """A repr reaches tracebacks and test failure output: none may carry a secret value."""
    from promoter.check.compiler import Compiler
    from promoter.net.tokens import TokenProvider
    from promoter.project.auth import OAuth2Auth
    from promoter.project.load import load_project

    canary = f"repr-canary-{secrets.token_hex(8)}"
    (example / "secrets" / "staging" / "idm.email.smtp.password").write_text(canary + "\n")
    compiled = Compiler(load_project(example)).compile("staging")
    assert compiled.text is not None and canary in compiled.text  # it is in there
    config = compiled.resolved_config()
    provider = TokenProvider(
        OAuth2Auth("https://am.example.com/token", "ID_ENV", "SECRET_ENV", ("fr:idm:*",)),
        {"ID_ENV": "client", "SECRET_ENV": canary},
    )
    for shown in (repr(compiled), repr(config), repr(config.auth), repr(provider)):
        assert canary not in shown
