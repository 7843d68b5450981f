"""TLS client contexts, built once per CA file: loading a trust store costs ~50 ms."""

from __future__ import annotations

import functools
import os
import ssl
from pathlib import Path


def client_context(ca_file: Path | None) -> ssl.SSLContext:
    """Verifying context trusting ``ca_file`` (or the system store); reused while unchanged."""
    if ca_file is None:
        return _context(None, 0)
    try:
        stamp = os.stat(ca_file).st_mtime_ns
    except OSError:
        stamp = 0  # let ssl report the missing file
    return _context(str(ca_file), stamp)


@functools.lru_cache(maxsize=8)
def _context(ca_file: str | None, stamp: int) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_file)
