"""What ``promoter watch`` is asked to do, and the bounds that keep it from spinning or sleeping."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from promoter.errors import InputError
from promoter.project.types import AicTarget

DEBOUNCE_CAP = 10  # a steady stream of events delays a reload by at most 10 debounces


MAX_DEBOUNCE_S = 60.0


MIN_RESYNC_S = 1.0


@dataclass(frozen=True, slots=True)
class WatchOptions:
    env: str
    debounce_s: float = 0.2
    resync_s: float = 300.0
    poll: bool = False
    health: str | None = None  # HOST:PORT
    health_from: str = "--health"  # or PROMOTER_HEALTH: named in its errors
    ca_file: Path | None = None
    probe_patience_s: float = 30.0
    verify_to: str | None = None  # recipient of the test email that proves an AIC rotation
    lock_wait: float = 60.0  # for the repo lock, before each write (then retried)


def check_options(options: WatchOptions) -> None:
    """Intervals that would make the daemon spin or never wake are usage errors (exit 2)."""
    bounds = (
        ("--debounce-ms", options.debounce_s * 1000, 0.0, MAX_DEBOUNCE_S * 1000),
        ("--resync-s", options.resync_s, MIN_RESYNC_S, 7 * 24 * 3600.0),
        ("--probe-patience-s", options.probe_patience_s, 0.0, 3600.0),
    )
    if options.health is not None:
        health_address(options.health, source=options.health_from)
    for flag, value, low, high in bounds:
        if not math.isfinite(value) or not low <= value <= high:
            raise InputError(
                f"{flag} must be between {low:g} and {high:g} (got {value:g})",
                hint="the defaults are --debounce-ms 200 --resync-s 300 --probe-patience-s 30",
            )


def health_address(text: str, *, source: str = "--health") -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) with a port in 0..65535, or exit 2."""
    host, _, port = text.rpartition(":")
    if not (port.isascii() and port.isdigit() and len(port) <= 5 and int(port) <= 65535):
        raise InputError(
            f"{source} must be HOST:PORT with a port from 0 to 65535 (got {text!r})",
            hint="e.g. --health 127.0.0.1:9100",
        )
    return host.strip("[]") or "127.0.0.1", int(port)


def check_recipient(target: object, verify_to: str | None, env: str) -> None:
    """A watcher on an AIC target needs a recipient for its test emails (exit 2 without)."""
    if not isinstance(target, AicTarget):
        return
    local, _, domain = (verify_to or "").rpartition("@")
    if not local or not domain:
        raise InputError(
            f"watch {env}: an AIC target needs --verify-to ADDRESS"
            + (f" (got '{verify_to}')" if verify_to else ""),
            hint="every rotation is proven by a test email through the tenant before the "
            "previous ESV secret version is disabled; name a mailbox that accepts it",
        )
