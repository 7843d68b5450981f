"""Command line: parse arguments, run one command, turn errors into exit codes.

Exit codes: 0 success · 1 refused · 2 usage or unreadable input · 3 target
unreachable or rejected · 130 interrupted. Errors go to stderr as one line,
``error: FILE:LINE:COL: message (hint: …)``; a traceback only with ``--debug``.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from promoter.errors import PromoterError

FORMATS = ("text", "json", "sarif", "github")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message} (hint: see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="promoter",
        description="Compile, gate, promote and hot-swap PingIDM / AIC external.email "
        "configurations. Exit codes: 0 ok, 1 refused, 2 bad input, 3 target failed.",
    )
    parser.add_argument(
        "-C",
        "--project",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="the config repo (default: the current directory)",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    check = sub.add_parser("check", help="compile and gate environments")
    check.add_argument("envs", nargs="*", metavar="ENV", help="default: every environment")
    check.add_argument("--format", choices=FORMATS, default="text")
    check.add_argument(
        "--require-secrets",
        action="store_true",
        help="an absent secret store is a deny, not a warning",
    )
    scope = check.add_mutually_exclusive_group()
    scope.add_argument(
        "--files",
        nargs="*",
        metavar="FILE",
        help="check only the environments these changed files affect",
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

    compile_ = sub.add_parser("compile", help="render one environment's external.email.json")
    compile_.add_argument("env", metavar="ENV")
    compile_.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="write the real file (secret values included), atomically",
    )

    schema = sub.add_parser("schema", help="print or write the JSON Schemas")
    mode = schema.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="write schemas/*.schema.json")
    mode.add_argument("--check", action="store_true", help="exit 1 when schemas/ is stale")

    promote = sub.add_parser("promote", help="promote SRC's validated config to the next stage")
    _promote_arguments(promote)
    _more_commands(sub)
    return parser


def _promote_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("src", metavar="SRC")
    parser.add_argument("dst", metavar="DST")
    _writing_arguments(parser)


def _writing_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="show the diff, write nothing")
    parser.add_argument("--apply", action="store_true", help="also deliver to the IDM target")
    parser.add_argument("--commit", action="store_true", help="git commit the pin and ledger")
    parser.add_argument("--yes", action="store_true", help="do not ask before --apply")
    parser.add_argument(
        "--lock-wait",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long to wait for another promotion (default 10)",
    )


def _more_commands(sub: Any) -> None:
    rollback = sub.add_parser("rollback", help="restore an earlier pin of ENV, gated again")
    rollback.add_argument("env", metavar="ENV")
    rollback.add_argument(
        "--to", type=int, metavar="N", help="history entry N (default: the previous pin)"
    )
    _writing_arguments(rollback)

    history = sub.add_parser("history", help="the ledger entries of ENV")
    history.add_argument("env", metavar="ENV")
    history.add_argument("--format", choices=("text", "json"), default="text")

    deliver = sub.add_parser("deliver", help="compile, gate and deliver ENV to its target")
    deliver.add_argument("env", metavar="ENV")

    diff = sub.add_parser("diff", help="redacted diff between ENV's target and the repo")
    diff.add_argument("env", metavar="ENV")
    diff.add_argument("--exit-code", action="store_true", help="exit 1 when they differ")

    scan = sub.add_parser("scan", help="find plaintext secrets before git records them")
    scan.add_argument("paths", nargs="*", metavar="PATH", help="default: overlays and stores")
    scan.add_argument("--staged", action="store_true", help="scan what git is about to commit")
    scan.add_argument("--format", choices=FORMATS, default="text")

    verify = sub.add_parser("verify", help="send a test email with ENV's configuration")
    verify.add_argument("env", metavar="ENV")
    verify.add_argument("--to", required=True, metavar="ADDRESS")
    verify.add_argument("--via", choices=("direct", "idm"), default="direct")
    verify.add_argument("--subject", metavar="S")
    verify.add_argument("--ca-file", type=Path, metavar="F", help="CA bundle to trust (PEM)")

    dev_smtp = sub.add_parser("dev-smtp", help="a local SMTP sink for development")
    dev_smtp.add_argument("--listen", default="127.0.0.1:2525", metavar="HOST:PORT")
    dev_smtp.add_argument("--maildir", type=Path, default=Path("build/dev/mail"), metavar="DIR")
    dev_smtp.add_argument("--tls", action="store_true", help="offer STARTTLS (self-signed)")

    watch = sub.add_parser("watch", help="hot-swap rotated credentials (a daemon)")
    watch.add_argument("env", metavar="ENV")
    watch.add_argument("--once", action="store_true", help="one re-check, then exit")
    watch.add_argument("--debounce-ms", type=int, default=200, metavar="N")
    watch.add_argument("--resync-s", type=float, default=300.0, metavar="N")
    watch.add_argument("--health", metavar="HOST:PORT", help="serve /healthz /readyz /metrics")
    watch.add_argument("--poll", action="store_true", help="poll (NFS) instead of inotify")
    watch.add_argument("--ca-file", type=Path, metavar="F", help="CA bundle for probes")
    watch.add_argument(
        "--probe-patience-s",
        type=float,
        default=30.0,
        metavar="N",
        help="how long to retry a new Azure secret while it propagates",
    )

    import_ = sub.add_parser("import", help="turn existing external.email configs into this repo")
    import_.add_argument("sources", nargs="+", metavar="SOURCE", help="FILE, DIR, idm:ENV, ...")
    import_.add_argument("--env", action="append", default=[], metavar="ENV", help="per source")
    import_.add_argument("--force", action="store_true", help="replace files that exist")

    install = sub.add_parser("install-hook", help="install a git pre-commit hook")
    install.add_argument("--force", action="store_true", help="replace a different hook")
    sub.add_parser("uninstall-hook", help="remove promoter's git pre-commit hook")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command not in ("watch", "dev-smtp"):
        # A short-lived run allocates many small objects (imports, parsed YAML) and frees
        # them at exit: fewer young-generation collections save ~5% of `check`.
        gc.set_threshold(100_000, 50, 100)
    return _run(args)


def promote_main(argv: Sequence[str] | None = None) -> int:
    """The ``promote`` console script: ``promote SRC DST`` is ``promoter promote SRC DST``."""
    return main(["promote", *(sys.argv[1:] if argv is None else argv)])


def _run(args: argparse.Namespace) -> int:
    try:
        return _dispatch(args)
    except PromoterError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line, never the message (it could hold a value)
        if args.debug:
            raise
        print(
            f"error: internal error ({type(exc).__name__}); rerun with --debug for details",
            file=sys.stderr,
        )
        return 1


def _dispatch(args: argparse.Namespace) -> int:
    root = args.project.resolve()
    if args.command == "check":
        from promoter.commands.check import run_check

        return run_check(
            root,
            args.envs,
            fmt=args.format,
            require_secrets=args.require_secrets,
            use_cache=not args.no_cache,
            files=None if args.all else args.files,
            staged=args.staged,
        )
    if args.command == "compile":
        from promoter.commands.compile import run_compile

        return run_compile(root, args.env, output=args.output)
    if args.command == "schema":
        from promoter.commands.schema import run_schema

        return run_schema(root, write=args.write, check=args.check)
    if args.command == "promote":
        from promoter.commands.promote import run_promote

        return run_promote(root, args.src, args.dst, _write_options(args))
    if args.command == "rollback":
        from promoter.commands.promote import run_rollback

        return run_rollback(root, args.env, to=args.to, options=_write_options(args))
    if args.command == "history":
        from promoter.commands.history import run_history

        return run_history(root, args.env, fmt=args.format)
    if args.command == "deliver":
        from promoter.commands.deliver import run_deliver

        return run_deliver(root, args.env)
    if args.command == "verify":
        from promoter.commands.verify import run_verify

        ca_file = args.ca_file.resolve() if args.ca_file else None
        return run_verify(
            root, args.env, to=args.to, via=args.via, subject=args.subject, ca_file=ca_file
        )
    if args.command == "dev-smtp":
        from promoter.devsmtp import run_dev_smtp

        maildir = args.maildir if args.maildir.is_absolute() else root / args.maildir
        return run_dev_smtp(args.listen, maildir, tls=args.tls)
    if args.command == "watch":
        from promoter.watch import WatchOptions, run_watch

        options = WatchOptions(
            env=args.env,
            debounce_s=args.debounce_ms / 1000,
            resync_s=args.resync_s,
            poll=args.poll,
            health=args.health,
            ca_file=args.ca_file.resolve() if args.ca_file else None,
            probe_patience_s=args.probe_patience_s,
        )
        return run_watch(root, options, once=args.once)
    if args.command == "scan":
        from promoter.commands.scan import run_scan

        return run_scan(root, args.paths, staged=args.staged, fmt=args.format)
    if args.command == "install-hook":
        from promoter.commands.hooks import run_install

        return run_install(root, force=args.force)
    if args.command == "uninstall-hook":
        from promoter.commands.hooks import run_uninstall

        return run_uninstall(root)
    if args.command == "import":
        from promoter.commands.import_ import run_import

        return run_import(root, args.sources, args.env, force=args.force)
    if args.command == "diff":
        from promoter.commands.deliver import run_diff

        return run_diff(root, args.env, exit_code=args.exit_code)
    raise AssertionError(args.command)  # pragma: no cover - argparse guards this


def _write_options(args: argparse.Namespace) -> Any:
    from promoter.commands.promote import WriteOptions

    return WriteOptions(
        dry_run=args.dry_run,
        apply=args.apply,
        commit=args.commit,
        yes=args.yes,
        lock_wait=args.lock_wait,
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
