"""A corpus of bad inputs, each run through the real CLI in a subprocess.

Every case starts from a copy of the shipped example (with overlays of known
content, so line numbers are exact, and one `promote dev staging` already done, so
a pin, a ledger and a rendered output exist), changes a few files, runs
`promoter check`, `promoter compile ENV -o build/out.json` or `promote dev staging` (a few
read the ledger with `history`/`rollback`, start `watch --once`, or `import` a file),
and asserts: the exact exit code, the file (and `:LINE:COL`) named, the rule or
message, no traceback, and that nothing in the repo was created or changed (the
lock and the check cache excepted).

The subprocesses of all selected cases start together on a thread pool when the
module's first case runs (each case has its own directory), so the corpus costs
about (cases x 0.4 s) / cores.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import Run, cli, make_example

BASE = "environments/base.yaml"
DEV = "environments/dev.yaml"
STAGING = "environments/staging.yaml"
PROD = "environments/prod.yaml"
PIN = "environments/staging.pin.yaml"
PW = "secrets/staging/idm.email.smtp.password"
CREDS = "secrets/prod/idm.email.msgraph.credentials"
OUT = "build/out.json"
STAGING_OUT = "build/staging/conf/external.email.json"

# The example's files, rewritten with known content: the line numbers below rely on it.
PROJECT_TEXT = """\
order: [dev, staging, prod]
base: environments/base.yaml
environments:
  dev:
    tier: development
  staging:
    tier: staging
    secrets: secrets/staging
  prod:
    tier: production
    secrets: {directory: secrets/prod, format: plain}
waivers: []
"""
BASE_TEXT = """\
from: noreply@example.com
threadPoolSize: 20
connectiontimeout: 30000
timeout: 30000
writetimeout: 30000
"""
DEV_TEXT = """\
type: smtp
auth:
  enable: false
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
ssl:
  enable: false
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
  clientSecret: {$purpose: {name: idm.email.msgraph.credentials, jsonPointer: clientSecret}}
  tokenEndpoint: https://login.microsoftonline.com/example.onmicrosoft.com/oauth2/v2.0/token
  scope:
    - https://graph.microsoft.com/.default
  scopeDelimiter: " "
  grantType: client_credentials
"""
KNOWN_FILES = {
    "promoter.yaml": PROJECT_TEXT,
    BASE: BASE_TEXT,
    DEV: DEV_TEXT,
    STAGING: STAGING_TEXT,
    PROD: PROD_TEXT,
    PW: "not-a-real-smtp-password\n",
    CREDS: '{"clientId": "00000000-0000-0000-0000-EXAMPLE00000", "clientSecret": "not-real"}\n',
}

# Written by the commands themselves, so not part of what a case may not change.
ALLOWED_CHANGES = {"build/.promoter", "build/.promoter/lock", "build/.promoter/check-cache.json"}


@dataclass(frozen=True)
class Edit:
    """Replace ``old`` (which must occur) by ``new`` in the template's file."""

    old: str
    new: str


@dataclass(frozen=True)
class Link:
    """A symlink to a file outside the repo holding ``content``."""

    content: str


Content = str | bytes | Edit | Link | None  # None: delete the file or directory


@dataclass(frozen=True)
class Case:
    id: str
    files: Mapping[str, Content]
    run: tuple[str, ...]  # ("check", ...) | ("compile", ENV, ...) | ("promote", SRC, DST, ...)
    code: int
    where: str | None  # "FILE" or "FILE:LINE:COL" that the output must name
    expect: tuple[str, ...]  # fragments that must appear in stdout or stderr
    bug: str | None = None  # a known bug: the case is a strict xfail
    existing_output: bool = False  # compile: -o names a file that already exists


def case(
    id: str,
    files: Mapping[str, Content],
    run: tuple[str, ...],
    code: int,
    where: str | None,
    *expect: str,
    bug: str | None = None,
    existing_output: bool = False,
) -> Case:
    return Case(id, files, run, code, where, expect, bug, existing_output)


def dev_target(value: str) -> dict[str, Content]:
    """promoter.yaml with ``target: VALUE`` on dev (line 6)."""
    return {
        "promoter.yaml": Edit(
            "    tier: development\n", f"    tier: development\n    target: {value}\n"
        )
    }


CHECK = ("check",)
COMPILE_DEV = ("compile", "dev")
PROMOTE = ("promote", "dev", "staging")
DIFF_DEV = ("diff", "dev")
DEEP_JSON = "[" * 100_000 + "]" * 100_000
RECORDS = "build/.promoter/records"

ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for p, c in zip("abcdefg", "bcdefgh", strict=True)
)
EMAIL009 = "deny EMAIL009"
DENY_STAGING = "deny CONFIG [staging]"

