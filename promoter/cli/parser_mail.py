"""The arguments of the commands that send mail or run beside IDM: verify, dev-smtp, watch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from promoter.cli.grammar import command, lock_wait


def _add_verify(sub: Any) -> None:
    verify = command(
        sub,
        "verify",
        "send a test email with ENV's configuration",
        "0 sent · 1 not delivered, or a template refused or missing · 2 bad input · "
        "3 the IDM target failed",
    )
    verify.add_argument("env", metavar="ENV", help="the environment")
    verify.add_argument("--to", required=True, metavar="ADDRESS", help="the recipient")
    verify.add_argument(
        "--via",
        choices=("direct", "idm"),
        default="direct",
        help="send from here (SMTP / MS Graph) or through the IDM target",
    )
    verify.add_argument("--subject", metavar="S", help="the subject line")
    verify.add_argument(
        "--templates",
        action="store_true",
        help="send every enabled email template through the IDM or AIC target instead",
    )
    verify.add_argument(
        "--template",
        action="append",
        default=[],
        metavar="NAME",
        help="send this template (repeatable; implies --templates)",
    )
    verify.add_argument("--ca-file", type=Path, metavar="F", help="CA bundle to trust (PEM)")


def _add_dev_smtp(sub: Any) -> None:
    dev_smtp = command(
        sub,
        "dev-smtp",
        "a local SMTP sink for development: any AUTH, one .eml (+ envelope .json) per message",
        "0 on SIGTERM or ^C · 2 cannot listen",
    )
    dev_smtp.add_argument(
        "--listen", default="127.0.0.1:2525", metavar="HOST:PORT", help="address to listen on"
    )
    dev_smtp.add_argument(
        "--maildir",
        type=Path,
        default=Path("build/dev/mail"),
        metavar="DIR",
        help="where messages are saved (relative: to the config repo)",
    )
    dev_smtp.add_argument("--tls", action="store_true", help="offer STARTTLS (self-signed)")
    dev_smtp.add_argument(
        "--require-starttls",
        action="store_true",
        help="refuse MAIL before STARTTLS (530 5.7.0), to test mail.smtp.starttls.required",
    )


def _add_watch(sub: Any) -> None:
    watch = command(
        sub,
        "watch",
        "hot-swap rotated credentials (a daemon)",
        "--once: 0 delivered or unchanged · 1 refused or probe failed · 2 bad input "
        "(promoter.yaml, an overlay or the store unreadable or not allowed) · 3 delivery "
        "failed; the daemon: 0 on SIGTERM · 2 bad input or the health address in use",
    )
    watch.add_argument("env", metavar="ENV", help="the environment")
    watch.add_argument("--once", action="store_true", help="one re-check, then exit")
    watch.add_argument(
        "--debounce-ms", type=int, default=200, metavar="N", help="wait after a change"
    )
    watch.add_argument(
        "--resync-s",
        type=float,
        default=300,
        metavar="N",
        help="re-check this often even without events",
    )
    watch.add_argument(
        "--health",
        metavar="HOST:PORT",
        help="serve /healthz /readyz /metrics (default: $PROMOTER_HEALTH, else none)",
    )
    watch.add_argument("--poll", action="store_true", help="poll (NFS) instead of inotify")
    watch.add_argument("--ca-file", type=Path, metavar="F", help="CA bundle for probes")
    watch.add_argument(
        "--probe-patience-s",
        type=float,
        default=30,
        metavar="N",
        help="how long to retry a new Azure secret while it propagates",
    )
    watch.add_argument(
        "--verify-to",
        metavar="ADDRESS",
        help="AIC target: the recipient of the test email that proves each rotation",
    )
    lock_wait(watch, 60.0)
