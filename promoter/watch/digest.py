"""One HMAC key per process: digests of secret-bearing state compare only in memory.

The watcher remembers what it last delivered as a digest, never as the values; a digest
is worthless outside this process (the key is random and never written anywhere).
"""

from __future__ import annotations

import hashlib
import hmac
import os

_KEY = os.urandom(32)


def process_hmac() -> hmac.HMAC:
    """A fresh SHA-256 HMAC under this process's key."""
    return hmac.new(_KEY, digestmod=hashlib.sha256)
