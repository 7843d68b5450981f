"""``promoter init [DIR] [--type smtp|msgraph]``: a new config repo on which ``check`` passes.

dev sends to ``promoter dev-smtp`` on 127.0.0.1:2525; staging and prod use an SMTP relay
with STARTTLS (``smtp``) or MS Graph (``msgraph``), their secrets in ``secrets/<env>/``
(git-ignored; placeholders to replace). Nothing is overwritten without ``--force``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from promoter.errors import InputError, RefusedError
from promoter.files.atomic import write_atomic
from promoter.importing.plan import MSGRAPH_PURPOSE, SMTP_PURPOSE
from promoter.model.schema import SCHEMA_DIR, generate, render

SCHEMA_LINE = "# yaml-language-server: $schema=../schemas/overlay.schema.json\n"

PROMOTER_YAML = """\
# yaml-language-server: $schema=schemas/promoter.schema.json
# promoter's settings; every key is optional (these are the conventions, written out).
order: [dev, staging, prod]          # promote dev → staging → prod, one stage at a time
base: environments/base.yaml         # shared by every environment
environments:
  dev:
    tier: development                # development | staging | production: drives the gates
    secrets: secrets/dev
    target: {file: build/dev/conf/external.email.json}
  staging:
    tier: staging
    secrets: secrets/staging         # git-ignored, provisioned per machine: see secrets/README.md
    target: {file: build/staging/conf/external.email.json}
    # or: {idm: https://idm.staging.example.com/openidm, bearerEnv: IDM_TOKEN}
  prod:
    tier: production
    secrets: secrets/prod            # git-ignored, like staging's
    target: {file: build/prod/conf/external.email.json}
waivers: []
"""

BASE = (
    SCHEMA_LINE
    + """\
# Shared by every environment. dev compiles from this file; staging and prod
# compile from the copy pinned by their last promotion (promote dev staging).
from: noreply@example.com
threadPoolSize: 20
connectiontimeout: 30000
"""
)

DEV = (
    SCHEMA_LINE
    + """\
# dev: the local sink `promoter dev-smtp` (127.0.0.1:2525), so that
# `promoter verify dev --to you@example.com` works on a laptop.
type: smtp
host: 127.0.0.1
port: 2525
auth:
  enable: false
"""
)

SMTP_OVERLAY = (
    SCHEMA_LINE
    + """\
# {env}: your SMTP relay over STARTTLS; the password is read from
# secrets/{env}/{purpose} (replace the placeholder there).
type: smtp
host: smtp.{env}.example.com
port: 587
auth:
  enable: true
  username: idm-mailer
  password: {{$purpose: {{name: {purpose}}}}}
starttls:
  enable: true
smtpProperties:
  mail.smtp.ssl.protocols: TLSv1.2 TLSv1.3
  mail.smtp.starttls.required: true
timeout: 30000
writetimeout: 30000
"""
)

GRAPH_OVERLAY = (
    SCHEMA_LINE
    + """\
# {env}: Microsoft Graph sendMail; clientId and clientSecret are read from
# secrets/{env}/{purpose} (a JSON object; replace the placeholders there), so that
# `promoter watch {env}` can hot-swap a rotated secret.
type: msgraph
mailEndpoint: https://graph.microsoft.com/v1.0/users/noreply@example.com/sendMail
auth:
  enable: true
  type: oauth2
  clientId: {{$purpose: {{name: {purpose}, jsonPointer: clientId}}}}
  clientSecret: {{$purpose: {{name: {purpose}, jsonPointer: clientSecret}}}}
  tokenEndpoint: https://login.microsoftonline.com/example.onmicrosoft.com/oauth2/v2.0/token
  scope:
    - https://graph.microsoft.com/.default
  grantType: client_credentials
"""
)

STORE_README = """\
# secrets/{env}/: {env}'s secret store

One file per secret purpose, named by the purpose. A file holds the value itself
(a trailing newline is ignored) or a JSON object read with `jsonPointer`.
{listing}
{kept}
promoter never prints these values: `promoter compile {env}` shows them masked,
`promoter compile {env} -o FILE` writes the real output (mode 0600).
"""

UPPER_STORE = """\
Where it comes from: it is git-ignored (.gitignore), so a clone holds only this
README. Provision it on the machines that deliver {env}: Vault Agent renders the
files here, a Kubernetes Secret is mounted here, or a person (or a CI job, from
masked variables) writes them with mode 0600. `promoter scan` refuses them in git.

