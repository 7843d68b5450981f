"""Generate a config repo with N synthetic environments (for benchmarks).

    python -m bench.generate DEST N

Environments alternate between SMTP with STARTTLS and a $purpose password, and
MS Graph with $purpose clientId/clientSecret; each has its own secret store
with fake values. Every environment passes its gates at production tier.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

BASE = """\
from: noreply@example.com
threadPoolSize: 20
connectiontimeout: 30000
timeout: 30000
writetimeout: 30000
"""
SMTP = """\
# yaml-language-server: $schema=../schemas/overlay.schema.json
type: smtp
host: smtp{n}.example.com
port: 587
auth:
  enable: true
  username: mailer{n}
  password: {{$purpose: {{name: idm.email.smtp.password}}}}
starttls:
  enable: true
smtpProperties:
  mail.smtp.ssl.protocols: TLSv1.2 TLSv1.3
  mail.smtp.starttls.required: true
"""
GRAPH = """\
# yaml-language-server: $schema=../schemas/overlay.schema.json
type: msgraph
mailEndpoint: https://graph.microsoft.com/v1.0/users/noreply{n}@example.onmicrosoft.com/sendMail
from: noreply{n}@example.onmicrosoft.com
auth:
  enable: true
  type: oauth2
  clientId: {{$purpose: {{name: idm.email.msgraph.credentials, jsonPointer: clientId}}}}
  clientSecret: {{$purpose: {{name: idm.email.msgraph.credentials, jsonPointer: clientSecret}}}}
  tokenEndpoint: https://login.microsoftonline.com/example.onmicrosoft.com/oauth2/v2.0/token
  scope:
    - https://graph.microsoft.com/.default
"""


def generate(dest: Path, count: int) -> list[str]:
    """Write the repo; return the environment names in order."""
    envs = dest / "environments"
    envs.mkdir(parents=True, exist_ok=True)
    (envs / "base.yaml").write_text(BASE)
    names = [f"env{n:05d}" for n in range(count)]
    for n, name in enumerate(names):
        smtp = n % 2 == 0
        (envs / f"{name}.yaml").write_text((SMTP if smtp else GRAPH).format(n=n))
        store = dest / "secrets" / name
        store.mkdir(parents=True, exist_ok=True)
        if smtp:
            (store / "idm.email.smtp.password").write_text(f"fake-password-{n}\n")
        else:
            creds = {"clientId": f"fake-client-{n}", "clientSecret": f"fake-secret-{n}"}
            (store / "idm.email.msgraph.credentials").write_text(json.dumps(creds))
    return names


if __name__ == "__main__":
    generate(Path(sys.argv[1]), int(sys.argv[2]))