CASES: list[Case] = [
    # --- malformed YAML: exit 2 with FILE:LINE:COL ---------------------------------------
    case(
        "yaml/unclosed flow mapping",
        {DEV: "auth: {enable: false\n"},
        COMPILE_DEV,
        2,
        "environments/dev.yaml:2:1",
        "invalid YAML: did not find expected ',' or '}'",
    ),
    case(
        "yaml/bad indentation",
        {STAGING: Edit("  username: idm-mailer", " username: idm-mailer")},
        ("check", "staging"),
        2,
        "environments/staging.yaml:6:2",
        "invalid YAML",
        "staging (staging): error (exit 2, see stderr)",
    ),
    case(
        "yaml/duplicate key",
        {DEV: "auth: {enable: false}\nauth: {enable: true}\n"},
        PROMOTE,
        2,
        "environments/dev.yaml:2:1",
        "duplicate key 'auth' (hint: first defined at line 1)",
    ),
    case(
        "yaml/tab indentation",
        {DEV: "auth:\n\tenable: false\n"},
        COMPILE_DEV,
        2,
        "environments/dev.yaml:2:1",
        "tab character (hint: indent with spaces)",
    ),
    case(
        "yaml/not utf-8",
        {DEV: b"auth: {enable: false}\nfrom: caf\xe9@example.com\n"},
        COMPILE_DEV,
        2,
        "environments/dev.yaml:2:10",
        "not valid UTF-8 (hint: save the file as UTF-8)",
        existing_output=True,
    ),
    case(
        "yaml/two documents",
        {PROD: PROD_TEXT + "---\nhost: x\n"},
        CHECK,
        2,
        "environments/prod.yaml:14:1",
        "invalid YAML: more than one YAML document (hint: keep one document per file)",
    ),
    case(
        "yaml/alias bomb",
        {DEV: ALIAS_BOMB},
        COMPILE_DEV,
        2,
        "environments/dev.yaml:4:1",
        "YAML aliases expand beyond 10,000 values",
        existing_output=True,
    ),
    case(
        "yaml/recursive alias",
        {DEV: "a: &a [*a]\n"},
        COMPILE_DEV,
        2,
        "environments/dev.yaml:1:4",
        "recursive YAML alias",
    ),
    case(
        "yaml/nested too deep",
        {DEV: "auth: {enable: false}\nx: " + "[" * 500 + "]" * 500 + "\n"},
        COMPILE_DEV,
        2,
        "environments/dev.yaml:2:",
        "environments/dev.yaml",
    ),
    case(
        "yaml/overlay is a list",
        {DEV: "- host: x\n"},
        COMPILE_DEV,
        2,
        "environments/dev.yaml:1:1",
        "an overlay must be a mapping",
    ),
    case(
        "yaml/overlay is a scalar",
        {DEV: "hello\n"},
        PROMOTE,
        2,
        "environments/dev.yaml:1:1",
        "an overlay must be a mapping",
    ),
    case(
        "yaml/!!binary tag",
        {DEV: "auth: {enable: false}\nhost: !!binary aGk=\n"},
        COMPILE_DEV,
        2,
        "environments/dev.yaml:2:7",
        "unsupported YAML tag",
    ),
    case(
        "yaml/custom tag on a scalar",
        {DEV: "auth: !secret x\n"},
        COMPILE_DEV,
        2,
        "environments/dev.yaml:1:7",
        "unsupported YAML tag '!secret'",
    ),
    case(
        "yaml/custom tag on a mapping",
        {DEV: "auth: !custom {enable: false}\n"},
        COMPILE_DEV,
        2,
        "environments/dev.yaml:1:7",
        "unsupported YAML tag '!custom'",
    ),
    case(
        "yaml/merge key",
        {DEV: "a: &a {enable: false}\nauth:\n  <<: *a\n"},
        COMPILE_DEV,
        2,
        "environments/dev.yaml:3:3",
        "YAML merge keys ('<<') are not supported",
    ),
    # --- refused by the model: exit 1, "deny CONFIG" at FILE:LINE:COL ---------------------
    case(
        "model/unknown top-level property",
        {DEV: "auth: {enable: false}\nhots: x\n"},
        COMPILE_DEV,
        1,
        "environments/dev.yaml:2:1",
        "deny CONFIG [dev] unknown property 'hots' (hint: did you mean 'host'?)",
        "error: dev: refused; nothing written",
    ),
    case(
        "model/unknown property under auth",
        {STAGING: Edit("  username: idm-mailer", "  usrname: idm-mailer")},
        ("check", "staging"),
        1,
        "environments/staging.yaml:6:3",
        "deny CONFIG unknown property 'usrname' [/auth/usrname]",
        "hint: did you mean 'username'?",
    ),
    case(
        "model/unknown property under starttls",
        {STAGING: Edit("starttls:\n  enable: true", "starttls:\n  enabled: true")},
        PROMOTE,
        1,
        "environments/staging.yaml:9:3",
        "deny CONFIG [staging] unknown property 'enabled' (hint: did you mean 'enable'?)",
        "refused: staging (staging) does not pass its gates; nothing written",
    ),
    case(
        "model/unknown property in $purpose",
        {PROD: Edit("jsonPointer: clientSecret", "jsonpointer: clientSecret")},
        ("check", "prod"),
        1,
        "environments/prod.yaml:8:",
        "unknown property 'jsonpointer'",
        "did you mean 'jsonPointer'?",
    ),
    case(
        "model/port as a list",
        {STAGING: Edit("port: 587", "port: [587]")},
        ("compile", "staging"),
        1,
        "environments/staging.yaml:3:1",
        f"{DENY_STAGING} port must be an integer, a digit string or a placeholder; found a list",
        existing_output=True,
    ),
    case(
        "model/enable as yes",
        {DEV: 'auth: {enable: "yes"}\n'},
        COMPILE_DEV,
        1,
        "environments/dev.yaml:1:8",
        "deny CONFIG [dev] enable must be true or false; found the string 'yes'",
    ),
    case(
        "model/scope as a string",
        {PROD: Edit("  scope:\n    - https://", "  scope: https://")},
        ("check", "prod"),
        1,
        "environments/prod.yaml:10:3",
        "scope must be a list of scopes; found the string 'https://graph.microsoft.com/.default'",
    ),
    case(
        "model/type sendgrid",
        {DEV: "type: sendgrid\nauth: {enable: false}\n"},
        COMPILE_DEV,
        1,
        "environments/dev.yaml:1:1",
        "deny CONFIG [dev] 'type' must be 'smtp' or 'msgraph'",
    ),
    case(
        "model/msgraph without mailEndpoint",
        {PROD: Edit("mailEndpoint: https://graph", "# mailEndpoint: https://graph")},
        ("check", "prod"),
        1,
        "environments/prod.yaml:1:1",
        "deny CONFIG missing required property 'mailEndpoint'",
    ),
    case(
        "model/msgraph without tokenEndpoint",
        {PROD: Edit("  tokenEndpoint:", "  # tokenEndpoint:")},
        ("check", "prod"),
        1,
        "environments/prod.yaml:4:1",
        "deny CONFIG missing required property 'tokenEndpoint' [/auth]",
    ),
    case(
        "model/msgraph without scope",
        {PROD: Edit("  scope:\n    - https://graph.microsoft.com/.default\n", "")},
        ("compile", "prod"),
        1,
        "environments/prod.yaml:4:1",
        "deny CONFIG [prod] missing required property 'scope'",
    ),
    case(
        "model/grantType password",
        {PROD: Edit("grantType: client_credentials", "grantType: password")},
        ("compile", "prod"),
        1,
        "environments/prod.yaml:13:3",
        "deny CONFIG [prod] must be 'client_credentials'",
    ),
    case(
        "model/smtp auth type oauth2",
        {DEV: "auth: {enable: true, type: oauth2}\n"},
        COMPILE_DEV,
        1,
        "environments/dev.yaml:1:22",
        "deny CONFIG [dev] must be 'basic'",
    ),
    case(
        "model/negative timeout",
        {DEV: "auth: {enable: false}\ntimeout: -5\n"},
        PROMOTE,
        1,
        "environments/dev.yaml:2:1",
        "deny CONFIG [dev] should be greater than or equal to 0",
        "refused: dev does not pass its own gates",
    ),
    case(
        "model/threadPoolSize 0",
        {DEV: "auth: {enable: false}\nthreadPoolSize: 0\n"},
        COMPILE_DEV,
        1,
        "environments/dev.yaml:2:1",
        "deny CONFIG [dev] should be greater than or equal to 1",
        existing_output=True,
    ),
    case(
        "model/port 70000",
        {STAGING: Edit("port: 587", "port: 70000")},
        ("check", "staging"),
        1,
        "environments/staging.yaml:3:1",
        "deny CONFIG should be less than or equal to 65535 [/port]",
    ),
    case(
        "model/smtpProperties item without =",
        {DEV: "auth: {enable: false}\nsmtpProperties: [mail.debug]\n"},
        COMPILE_DEV,
        1,
        "environments/dev.yaml:2:18",
        "smtpProperties items must be 'key=value' strings",
    ),
    case(
        "model/smtpProperties value a mapping",
        {STAGING: Edit("mail.smtp.starttls.required: true", "mail.smtp.starttls.required: {a: 1}")},
        ("check", "staging"),
        1,
        "environments/staging.yaml:14:3",
        "smtpProperties values must be scalars",
    ),
    case(
        "model/from not an address",
        {DEV: "auth: {enable: false}\nfrom: nobody\n"},
        COMPILE_DEV,
        1,
        "environments/dev.yaml:2:1",
        "deny CONFIG [dev] must be an email address",
    ),
    # --- promoter.yaml: exit 2 --------------------------------------------------------------
    case(
        "project/unknown key",
        {"promoter.yaml": Edit("order:", "ordr:")},
        CHECK,
        2,
        "promoter.yaml:1:1",
        "unknown property 'ordr' (hint: did you mean 'order'?)",
    ),
    case(
        "project/unknown key under an environment",
        {"promoter.yaml": Edit("    tier: production", "    teir: production")},
        CHECK,
        2,
        "promoter.yaml:10:5",
        "unknown property 'teir' (hint: did you mean 'tier'?)",
    ),
    case(
        "project/unknown key in a store mapping",
        {"promoter.yaml": Edit("format: plain", "fromat: plain")},
        CHECK,
        2,
        "promoter.yaml:11:40",
        "unknown property 'fromat' (hint: did you mean 'format'?)",
    ),
    case(
        "project/unknown key in an idm target",
        {
            "promoter.yaml": Edit(
                "    secrets: secrets/staging",
                "    secrets: secrets/staging\n"
                "    target: {idm: 'https://idm.example.com/openidm', bearerEnvv: T}",
            )
        },
        CHECK,
        2,
        "promoter.yaml:9:54",
        "unknown property 'bearerEnvv' (hint: did you mean 'bearerEnv'?)",
    ),
    case(
        "project/wrong type",
        {"promoter.yaml": Edit("order: [dev, staging, prod]", "order: dev")},
        COMPILE_DEV,
        2,
        "promoter.yaml:1:1",
        "order must be a list; found the string 'dev'",
    ),
    case(
        "project/waiver without reason",
        {
            "promoter.yaml": Edit(
                "waivers: []", "waivers:\n  - {rule: EMAIL006, env: dev, expires: 2030-01-01}"
            )
        },
        CHECK,
        2,
        "promoter.yaml:13:5",
        "missing required property 'reason'",
    ),
    case(
        "project/waiver for an unknown env",
        {
            "promoter.yaml": Edit(
                "waivers: []",
                "waivers:\n  - {rule: EMAIL006, env: qa, reason: r, expires: 2030-01-01}",
            )
        },
        COMPILE_DEV,
        2,
        "promoter.yaml:13:22",
        "waiver names unknown environment 'qa'",
    ),
    case(
        "project/unknown tier",
        {"promoter.yaml": Edit("tier: development", "tier: testing")},
        CHECK,
        2,
        "promoter.yaml:5:5",
        "must be 'development', 'staging' or 'production'",
    ),
    case(
        "project/duplicate in order",
        {"promoter.yaml": Edit("order: [dev, staging, prod]", "order: [dev, staging, dev]")},
        COMPILE_DEV,
        2,
        "promoter.yaml:1:23",
        "'dev' appears twice in order",
    ),
    case(
        "project/missing overlay file",
        {"promoter.yaml": Edit("tier: development", "tier: development\n    overlay: nope.yaml")},
        COMPILE_DEV,
        2,
        "nope.yaml",
        "nope.yaml: no such file",
    ),
    # --- command line: exit 2 ---------------------------------------------------------------
    case(
        "cli/unknown env",
        {},
        ("compile", "qa"),
        2,
        None,
        "unknown environment 'qa' (known: dev, staging, prod)",
    ),
    case(
        "cli/bad flag",
        {},
        ("compile", "dev", "--frobnicate"),
        2,
        None,
        "unrecognized arguments: --frobnicate",
    ),
    case(
        "cli/bad format",
        {},
        ("check", "--format", "xml"),
        2,
        None,
        "argument --format: invalid choice: 'xml'",
    ),
    case(
        "cli/missing ENV",
        {},
        ("compile",),
        2,
        None,
        "the following arguments are required: ENV",
    ),
    # --- secret store: exit 1, deny EMAIL009 at the reference -------------------------------
    case(
        "secrets/purpose name with ../",
        {STAGING: Edit("name: idm.email.smtp.password", "name: ../prod/x")},
        ("check", "staging"),
        1,
        "environments/staging.yaml:7:3",
        f"{EMAIL009} purpose name '../prod/x' is not a plain file name in the store",
    ),
    case(
        "secrets/absolute purpose name",
        {STAGING: Edit("name: idm.email.smtp.password", "name: /etc/passwd")},
        PROMOTE,
        1,
        "environments/staging.yaml:7:3",
        f"{EMAIL009} [staging] purpose name '/etc/passwd' is not a plain file name",
    ),
    case(
        "secrets/symlink out of the store",
        {PW: Link("outside-the-store\n")},
        ("compile", "staging"),
        1,
        "environments/staging.yaml:7:3",
        f"{EMAIL009} [staging] secret 'idm.email.smtp.password' is a link that leaves the store",
        existing_output=True,
    ),
    case(
        "secrets/file over 64 KiB",
        {PW: "x" * (64 * 1024 + 1)},
        PROMOTE,
        1,
        "environments/staging.yaml:7:3",
        f"{EMAIL009} [staging] secret 'idm.email.smtp.password' is larger than 64 KiB",
    ),
    case(
        "secrets/not JSON with jsonPointer",
        {CREDS: "just-a-string"},
        ("check", "prod"),
        1,
        "environments/prod.yaml:7:3",
        f"{EMAIL009} secret 'idm.email.msgraph.credentials' is not a JSON object, "
        "but jsonPointer is set",
    ),
    case(
        "secrets/jsonPointer does not resolve",
        {CREDS: '{"clientId": "x"}'},
        ("check", "prod"),
        1,
        "environments/prod.yaml:8:3",
        f"{EMAIL009} jsonPointer 'clientSecret' does not resolve in secret "
        "'idm.email.msgraph.credentials'",
        "hint: check the pointer against the secret's layout (names are case-sensitive)",
    ),
    case(
        "secrets/invalid base64",
        {
            "promoter.yaml": Edit(
                "secrets: secrets/staging",
                "secrets: {directory: secrets/staging, format: base64}",
            ),
            PW: "!!!not base64\n",
        },
        ("compile", "staging"),
        1,
        "environments/staging.yaml:7:3",
        f"{EMAIL009} [staging] secret 'idm.email.smtp.password' is not valid base64",
        existing_output=True,
    ),
    case(
        "secrets/missing file under --require-secrets",
        {CREDS: None, "secrets/prod/other.purpose": "x\n"},
        ("check", "prod", "--require-secrets"),
        1,
        "environments/prod.yaml:7:3",
        f"{EMAIL009} secret 'idm.email.msgraph.credentials' not found in secrets/prod/",
        "hint: create secrets/prod/idm.email.msgraph.credentials",
    ),
    case(
        "secrets/file is a directory",
        {PW: None, PW + "/inner": "x"},
        PROMOTE,
        1,
        "environments/staging.yaml:7:3",
        f"{EMAIL009} [staging] secret 'idm.email.smtp.password' is not a regular file",
    ),
    # --- promotion path: exit 1, EMAIL013 ---------------------------------------------------
    # --- an empty overlay: refused for what it lacks, located at its first line ----------------
    case(
        "empty/staging overlay is AIC's built-in server",
        {STAGING: ""},
        ("check", "staging"),
        1,
        "environments/staging.yaml:1:1",
        "deny EMAIL001 built-in SMTP: no host is set",
    ),
    # --- issue 12 item 16: each was an internal error --------------------------------------
    case(
        "yaml/a port of 5000 digits",
        {STAGING: Edit("port: 587", "port: " + "9" * 5000)},
        ("check", "staging"),
        2,
        "environments/staging.yaml:3:7",
        "integer with more than 100 digits",
    ),
    case(
        "yaml/a raw BEL byte",
        {DEV: "type: smtp\nhost: a\x07b\n"},
        COMPILE_DEV,
        2,
        "environments/dev.yaml:2:8",
        "control character U+0007 is not allowed in YAML",
    ),
    case(
        "yaml/$crypto holding .nan",
        {DEV: "type: smtp\nauth:\n  enable: true\n  password: {$crypto: {value: .nan}}\n"},
        COMPILE_DEV,
        2,
        "environments/dev.yaml:4:31",
        "'.nan' is not a finite number",
    ),
    case(
        "yaml/1e999 is infinite",
        {DEV: "type: smtp\nthreadPoolSize: 1e999\n"},
        COMPILE_DEV,
        2,
        "environments/dev.yaml:2:17",
        "'1e999' is not a finite number",
    ),
    case(
        "secrets/60 KB of nested brackets",
        {CREDS: "[" * 60_000},
        ("check", "prod"),
        1,
        "environments/prod.yaml:7:3",
        f"{EMAIL009} secret 'idm.email.msgraph.credentials' is not a JSON object",
    ),
    case(
        "secrets/an empty file",
        {PW: ""},
        PROMOTE,
        1,
        "environments/staging.yaml:7:3",
        f"{EMAIL009} [staging] secret 'idm.email.smtp.password' is empty",
    ),
    case(
        "secrets/a purpose name ending in a newline",
        {STAGING: Edit("name: idm.email.smtp.password", 'name: "idm.email.smtp.password\\n"')},
        ("check", "staging"),
        1,
        "environments/staging.yaml:7:3",
        "purpose name 'idm.email.smtp.password\\n' is not a plain file name",
    ),
    case(
        "promoter.yaml/an IDM URL that does not parse",
        {
            "promoter.yaml": Edit(
                "    tier: staging\n",
                "    tier: staging\n    target: {idm: 'http://[::1', bearerEnv: T}\n",
            )
        },
        ("check", "staging"),
        2,
        "promoter.yaml:8:14",
        "is not a valid URL",
    ),
    case(
        "ledger/a field of the wrong type (history)",
        {"ledger/promotions.jsonl": Edit('"action": "promote"', '"action": 5')},
        ("history", "staging"),
        2,
        "ledger/promotions.jsonl:1:1",
        "not a ledger entry",
    ),
    case(
        "ledger/a field of the wrong type (rollback)",
        {"ledger/promotions.jsonl": Edit('"env": "staging"', '"env": ["staging"]')},
        ("rollback", "staging"),
        2,
        "ledger/promotions.jsonl:1:1",
        "not a ledger entry",
    ),
    case(
        "watch/--health with a port that is not a number",
        {},
        ("watch", "staging", "--once", "--health", "127.0.0.1:x"),
        2,
        None,
        "--health must be HOST:PORT with a port from 0 to 65535 (got '127.0.0.1:x')",
    ),
    # --- round 3: values no target can use (issue 19, items 5 and 14) -----------------
    case(
        "target/aic URL without a host",
        dev_target('{aic: "https://", serviceAccount: {idEnv: A, keyEnv: B}}'),
        CHECK,
        2,
        "promoter.yaml:6:",
        "must be an http:// or https:// URL with a host",
    ),
    case(
        "target/aic URL with userinfo",
        dev_target('{aic: "https://u:pw@t.example", serviceAccount: {idEnv: A, keyEnv: B}}'),
        CHECK,
        2,
        "promoter.yaml:6:",
        "must not hold a user name or password",
    ),
    case(
        "target/idm URL with a query",
        dev_target('{idm: "https://idm.example/openidm?x=1", bearerEnv: T}'),
        CHECK,
        2,
        "promoter.yaml:6:",
        "must not hold a query",
    ),
    case(
        "target/idm URL with a fragment",
        dev_target('{idm: "https://idm.example/openidm#top", bearerEnv: T}'),
        CHECK,
        2,
        "promoter.yaml:6:",
        "or a fragment",
    ),
    case(
        "target/aic URL on port 0",
        dev_target('{aic: "https://t.example:0", serviceAccount: {idEnv: A, keyEnv: B}}'),
        CHECK,
        2,
        "promoter.yaml:6:",
        "has port 0",
    ),
    case(
        "target/pollInterval 1e308",
        dev_target(
            '{aic: "https://t.example", pollInterval: 1e308, serviceAccount: {idEnv: A, keyEnv: B}}'
        ),
        CHECK,
        2,
        "promoter.yaml:6:",
        "less than or equal to 300",
    ),
    case(
        "target/an ftp token endpoint",
        dev_target(
            '{idm: "https://idm.example/openidm", oauth2: {tokenEndpoint: "ftp://am.example/t", '
            "clientIdEnv: A, clientSecretEnv: B}}"
        ),
        CHECK,
        2,
        "promoter.yaml:6:",
        "must be an http:// or https:// URL",
    ),
    case(
        "target/an http service-account token endpoint in production",
        {
            "promoter.yaml": Edit(
                "    tier: production\n",
                "    tier: production\n    target: {aic: 'https://t.example', serviceAccount: "
                "{idEnv: A, keyEnv: B, tokenEndpoint: 'http://am.example/token'}}\n",
            )
        },
        ("check", "prod"),
        1,
        "promoter.yaml:11:",
        "deny EMAIL008 target serviceAccount.tokenEndpoint is http://: the signed assertion",
    ),
    case(
        "store/versionSuffix '/'",
        {
            "promoter.yaml": Edit(
                "    secrets: secrets/staging\n",
                "    secrets: {directory: secrets/staging, versionSuffix: '/'}\n",
            )
        },
        CHECK,
        2,
        "promoter.yaml:8:",
        "must be part of a file name",
    ),
    case(
        "properties/a number as a name",
        {
            "promoter.yaml": Edit(
                "    tier: development\n", "    tier: development\n    properties: {1: x}\n"
            )
        },
        CHECK,
        2,
        "promoter.yaml:6:",
        "'1' is not a property name",
    ),
    # --- round 3: a file target on the project's own inputs (issue 19, item 9) ---------
    case(
        "file target/promoter.yaml",
        dev_target("{file: promoter.yaml}"),
        ("promote", "dev", "staging"),
        2,
        "promoter.yaml:6:",
        "target file 'promoter.yaml' is the project file promoter.yaml",
    ),
    case(
        "file target/an overlay through '..'",
        dev_target("{file: build/../environments/staging.yaml}"),
        CHECK,
        2,
        "promoter.yaml:6:",
        "is staging's overlay: deliver would overwrite the project's own input",
    ),
    case(
        "file target/the base",
        dev_target("{file: environments/base.yaml}"),
        COMPILE_DEV,
        2,
        "promoter.yaml:6:",
        "is the base",
    ),
    case(
        "file target/inside a store",
        dev_target("{file: secrets/staging/out.json}"),
        CHECK,
        2,
        "promoter.yaml:6:",
        "is in staging's secret store",
    ),
    case(
        "file target/the ledger",
        dev_target("{file: ledger/promotions.jsonl}"),
        CHECK,
        2,
        "promoter.yaml:6:",
        "is the ledger",
    ),
    case(
        "file target/its .bak would be an overlay",
        {
            "promoter.yaml": Edit(
                "    tier: development\n",
                "    tier: development\n    overlay: conf/dev.yaml.bak\n"
                "    target: {file: conf/dev.yaml}\n",
            ),
            "conf/dev.yaml.bak": DEV_TEXT,
        },
        CHECK,
        2,
        "promoter.yaml:7:",
        "target file 'conf/dev.yaml' would keep its .bak as dev's overlay",
    ),
    # --- round 3: files a setting names, read as overlays are (issue 19, item 10) -------
    case(
        "state/check cache nested 100000 deep (ignored, checked afresh)",
        {"build/.promoter/check-cache.json": DEEP_JSON},
        CHECK,
        0,
        None,
        "3 environments checked: 3 ok, 0 not",
    ),
    case(
        "state/last rendered output nested 100000 deep (no old side)",
        {STAGING_OUT: DEEP_JSON},
        ("promote", "dev", "staging", "--dry-run"),
        0,
        None,
        "dry run, nothing written",
    ),
    case(
        "state/secret-pointer record nested 100000 deep (every old value masked)",
        {
            STAGING_OUT: '{"host": "smtp.old.example.com"}\n',
            f"{RECORDS}/build~staging~conf~external.email.json.secret-pointers.json": DEEP_JSON,
        },
        ("promote", "dev", "staging", "--dry-run"),
        0,
        None,
        "dry run, nothing written",
    ),
    case(
        "state/promotion journal nested 100000 deep",
        {"build/.promoter/journal.json": DEEP_JSON},
        PROMOTE,
        2,
        "build/.promoter/journal.json",
        "not a promotion journal",
    ),
    case(
        "import/a JSON file nested 100000 deep",
        {"build/deep.json": DEEP_JSON},
        ("import", "build/deep.json", "--env", "dev"),
        2,
        "build/deep.json",
        "JSON nested deeper than 64 levels",
    ),
    case(
        "file target/held JSON nested 100000 deep",
        {**dev_target("{file: build/held.json}"), "build/held.json": DEEP_JSON},
        DIFF_DEV,
        2,
        "build/held.json",
        "target file is not readable JSON",
    ),
    case(
        "file target/a directory",
        {**dev_target("{file: build/held}"), "build/held/x.json": "{}\n"},
        DIFF_DEV,
        2,
        "build/held",
        "target file is not a regular file",
    ),
    case(
        "file target/not UTF-8",
        {**dev_target("{file: build/held.json}"), "build/held.json": b'{"a": "\xff"}\n'},
        DIFF_DEV,
        2,
        "build/held.json",
        "target file is not UTF-8 text",
    ),
    case(
        "file target/larger than 1 MiB",
        {**dev_target("{file: build/held.json}"), "build/held.json": " " * (1024 * 1024 + 1)},
        DIFF_DEV,
        2,
        "build/held.json",
        "target file is larger than 1 MiB",
    ),
    case(
        "keyFile/a directory",
        dev_target("{aic: 'https://t.example', serviceAccount: {idEnv: A, keyFile: environments}}"),
        DIFF_DEV,
        2,
        None,
        "cannot read the service-account key file environments: not a regular file",
    ),
    # --- round 3: every URL a credential goes to (issue 19, item 5) ---------------------
    case(
        "target/a javascript: token endpoint",
        dev_target(
            '{idm: "https://idm.example/openidm", oauth2: {tokenEndpoint: "javascript:alert(1)", '
            "clientIdEnv: A, clientSecretEnv: B}}"
        ),
        CHECK,
        2,
        "promoter.yaml:6:",
        "must be an http:// or https:// URL",
    ),
    case(
        "target/an ftp service-account token endpoint on aic",
        dev_target(
            "{aic: 'https://t.example', serviceAccount: {idEnv: A, keyEnv: B, "
            "tokenEndpoint: 'ftp://am.example/token'}}"
        ),
        CHECK,
        2,
        "promoter.yaml:6:",
        "must be an http:// or https:// URL",
    ),
    case(
        "target/an http oauth2 token endpoint in production",
        {
            "promoter.yaml": Edit(
                "    tier: production\n",
                "    tier: production\n    target: {idm: 'https://idm.example/openidm', oauth2: "
                "{tokenEndpoint: 'http://am.example/token', clientIdEnv: A, clientSecretEnv: B}}\n",
            )
        },
        ("check", "prod"),
        1,
        "promoter.yaml:11:",
        "deny EMAIL008 target oauth2.tokenEndpoint is http://: the client credentials",
    ),
    # --- round 3: a key that names a password is a secret field (issue 19, item 3) -----
    case(
        "secret/a password-named smtpProperty in staging",
        {STAGING: STAGING_TEXT + '  mail.smtp.proxy.password: "Tr4ns!t@Gw-9x7Q x"\n'},
        ("check", "staging"),
        1,
        "environments/staging.yaml:15:3",
        "deny EMAIL002 plaintext secret: smtpProperties mail.smtp.proxy.password",
    ),
    # --- round 3: esvs: in its mapping form, the error at the bad value (issue 19, 18) --
    case(
        "esvs/a number as a purpose name",
        {
            "promoter.yaml": Edit(
                "    tier: development\n",
                "    tier: development\n    esvs: {esv.email.password: {$purpose: {name: 5}}}\n",
            )
        },
        CHECK,
        2,
        "promoter.yaml:6:44",
        "name must be a string; found the number 5",
    ),
    case(
        "esvs/a list as a variable's value",
        {
            "promoter.yaml": Edit(
                "    tier: development\n",
                "    tier: development\n    esvs: {esv.email.host: [a]}\n",
            )
        },
        CHECK,
        2,
        "promoter.yaml:6:",
        "esv.email.host must be a string, a number or a boolean; found a list",
    ),
    case(
        "esvs/neither a list nor a mapping",
        {"promoter.yaml": Edit("    tier: development\n", "    tier: development\n    esvs: 5\n")},
        CHECK,
        2,
        "promoter.yaml:6:5",
        "esvs must be a list of names or a mapping of name -> value",
    ),
    # --- round 3: the YAML merge-key name as a plain key (issue 19, item 13) -------------
    case(
        "merge key/quoted '<<' in an overlay",
        {DEV: DEV_TEXT + '"<<": 5\n'},
        CHECK,
        1,
        "environments/dev.yaml:4:1",
        "unknown property '<<'",
    ),
    case(
        "merge key/quoted '<<' nested in auth",
        {DEV: 'type: smtp\nauth:\n  enable: false\n  "<<": x\n'},
        COMPILE_DEV,
        1,
        "environments/dev.yaml:4:3",
        "unknown property '<<'",
    ),
    case(
        "merge key/quoted '<<' in an environment of promoter.yaml",
        {"promoter.yaml": Edit("  dev:\n", '  dev:\n    "<<": 1\n')},
        CHECK,
        2,
        "promoter.yaml:5:5",
        "unknown property '<<'",
    ),
    case(
        "merge key/a real merge key in the base",
        {BASE: BASE_TEXT + "<<: {port: 25}\n"},
        CHECK,
        2,
        "environments/base.yaml:6:1",
        "YAML merge keys ('<<') are not supported",
    ),
]