Needs it: `promoter deliver {env}`, `promoter promote {src} {env} --apply`,
`promoter watch {env}`, `promoter check --require-secrets`, and a plain
`promoter promote {src} {env}` (it writes {env}'s output with the secrets in it).
Works without it: `promoter check` and the git hooks (EMAIL009 warns that the store
is not provisioned on this machine), `promoter promote {src} {env} --dry-run` (the
diff shows references), `promoter compile {env}` (masked) and `promoter scan`.
"""

STORES_README = """\
# secrets/: one secret store per environment

| store | where it comes from | needed by |
|---|---|---|
| `secrets/dev/` | committed: development values only | `deliver dev`, `watch dev` |
| `secrets/staging/` | git-ignored: Vault Agent, a Kubernetes Secret, or a person | \
`deliver staging`, `promote dev staging` (`--apply` too), `watch staging` |
| `secrets/prod/` | git-ignored: Vault Agent, a Kubernetes Secret, or a person | \
`deliver prod`, `promote staging prod` (`--apply` too), `watch prod` |

A teammate's clone or a CI job without a store is fine: a store that is missing,
empty or holds only its README is "not provisioned on this machine", and `promoter
check`, the git hooks and `promote ... --dry-run` go on with a warning (EMAIL009).
`--require-secrets` (which `deliver`, `promote --apply` and `watch` imply) makes
that a refusal. Each store's README.md lists its files.
"""

GITIGNORE = """\
# promoter: build output (it holds resolved secrets) and the staging/prod stores
/build/
/secrets/staging/*
!/secrets/staging/README.md
/secrets/prod/*
!/secrets/prod/README.md
"""


def scaffold(kind: str) -> dict[str, str]:
    """The files of a new config repo, by repo-relative path."""

    purpose = SMTP_PURPOSE if kind == "smtp" else MSGRAPH_PURPOSE
    overlay = SMTP_OVERLAY if kind == "smtp" else GRAPH_OVERLAY
    if kind == "smtp":
        placeholder = "REPLACE-WITH-THE-{env}-SMTP-PASSWORD\n"
    else:
        placeholder = (
            '{{"clientId": "00000000-0000-0000-0000-000000000000",\n'
            ' "clientSecret": "REPLACE-WITH-THE-{env}-CLIENT-SECRET"}}\n'
        )
    files = {
        "promoter.yaml": PROMOTER_YAML,
        ".gitignore": GITIGNORE,
        "environments/base.yaml": BASE,
        "environments/dev.yaml": DEV,
        "secrets/dev/README.md": STORE_README.format(
            env="dev",
            listing="\ndev sends to `promoter dev-smtp` without credentials: nothing here yet.\n",
            kept="This store may be committed: it holds development values only.\n",
        ),
    }
    for env in ("staging", "prod"):
        files[f"environments/{env}.yaml"] = overlay.format(env=env, purpose=purpose)
        files[f"secrets/{env}/{purpose}"] = placeholder.format(env=env.upper())
        files[f"secrets/{env}/README.md"] = STORE_README.format(
            env=env,
            listing=f"\n- `{purpose}`: a placeholder until you write the real value.\n",
            kept=UPPER_STORE.format(env=env, src="dev" if env == "staging" else "staging"),
        )
    files["secrets/README.md"] = STORES_README
    for name, schema in generate().items():
        files[f"{SCHEMA_DIR}/{name}"] = render(schema)
    return files


def run_init(directory: Path, *, kind: str, force: bool) -> int:
    if directory.exists() and not directory.is_dir():
        raise InputError(f"{directory} is not a directory", hint="name a new or empty directory")
    files = scaffold(kind)
    existing = [name for name in files if (directory / name).exists()]
    if existing and not force:
        shown = ", ".join(existing[:3]) + (", ..." if len(existing) > 3 else "")
        raise RefusedError(
            f"{directory}: would overwrite {shown}; nothing written",
            hint="pass --force to overwrite them",
        )

    for name, text in files.items():
        secret = name.startswith("secrets/") and not name.endswith("README.md")
        write_atomic(directory / name, text, secret=secret, display=name, backup=False)
    print(f"created a config repo in {directory} ({kind}, {len(files)} files)")
    print(
        "next: replace the placeholders in secrets/staging/ and secrets/prod/, then "
        "'promoter check' and 'promote dev staging'",
        file=sys.stderr,
    )
    return 0
