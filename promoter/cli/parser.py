"""The command line's grammar: every command, its flags, defaults and exit codes (declarative)."""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

FORMATS = ("text", "json", "sarif", "github")


_EXITS_WRITE = "0 done · 1 refused (EMAIL013, a gate, the lock) · 2 bad input · 3 target failed"


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's line breaks and shows each option's default."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            "default" in text
            or default in (None, False, argparse.SUPPRESS)
            or not action.option_strings
        ):
            return text
        return f"{text} (default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {_explain(message)} (hint: {_hint(message, self.prog)})\n")


def _explain(message: str) -> str:
    match = re.match(r"argument COMMAND: invalid choice: '([^']*)'", message)
    return f"unknown command '{match.group(1)}'" if match else message


def _hint(message: str, prog: str) -> str:
    match = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
    if match:
        from promoter.suggest import did_you_mean  # lazy: off check's path

        choices = re.findall(r"'([^']*)'", match.group(2))
        suggestion = did_you_mean(match.group(1), choices)
        if suggestion and suggestion.startswith("did you mean"):
            return suggestion
    return f"see '{prog} --help'"


class _Version(argparse.Action):
    """``--version``: importlib.metadata is read only when asked (off the check path)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        # lazy: importlib.metadata is off check's path
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("promoter")
        except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
            number = "unknown"
        sys.stdout.write(f"promoter {number}\n")
        parser.exit(0)


def _global_flags(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # Under a subcommand the defaults are SUPPRESS, so an absent flag keeps the top level's.
    parser.add_argument(
        "-C",
        "--project",
        type=Path,
        default=Path(".") if top else argparse.SUPPRESS,
        metavar="DIR",
        help="run as if started in DIR; the config repo is DIR or the nearest parent "
        "holding promoter.yaml or environments/ (default: the current directory)",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="show tracebacks",
    )


def _command(sub: Any, name: str, summary: str, exits: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=summary,
        description=f"{summary}.",
        epilog=f"exit codes: {exits}",
        formatter_class=_Formatter,
    )
    _global_flags(parser, top=False)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="promoter",
        description="Compile, gate, promote and hot-swap PingIDM / AIC external.email "
        "configurations.",
        epilog="exit codes: 0 ok · 1 refused · 2 bad input · 3 target failed "
        "(each command's --help lists its own)",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    _global_flags(parser, top=True)
    sub = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser, metavar="COMMAND"
    )
    for add in (
        _add_init,
        _add_check,
        _add_compile,
        _add_schema,
        _add_promote,
        _add_rollback,
        _add_history,
        _add_deliver,
        _add_diff,
        _add_scan,
        _add_verify,
        _add_dev_smtp,
        _add_watch,
        _add_hooks,
        _add_import,
    ):
        add(sub)
    return parser


def _add_init(sub: Any) -> None:
    init = _command(
        sub,
        "init",
        "create a config repo (promoter.yaml, overlays, stores, schemas) that check passes",
        "0 created · 1 a file exists (see --force) · 2 bad input",
    )
    init.add_argument(
        "directory", nargs="?", type=Path, default=Path("."), metavar="DIR", help="where"
    )
    init.add_argument(
        "--type",
        choices=("smtp", "msgraph"),
        default="smtp",
        help="what staging and prod send with",
    )
    init.add_argument("--force", action="store_true", help="overwrite files that exist")


def _add_check(sub: Any) -> None:
    check = _command(
        sub, "check", "compile and gate environments", "0 ok · 1 a deny finding · 2 bad input"
    )
    check.add_argument("envs", nargs="*", metavar="ENV", help="default: every environment")
    check.add_argument("--format", choices=FORMATS, default="text", help="output format")
    check.add_argument(
        "--require-secrets",
        action="store_true",
        help="a secret store not provisioned on this machine is a deny, not a warning",
    )
    scope = check.add_mutually_exclusive_group()
    scope.add_argument(
        "--files",
        nargs="*",
        metavar="FILE",
        help="check only the environments these changed files (from the current directory) "
        "or the index's deletions affect; every name after check is then a file",
    )
    scope.add_argument(
        "--staged",
        action="store_true",
        help="check only the environments git's staged files affect",
    )
    scope.add_argument("--all", action="store_true", help="check every environment (default)")
    check.add_argument(
        "--no-cache",
        action="store_true",
        help="neither replay nor record the result (or set PROMOTER_NO_CACHE=1)",
    )


def _add_compile(sub: Any) -> None:
    compile_ = _command(
        sub,
        "compile",
        "render one environment's external.email.json (masked unless -o)",
        "0 ok · 1 refused (a deny finding) · 2 bad input",
    )
    compile_.add_argument("env", metavar="ENV", help="the environment")
    compile_.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the real file (secret values included), atomically; '-' is stdout",
    )
    compile_.add_argument(
        "--force", action="store_true", help="allow '-o -' on a terminal (it prints secrets)"
    )


def _add_schema(sub: Any) -> None:
    schema = _command(
        sub,
        "schema",
        "print, write or check the JSON Schemas",
        "0 ok · 1 schemas/ is stale (--check) · 2 bad input",
    )
    mode = schema.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="write schemas/*.schema.json")
    mode.add_argument("--check", action="store_true", help="exit 1 when schemas/ is stale")


def _add_promote(sub: Any) -> None:
    promote = _command(
        sub, "promote", "promote SRC's validated config to the next stage DST", _EXITS_WRITE
    )
    promote.add_argument("src", metavar="SRC", help="the stage to promote from")
    promote.add_argument("dst", metavar="DST", help="the next stage")
    _writing_arguments(promote)
    promote.add_argument(
        "--allow-other-changes",
        action="store_true",
        help="AIC: also promote the lower tenant's changes outside the email provider",
    )
    promote.add_argument(
        "--description",
        metavar="TEXT",
        help="AIC: why, shown in AIC's promotion reports (default: 'promoter: SRC -> DST')",
    )
    promote.add_argument(
        "--ticket", metavar="REF", help="AIC: a ticket reference sent with the promotion"
    )


def _add_rollback(sub: Any) -> None:
    rollback = _command(sub, "rollback", "restore an earlier pin of ENV, gated again", _EXITS_WRITE)
    rollback.add_argument("env", metavar="ENV", help="the environment")
    rollback.add_argument(
        "--to", type=int, metavar="N", help="history entry N (default: the previous pin)"
    )
    _writing_arguments(rollback)


def _writing_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="output format (json: one document on stdout)",
    )
    parser.add_argument("--dry-run", action="store_true", help="show the diff, write nothing")
    parser.add_argument("--apply", action="store_true", help="also deliver to DST's target")
    parser.add_argument("--commit", action="store_true", help="git commit the pin and ledger")
    parser.add_argument("--yes", action="store_true", help="do not ask before --apply")
    lock_wait(parser, 10.0)


def lock_wait(parser: argparse.ArgumentParser, default: float) -> None:
    parser.add_argument(
        "--lock-wait",
        type=_seconds,
        default=default,
        metavar="SECONDS",
        help="how long to wait for the repo lock another promoter command holds",
    )


def _seconds(text: str) -> float:
    """A wait in seconds: finite, 0 to a day (NaN would wait for ever)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 <= value <= 86400:
        raise argparse.ArgumentTypeError(f"must be seconds from 0 to 86400 (got {text!r})")
    return value


