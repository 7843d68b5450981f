"""Prove new credentials work before they are delivered.

msgraph: a fresh client_credentials token request, retried with backoff while a
new Azure secret propagates (AADSTS7000215 only: an unreachable endpoint or any other
refusal fails at once). smtp: EHLO, STARTTLS or SSL as configured, AUTH,
QUIT. A failed probe raises ``VerifyError``; nothing reaches the target.
"""

from __future__ import annotations

import time
from pathlib import Path

from promoter.mail.graph import token
from promoter.mail.message import SecretNotYetValid
from promoter.mail.smtp import smtp_session
from promoter.model.email import MsGraphConfig, SmtpConfig


def probe(config: SmtpConfig | MsGraphConfig, *, ca_file: Path | None, patience_s: float) -> str:
    """Return what was proven; retry msgraph token requests for up to ``patience_s``."""
    if isinstance(config, SmtpConfig):
        smtp_session(config, ca_file=ca_file)
        return f"smtp login to {config.host}:{config.port} works"
    deadline = time.monotonic() + patience_s
    delay = 0.1
    while True:
        try:
            token(config, ca_file=ca_file)
            return "msgraph token request with the new credentials works"
        except SecretNotYetValid:  # a host that does not answer fails at once
            if time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
