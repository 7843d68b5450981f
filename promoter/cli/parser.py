"""The command line: every command, its flags, defaults and exit codes (declarative).

The grammar (parser class, help format, shared flags) is in ``grammar``; the mail-side
commands' arguments in ``parser_mail``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from promoter.cli.grammar import (
    EXITS_WRITE,
    FORMATS,
    Formatter,
    Parser,
    Version,
    command,
    global_flags,
    lock_wait,
    writing_arguments,
)
from promoter.cli.parser_mail import _add_dev_smtp, _add_verify, _add_watch


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="promoter",
        description="Compile, gate, promote and hot-swap PingIDM / AIC external.email "
        "configurations.",
        epilog="exit codes: 0 ok · 1 refused · 2 bad input · 3 target failed "
        "(each command's --help lists its own)",
        formatter_class=Formatter,
    )
    parser.add_argument("--version", action=Version, help="print the version and exit")
    global_flags(parser, top=True)
    sub = parser.add_subparsers(
        dest="command", required=True, parser_class=Parser, metavar="COMMAND"
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
    init = command(
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
    check = command(
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
    compile_ = command(
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
    schema = command(
        sub,
        "schema",
        "print, write or check the JSON Schemas",
        "0 ok · 1 schemas/ is stale (--check) · 2 bad input",
    )
    mode = schema.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="write schemas/*.schema.json")
    mode.add_argument("--check", action="store_true", help="exit 1 when schemas/ is stale")


def _add_promote(sub: Any) -> None:
    promote = command(
        sub, "promote", "promote SRC's validated config to the next stage DST", EXITS_WRITE
    )
    promote.add_argument("src", metavar="SRC", help="the stage to promote from")
    promote.add_argument("dst", metavar="DST", help="the next stage")
    writing_arguments(promote)
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
    rollback = command(sub, "rollback", "restore an earlier pin of ENV, gated again", EXITS_WRITE)
    rollback.add_argument("env", metavar="ENV", help="the environment")
    rollback.add_argument(
        "--to", type=int, metavar="N", help="history entry N (default: the previous pin)"
    )
    writing_arguments(rollback)


def _add_history(sub: Any) -> None:
    history = command(sub, "history", "the ledger entries of ENV", "0 ok · 2 bad input")
    history.add_argument("env", metavar="ENV", help="the environment")
    history.add_argument("--format", choices=("text", "json"), default="text", help="output format")


def _add_deliver(sub: Any) -> None:
    deliver = command(
        sub,
        "deliver",
        "compile, gate and deliver ENV to its target, then read it back",
        "0 delivered · 1 refused (a gate, the lock) · 2 bad input · 3 target failed",
    )
    deliver.add_argument("env", metavar="ENV", help="the environment")
    lock_wait(deliver, 10.0)


def _add_diff(sub: Any) -> None:
    diff = command(
        sub,
        "diff",
        "redacted diff between what ENV's target holds and what the repo compiles to",
        "0 ok (1 with --exit-code when they differ) · 2 bad input · 3 target failed",
    )
    diff.add_argument("env", metavar="ENV", help="the environment")
    diff.add_argument("--exit-code", action="store_true", help="exit 1 when they differ")
    diff.add_argument("--format", choices=("text", "json"), default="text", help="output format")


def _add_scan(sub: Any) -> None:
    scan = command(
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


def _add_hooks(sub: Any) -> None:
    install = command(
        sub,
        "install-hook",
        "install a git pre-commit hook running check --staged and scan --staged",
        "0 installed · 1 a different hook exists (see --force) · 2 bad input",
    )
    install.add_argument("--force", action="store_true", help="replace a different hook")
    command(
        sub,
        "uninstall-hook",
        "remove promoter's git pre-commit hook",
        "0 removed or none · 1 the hook is not promoter's",
    )


def _add_import(sub: Any) -> None:
    import_ = command(
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
