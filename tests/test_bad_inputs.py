"""A corpus of bad inputs: each gets its exit code, a located one-line error, no traceback,
and no output file written."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import cli

STAGING = "environments/staging.yaml"
PROD = "environments/prod.yaml"
DEV = "environments/dev.yaml"
CREDS = "secrets/prod/idm.email.msgraph.credentials"
SMTP_OK = "host: smtp.example.com\nfrom: a@example.com\nauth: {enable: false}\n"
GRAPH_HEAD = (
    "type: msgraph\nmailEndpoint: https://g/sendMail\nfrom: a@example.com\n"
    "auth:\n  type: oauth2\n  tokenEndpoint: https://t/token\n"
    "  scope: ['https://graph.microsoft.com/.default']\n"
)


@dataclass(frozen=True)
class Case:
    id: str
    files: dict[str, str | bytes | None]
    env: str
    code: int
    expect: str  # must appear in stderr or stdout
    extra: tuple[str, ...] = field(default=())


CASES = [
    Case(
        "unclosed flow",
        {DEV: "auth: {enable: false\n"},
        "dev",
        2,
        "environments/dev.yaml:2:1: invalid YAML",
    ),
    Case(
        "bad indentation",
        {DEV: "auth:\n  enable: false\n enable: true\n"},
        "dev",
        2,
        "environments/dev.yaml:3:2: invalid YAML",
    ),
    Case(
        "duplicate key",
        {DEV: "auth: {enable: false}\nauth: {enable: true}\n"},
        "dev",
        2,
        "environments/dev.yaml:2:1: duplicate key 'auth' (hint: first defined at line 1)",
    ),
    Case(
        "tab",
        {DEV: "auth:\n\tenable: false\n"},
        "dev",
        2,
        "environments/dev.yaml:2:1: tab character (hint: indent with spaces)",
    ),
    Case(
        "not utf-8",
        {DEV: b"from: caf\xe9@example.com\nauth: {enable: false}\n"},
        "dev",
        2,
        "environments/dev.yaml:1:10: not valid UTF-8",
    ),
    Case(
        "two documents",
        {DEV: "auth: {enable: false}\n---\nhost: x\n"},
        "dev",
        2,
        "environments/dev.yaml:2:1: invalid YAML: more than one YAML document",
    ),
    Case(
        "alias bomb",
        {
            DEV: "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
                for p, c in zip("abcdefg", "bcdefgh", strict=True)
            )
        },
        "dev",
        2,
        "environments/dev.yaml:4:1: YAML aliases expand beyond 10,000 values",
    ),
    Case("recursive alias", {DEV: "a: &a [*a]\n"}, "dev", 2, "environments/dev.yaml:1:"),
    Case(
        "overlay is a list",
        {DEV: "- host: x\n"},
        "dev",
        2,
        "environments/dev.yaml:1:1: an overlay must be a mapping",
    ),
    Case(
        "overlay is a scalar",
        {DEV: "hello\n"},
        "dev",
        2,
        "environments/dev.yaml:1:1: an overlay must be a mapping",
    ),
    Case(
        "unknown top-level property",
        {DEV: "auth: {enable: false}\nhots: x\n"},
        "dev",
        1,
        "environments/dev.yaml:2:1: deny CONFIG [dev] unknown property 'hots' "
        "(hint: did you mean 'host'?)",
    ),
    Case(
        "unknown auth property",
        {DEV: "auth:\n  enable: true\n  pasword: x\n"},
        "dev",
        1,
        "environments/dev.yaml:3:3: deny CONFIG [dev] unknown property 'pasword'",
    ),
    Case(
        "unknown starttls property",
        {STAGING: SMTP_OK + "starttls: {enabled: true}\n"},
        "staging",
        1,
        "did you mean 'enable'?",
    ),
    Case(
        "unknown $purpose property",
        {
            PROD: GRAPH_HEAD + "  clientId: x\n  clientSecret: "
            "{$purpose: {name: c, jsonpointer: x}}\n"
        },
        "prod",
        1,
        "unknown property 'jsonpointer' (hint: did you mean 'jsonPointer'?)",
    ),
    Case(
        "port as string",
        {STAGING: SMTP_OK + "port: '587'\n"},
        "staging",
        1,
        "environments/staging.yaml:4:1: deny CONFIG [staging] should be a valid integer",
    ),
    Case(
        "enable as yes",
        {DEV: "auth: {enable: yes}\n"},
        "dev",
        1,
        "environments/dev.yaml:1:8: deny CONFIG [dev] should be a valid boolean",
    ),
    Case(
        "scope as a string",
        {
            PROD: GRAPH_HEAD.replace(
                "  scope: ['https://graph.microsoft.com/.default']\n", "  scope: openid\n"
            )
            + "  clientId: x\n  clientSecret: y\n"
        },
        "prod",
        1,
        "should be a valid list",
    ),
    Case(
        "unknown type",
        {DEV: "type: sendgrid\nauth: {enable: false}\n"},
        "dev",
        1,
        "environments/dev.yaml:1:1: deny CONFIG [dev] 'type' must be 'smtp' or 'msgraph'",
    ),
    Case(
        "msgraph without mailEndpoint",
        {
            PROD: GRAPH_HEAD.replace("mailEndpoint: https://g/sendMail\n", "")
            + "  clientId: x\n  clientSecret: y\n"
        },
        "prod",
        1,
        "missing required property 'mailEndpoint'",
    ),
    Case(
        "msgraph without tokenEndpoint",
        {
            PROD: GRAPH_HEAD.replace("  tokenEndpoint: https://t/token\n", "")
            + "  clientId: x\n  clientSecret: y\n"
        },
        "prod",
        1,
        "environments/prod.yaml:4:1: deny CONFIG [prod] missing required property 'tokenEndpoint'",
    ),
    Case(
        "grantType password",
        {PROD: GRAPH_HEAD + "  clientId: x\n  clientSecret: y\n  grantType: password\n"},
        "prod",
        1,
        "must be 'client_credentials'",
    ),
    Case(
        "smtp auth oauth2",
        {DEV: "auth: {enable: true, type: oauth2}\n"},
        "dev",
        1,
        "environments/dev.yaml:1:22: deny CONFIG [dev] must be 'basic'",
    ),
    Case(
        "negative timeout",
        {DEV: "auth: {enable: false}\ntimeout: -5\n"},
        "dev",
        1,
        "environments/dev.yaml:2:1: deny CONFIG [dev] should be greater than or equal to 0",
    ),
    Case(
        "threadPoolSize 0",
        {DEV: "auth: {enable: false}\nthreadPoolSize: 0\n"},
        "dev",
        1,
        "should be greater than or equal to 1",
    ),
    Case(
        "port 70000",
        {STAGING: SMTP_OK + "port: 70000\n"},
        "staging",
        1,
        "should be less than or equal to 65535",
    ),
    Case(
        "smtpProperties item without =",
        {DEV: "auth: {enable: false}\nsmtpProperties: [mail.debug]\n"},
        "dev",
        1,
        "environments/dev.yaml:2:18: smtpProperties items must be 'key=value' strings",
    ),
    Case(
        "smtpProperties value a mapping",
        {DEV: "auth: {enable: false}\nsmtpProperties:\n  mail.smtp.ssl.protocols: {a: 1}\n"},
        "dev",
        1,
        "environments/dev.yaml:3:3: smtpProperties values must be scalars",
    ),
    Case(
        "from not an address",
        {DEV: "auth: {enable: false}\nfrom: nobody\n"},
        "dev",
        1,
        "environments/dev.yaml:2:1: deny CONFIG [dev] must be an email address",
    ),
    Case(
        "!!binary tag",
        {DEV: "auth: {enable: false}\nhost: !!binary aGk=\n"},
        "dev",
        2,
        "environments/dev.yaml:2:7: unsupported YAML tag",
    ),
    Case(
        "custom tag",
        {DEV: "auth: !secret x\n"},
        "dev",
        2,
        "environments/dev.yaml:1:7: unsupported YAML tag '!secret'",
    ),
    Case(
        "merge key",
        {DEV: "a: &a {enable: false}\nauth:\n  <<: *a\n"},
        "dev",
        2,
        "environments/dev.yaml:3:3: YAML merge keys ('<<') are not supported",
    ),
    Case(
        "promoter.yaml unknown key",
        {"promoter.yaml": "ordr: [dev]\n"},
        "dev",
        2,
        "promoter.yaml:1:1: unknown property 'ordr' (hint: did you mean 'order'?)",
    ),
    Case(
        "promoter.yaml wrong type",
        {"promoter.yaml": "order: dev\n"},
        "dev",
        2,
        "promoter.yaml:1:1: should be a valid list",
    ),
    Case(
        "waiver without reason",
        {"promoter.yaml": "waivers:\n  - {rule: EMAIL006, env: dev, expires: 2030-01-01}\n"},
        "dev",
        2,
        "promoter.yaml:2:5: missing required property 'reason'",
    ),
    Case(
        "waiver for unknown env",
        {
            "promoter.yaml": "waivers:\n  - {rule: EMAIL006, env: qa, "
            "reason: r, expires: 2030-01-01}\n"
        },
        "dev",
        2,
        "promoter.yaml:2:22: waiver names unknown environment 'qa'",
    ),
    Case(
        "unknown tier",
        {"promoter.yaml": "environments:\n  dev: {tier: testing}\n"},
        "dev",
        2,
        "promoter.yaml:2:9: must be 'development', 'staging' or 'production'",
    ),
    Case(
        "duplicate in order",
        {"promoter.yaml": "order: [dev, staging, dev]\n"},
        "dev",
        2,
        "promoter.yaml:1:23: 'dev' appears twice in order",
    ),
    Case(
        "missing overlay file",
        {"promoter.yaml": "environments:\n  dev: {overlay: environments/nope.yaml}\n"},
        "dev",
        2,
        "environments/nope.yaml: no such file",
    ),
    Case("unknown env on the command line", {}, "qa", 2, "unknown environment 'qa'"),
    Case("bad flag", {}, "dev", 2, "unrecognized arguments: --frobnicate", ("--frobnicate",)),
    Case(
        "purpose escaping the store",
        {
            PROD: GRAPH_HEAD + "  clientId: {$purpose: {name: "
            "../../etc/passwd}}\n  clientSecret: {$purpose: {name: /etc/passwd}}\n"
        },
        "prod",
        1,
        "environments/prod.yaml:8:3: deny EMAIL009 [prod] purpose name '../../etc/passwd'",
    ),
    Case(
        "secret over 64 KiB",
        {CREDS: "x" * (64 * 1024 + 1)},
        "prod",
        1,
        "deny EMAIL009 [prod] secret 'idm.email.msgraph.credentials' is larger than 64 KiB",
    ),
    Case(
        "secret not a JSON object",
        {CREDS: "just-a-string"},
        "prod",
        1,
        "is not a JSON object, but jsonPointer is set",
    ),
    Case(
        "jsonPointer does not resolve",
        {CREDS: '{"clientId": "x"}'},
        "prod",
        1,
        "environments/prod.yaml:11:3: deny EMAIL009 [prod] jsonPointer 'clientSecret' does "
        "not resolve in secret 'idm.email.msgraph.credentials' (hint: fields present: clientId)",
    ),
    Case(
        "invalid base64 store",
        {
            "promoter.yaml": "environments:\n  prod: {secrets: "
            "{directory: secrets/prod, format: base64}}\n",
            CREDS: "!!!",
        },
        "prod",
        1,
        "secret 'idm.email.msgraph.credentials' is not valid base64",
    ),
    Case(
        "secret file is a directory",
        {CREDS: None, CREDS + "/inner": "x"},
        "prod",
        1,
        "secret 'idm.email.msgraph.credentials' is not a regular file",
    ),
]


def apply(repo: Path, files: dict[str, str | bytes | None]) -> None:
    for name, content in files.items():
        path = repo / name
        if content is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(example: Path, case: Case) -> None:
    apply(example, case.files)
    out = example / "out" / "external.email.json"
    run = cli("compile", case.env, "-o", str(out), *case.extra, cwd=example)
    text = run.out + run.err
    assert run.code == case.code, text
    assert case.expect in text, text
    assert "Traceback" not in text
    assert not out.exists() and not (out.parent.exists() and os.listdir(out.parent))


def test_symlink_out_of_the_store_is_refused(example: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.json"
    outside.write_text('{"clientId": "x", "clientSecret": "y"}')
    creds = example / CREDS
    creds.unlink()
    creds.symlink_to(outside)
    run = cli("check", "prod", "--no-cache", cwd=example)
    assert run.code == 1
    assert (
        "deny EMAIL009 secret 'idm.email.msgraph.credentials' is a link that leaves the store"
        in run.out
    )


def test_missing_secret_file_under_require_secrets(example: Path) -> None:
    (example / CREDS).unlink()
    relaxed = cli("check", "prod", "--no-cache", cwd=example)
    assert relaxed.code == 1  # the store exists, the file does not: deny either way
    strict = cli("check", "prod", "--require-secrets", "--no-cache", cwd=example)
    assert strict.code == 1
    assert (
        "environments/prod.yaml:10:3: deny EMAIL009 secret 'idm.email.msgraph.credentials' "
        "not found" in strict.out
    )


def test_an_empty_overlay_is_an_empty_mapping(example: Path) -> None:
    (example / DEV).write_text("# nothing yet\n")
    run = cli("compile", "dev", cwd=example)
    assert run.code == 1  # base alone lacks the required auth
    assert "deny CONFIG [dev] missing required property 'auth'" in run.err