def _add_history(sub: Any) -> None:
    history = _command(sub, "history", "the ledger entries of ENV", "0 ok · 2 bad input")
    history.add_argument("env", metavar="ENV", help="the environment")
    history.add_argument("--format", choices=("text", "json"), default="text", help="output format")


def _add_deliver(sub: Any) -> None:
    deliver = _command(
        sub,
        "deliver",
        "compile, gate and deliver ENV to its target, then read it back",
        "0 delivered · 1 refused (a gate, the lock) · 2 bad input · 3 target failed",
    )
    deliver.add_argument("env", metavar="ENV", help="the environment")
    lock_wait(deliver, 10.0)


def _add_diff(sub: Any) -> None:
    diff = _command(
        sub,
        "diff",
        "redacted diff between what ENV's target holds and what the repo compiles to",
        "0 ok (1 with --exit-code when they differ) · 2 bad input · 3 target failed",
    )
    diff.add_argument("env", metavar="ENV", help="the environment")
    diff.add_argument("--exit-code", action="store_true", help="exit 1 when they differ")
    diff.add_argument("--format", choices=("text", "json"), default="text", help="output format")


def _add_scan(sub: Any) -> None:
    scan = _command(
        sub,
        "scan",
        "find plaintext secrets before git records them",
        "0 clean · 1 a blocking finding · 2 bad input (a missing file)",
    )
    scan.add_argument(
        "paths", nargs="*", metavar="PATH", help="default: overlays, promoter.yaml and stores"
    )
    scan.add_argument("--staged", action="store_true", help="scan what git is about to commit")
    scan.add_argument("--format", choices=FORMATS, default="text", help="output format")


def _add_verify(sub: Any) -> None:
    verify = _command(
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
    dev_smtp = _command(
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
    watch = _command(
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


def _add_hooks(sub: Any) -> None:
    install = _command(
        sub,
        "install-hook",
        "install a git pre-commit hook running check --staged and scan --staged",
        "0 installed · 1 a different hook exists (see --force) · 2 bad input",
    )
    install.add_argument("--force", action="store_true", help="replace a different hook")
    _command(
        sub,
        "uninstall-hook",
        "remove promoter's git pre-commit hook",
        "0 removed or none · 1 the hook is not promoter's",
    )


def _add_import(sub: Any) -> None:
    import_ = _command(
        sub,
        "import",
        "turn existing external.email configs into this repo's overlays and stores",
        "0 imported · 1 refused (a file exists, the config is invalid) · 2 bad input · "
        "3 target failed",
    )
    import_.add_argument(
        "sources", nargs="+", metavar="SOURCE", help="FILE, export DIR, ENV=SOURCE, idm:ENV"
    )
    import_.add_argument(
        "--env", action="append", default=[], metavar="ENV", help="names the next SOURCE"
    )
    import_.add_argument("--force", action="store_true", help="replace files that exist")