# --- running ---------------------------------------------------------------------------------


def command(c: Case) -> tuple[str, list[str]]:
    """The console script and its arguments for ``c``."""
    if c.run[0] == "promote":
        return "promote", list(c.run[1:])
    if c.run[0] == "compile":
        return "promoter", [*c.run, "-o", OUT]
    return "promoter", list(c.run)


@dataclass
class Outcome:
    run: Run
    before: dict[str, tuple[object, ...]]
    after: dict[str, tuple[object, ...]]


def snapshot(repo: Path) -> dict[str, tuple[object, ...]]:
    """Every path under ``repo``: kind, mode and content (or link target)."""
    out: dict[str, tuple[object, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(repo):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            info = path.lstat()
            rel = path.relative_to(repo).as_posix()
            if stat.S_ISLNK(info.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                out[rel] = ("dir", stat.S_IMODE(info.st_mode))
            else:
                out[rel] = ("file", stat.S_IMODE(info.st_mode), path.read_bytes())
    return out


def build_template(root: Path) -> Path:
    """The example with known overlays, promoted once (pin, ledger, rendered output)."""
    repo = make_example(root / "template")
    for name, text in KNOWN_FILES.items():
        (repo / name).write_text(text)
    promoted = cli("dev", "staging", cwd=repo, script="promote")
    assert promoted.code == 0, promoted
    assert (repo / PIN).is_file() and (repo / STAGING_OUT).is_file()
    return repo


def prepare(template: Path, work: Path, c: Case) -> Path:
    repo = work / "repo"
    shutil.copytree(template, repo, symlinks=True)
    for name, content in c.files.items():
        path = repo / name
        if isinstance(content, Edit):
            text = path.read_text()
            assert content.old in text, (c.id, content.old)
            path.write_text(text.replace(content.old, content.new, 1))
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        if content is None:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Link):
            outside = work / "outside" / path.name
            outside.parent.mkdir(parents=True, exist_ok=True)
            outside.write_text(content.content)
            path.symlink_to(outside)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    if c.existing_output:
        (repo / OUT).write_text('{"previous": true}\n')
    return repo


def execute(template: Path, work: Path, c: Case) -> Outcome:
    repo = prepare(template, work, c)
    before = snapshot(repo)
    script, args = command(c)
    run = cli(*args, cwd=repo, script=script)
    return Outcome(run, before, snapshot(repo))


class Corpus:
    """Runs cases on a thread pool; every selected case starts as soon as the first is asked."""

    def __init__(self, root: Path, selected: list[Case]) -> None:
        self.root = root
        self.template = build_template(root)
        self.pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2)
        self.futures: dict[str, Future[Outcome]] = {}
        for c in selected:
            self.submit(c)

    def submit(self, c: Case) -> Future[Outcome]:
        if c.id not in self.futures:
            work = self.root / f"case{CASES.index(c)}"
            self.futures[c.id] = self.pool.submit(execute, self.template, work, c)
        return self.futures[c.id]

    def outcome(self, c: Case) -> Outcome:
        return self.submit(c).result()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="module")
