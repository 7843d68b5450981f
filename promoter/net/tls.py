"""TLS client contexts, built once per CA file: loading a trust store costs ~50 ms."""

from __future__ import annotations

import functools
import os
import ssl
from pathlib import Path

from promoter.errors import InputError
from promoter.files.safeopen import Unreadable, read_text_file

MAX_CA_BYTES = 4 * 1024 * 1024  # a full public bundle is ~250 KB


def client_context(ca_file: Path | None) -> ssl.SSLContext:
    """Verifying context trusting ``ca_file`` (or the system store); reused while unchanged.

    The file is read as overlays are (non-blocking, a regular file only, bounded): a FIFO,
    a device or ``/dev/zero`` named as ``caFile`` is an input error, never a hang."""
    if ca_file is None:
        return _context(None, 0)
    try:
        stamp = os.stat(ca_file).st_mtime_ns
    except OSError:
        stamp = 0  # read_text_file below names the problem
    return _context(str(ca_file), stamp)


@functools.lru_cache(maxsize=8)
def _context(ca_file: str | None, stamp: int) -> ssl.SSLContext:
    if ca_file is None:
        return ssl.create_default_context()
    try:
        pem = read_text_file(ca_file, MAX_CA_BYTES)
    except Unreadable as exc:
        raise _unusable(ca_file, exc.reason) from None
    try:
        return ssl.create_default_context(cadata=pem)
    except (ssl.SSLError, ValueError):
        raise _unusable(ca_file, "no PEM certificate in it") from None


def _unusable(ca_file: str, reason: str) -> InputError:
    return InputError(
        f"cannot use the CA file {ca_file}: {reason}",
        hint="caFile (or --ca-file) names a PEM file of CA certificates",
    )
