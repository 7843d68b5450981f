"""What a test email is, how sending one fails, and what the SMTP and Graph senders share."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from promoter.errors import RefusedError
from promoter.net.tls import client_context


class VerifyError(RefusedError):
    """A test email that could not be delivered."""


class SecretNotYetValid(VerifyError):
    """Azure rejected the client secret (AADSTS7000215): a new one may still be propagating."""


@dataclass(frozen=True, slots=True)
class Message:
    sender: str
    to: str
    subject: str
    body: str


def seconds(ms: int) -> float | None:
    return ms / 1000 if ms else None


def tls_context(ca_file: Path | None) -> ssl.SSLContext:

    return client_context(ca_file)


def local_part_ascii(address: str) -> bool:
    return address.rsplit("@", 1)[0].isascii()