def corpus(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Corpus]:
    by_id = {c.id: c for c in CASES}
    selected: list[Case] = []
    if not os.environ.get("PYTEST_XDIST_WORKER"):  # under xdist: run each case on demand
        for item in request.session.items:
            callspec = getattr(item, "callspec", None)
            if item.module is request.module and callspec and "case" in callspec.params:
                selected.append(by_id[callspec.params["case"].id])
    runner = Corpus(tmp_path_factory.mktemp("bad-inputs"), selected)
    yield runner
    runner.close()


def params() -> list[object]:
    return [
        pytest.param(
            c,
            id=c.id,
            marks=[pytest.mark.xfail(strict=True, reason=f"BUG: {c.bug}")] if c.bug else [],
        )
        for c in CASES
    ]


def changed_paths(
    before: dict[str, tuple[object, ...]], after: dict[str, tuple[object, ...]]
) -> set[str]:
    keys = set(before) | set(after)
    return {k for k in keys if before.get(k) != after.get(k)} - ALLOWED_CHANGES


def test_the_corpus_is_large_and_ids_are_unique() -> None:
    assert len(CASES) >= 35
    assert len({c.id for c in CASES}) == len(CASES)
    commands = {"check", "compile", "promote", "history", "rollback", "watch", "diff", "import"}
    assert {"check", "compile", "promote"} <= {c.run[0] for c in CASES} <= commands


@pytest.mark.parametrize("case", params())
def test_bad_input(corpus: Corpus, case: Case) -> None:
    outcome = corpus.outcome(case)
    run = outcome.run
    text = run.out + run.err
    shown = f"exit {run.code}\n--- stdout\n{run.out}--- stderr\n{run.err}"
    assert "Traceback" not in text, shown
    assert "internal error" not in text, shown
    assert run.code == case.code, shown
    if case.where is not None:
        assert case.where in text, shown
    for fragment in case.expect:
        assert fragment in text, shown
    if case.code == 2 and case.where is not None:
        assert f"error: {case.where}" in run.err, shown  # one located line on stderr
    assert changed_paths(outcome.before, outcome.after) == set(), shown


def test_an_empty_overlay_adds_nothing(example: Path) -> None:
    """An empty overlay is an empty mapping: base alone decides."""
    (example / BASE).write_text(BASE_TEXT + "auth: {enable: false}\n")
    (example / DEV).write_text("")
    run = cli("compile", "dev", cwd=example)
    assert run.code == 0, run
    assert json.loads(run.out) == {
        "auth": {"enable": False},
        "connectiontimeout": 30000,
        "from": "noreply@example.com",
        "threadPoolSize": 20,
        "timeout": 30000,
        "writetimeout": 30000,
    }


def test_an_absent_store_is_a_warning_without_require_secrets(example: Path) -> None:
    shutil.rmtree(example / "secrets/prod")
    run = cli("check", "prod", "--no-cache", cwd=example)
    assert run.code == 0, run
    assert (
        "warn EMAIL009 secret 'idm.email.msgraph.credentials' is not here: "
        "secret store secrets/prod/ is not provisioned on this machine"
    ) in run.out
    assert not (example / "build/prod").exists()


def test_a_file_target_symlinked_to_promoter_yaml_is_refused(example: Path) -> None:
    (example / "out.json").symlink_to("promoter.yaml")
    text = (example / "promoter.yaml").read_text()
    before = text.replace(
        "target: {file: build/staging/conf/external.email.json}", "target: {file: out.json}"
    )
    assert before != text
    (example / "promoter.yaml").write_text(before)
    run = cli("deliver", "staging", cwd=example)
    assert run.code == 2 and "is the project file promoter.yaml" in run.err, run
    assert (example / "promoter.yaml").read_text() == before
