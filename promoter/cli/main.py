"""Command line: parse arguments, run one command, turn errors into exit codes.

Exit codes: 0 success · 1 refused · 2 usage or unreadable input · 3 target
unreachable or rejected · 130 interrupted · 141 stdout closed early (``| head``).
Errors go to stderr as one line, ``error: FILE:LINE:COL: message (hint: …)``; a
traceback only with ``--debug``.

Adding a command: its grammar in ``parser.py`` (an ``_add_<name>(sub)`` called from
``build_parser``), its work in ``commands/<name>.py``, and a branch in ``_dispatch``.
Commands that do not need a config repo go in ``NO_REPO``.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from promoter.cli.parser import build_parser
from promoter.errors import InputError, PromoterError

# Commands that run outside a config repo (the rest find it upward, as git does).
NO_REPO = frozenset({"init", "dev-smtp", "import"})


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command not in ("watch", "dev-smtp"):
        # A short-lived run allocates many small objects (imports, parsed YAML) and frees
        # them at exit: fewer young-generation collections save ~5% of `check`.
        gc.set_threshold(100_000, 50, 100)
    try:
        code = _run(args)
        sys.stdout.flush()
    except BrokenPipeError:
        return _stdout_closed()
    return code


def promote_main(argv: Sequence[str] | None = None) -> int:
    """The ``promote`` console script: ``promote SRC DST`` is ``promoter promote SRC DST``."""
    return main(["promote", *(sys.argv[1:] if argv is None else argv)])


def _stdout_closed() -> int:
    """The reader went away (``| head``): stop quietly, as cat and git do (128 + SIGPIPE)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush must not fail
    return 141


def _run(args: argparse.Namespace) -> int:
    try:
        return _dispatch(args, _root(args))
    except BrokenPipeError:
        raise
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


def _health(flag: str | None) -> tuple[str | None, str]:
    """``--health``, else ``PROMOTER_HEALTH`` (one address per systemd instance's env file)."""
    if flag is not None:
        return flag, "--health"
    return os.environ.get("PROMOTER_HEALTH") or None, "PROMOTER_HEALTH"


def _root(args: argparse.Namespace) -> Path:
    """``-C`` first (like git, relative paths then start there), then the repo upward."""
    start: Path = args.project
    args.origin = Path.cwd()  # paths a hook passes are relative to it, not to -C DIR
    if start != Path("."):
        if not start.is_dir():
            raise InputError(
                f"-C {start}: no such directory", hint="pass a config repo's directory"
            )
        os.chdir(start)
    from promoter.project.repo import find_root

    cwd = Path.cwd()
    root = find_root(cwd)
    if root is not None:
        return root
    if args.command in NO_REPO or (args.command == "schema" and not (args.write or args.check)):
        return cwd
    raise InputError(
        "not a config repo (no environments/ here or above)",
        location=None,
        hint="run it in a config repo, pass -C DIR, or create one with 'promoter init'",
    )


def _dispatch(args: argparse.Namespace, root: Path) -> int:
    # Each branch imports its command lazily: a run loads only the command it runs (check
    # must not pay for httpx, watchdog or pydantic that other commands need).
    if args.command == "check":
        from promoter.cli.commands.check import run_check

        return run_check(
            root,
            [] if args.files is not None else args.envs,  # a hook's args precede its files
            fmt=args.format,
            require_secrets=args.require_secrets,
            use_cache=not args.no_cache,
            files=None if args.all or args.files is None else [*args.files, *args.envs],
            staged=args.staged,
            origin=args.origin,
        )
    if args.command == "compile":
        from promoter.cli.commands.compile import run_compile

        return run_compile(root, args.env, output=args.output, force=args.force)
    if args.command == "schema":
        from promoter.cli.commands.schema import run_schema

        return run_schema(root, write=args.write, check=args.check)
    if args.command == "promote":
        from promoter.cli.commands.promote import run_promote

        return run_promote(root, args.src, args.dst, _write_options(args))
    if args.command == "rollback":
        from promoter.cli.commands.promote import run_rollback

        return run_rollback(root, args.env, to=args.to, options=_write_options(args))
    if args.command == "history":
        from promoter.cli.commands.history import run_history

        return run_history(root, args.env, fmt=args.format)
    if args.command == "deliver":
        from promoter.cli.commands.deliver import run_deliver

        return run_deliver(root, args.env, lock_wait=args.lock_wait)
    if args.command == "verify" and (args.templates or args.template):
        from promoter.cli.commands.verify_templates import run_verify_templates

        return run_verify_templates(root, args.env, to=args.to, names=args.template)
    if args.command == "verify":
        from promoter.cli.commands.verify import run_verify

        ca_file = args.ca_file.resolve() if args.ca_file else None
        return run_verify(
            root, args.env, to=args.to, via=args.via, subject=args.subject, ca_file=ca_file
        )
    if args.command == "dev-smtp":
        from promoter.mail.devsmtp import run_dev_smtp

        maildir = args.maildir if args.maildir.is_absolute() else root / args.maildir
        return run_dev_smtp(
            args.listen, maildir, tls=args.tls, require_starttls=args.require_starttls
        )
    if args.command == "watch":
        from promoter.watch.daemon import run_watch
        from promoter.watch.options import WatchOptions

        health, health_from = _health(args.health)
        options = WatchOptions(
            env=args.env,
            debounce_s=args.debounce_ms / 1000,
            resync_s=args.resync_s,
            poll=args.poll,
            health=health,
            health_from=health_from,
            ca_file=args.ca_file.resolve() if args.ca_file else None,
            probe_patience_s=args.probe_patience_s,
            verify_to=args.verify_to,
            lock_wait=args.lock_wait,
        )
        return run_watch(root, options, once=args.once)
    if args.command == "scan":
        from promoter.cli.commands.scan import run_scan

        return run_scan(root, args.paths, staged=args.staged, fmt=args.format, origin=args.origin)
    if args.command == "install-hook":
        from promoter.cli.commands.hooks import run_install

        return run_install(root, force=args.force)
    if args.command == "uninstall-hook":
        from promoter.cli.commands.hooks import run_uninstall

        return run_uninstall(root)
    if args.command == "init":
        from promoter.cli.commands.init import run_init

        return run_init(args.directory, kind=args.type, force=args.force)
    if args.command == "import":
        from promoter.cli.commands.import_ import run_import

        return run_import(root, args.sources, args.env, force=args.force)
    if args.command == "diff":
        from promoter.cli.commands.deliver import run_diff

        return run_diff(root, args.env, exit_code=args.exit_code, fmt=args.format)
    raise AssertionError(args.command)  # pragma: no cover - argparse guards this


def _write_options(args: argparse.Namespace) -> Any:
    from promoter.cli.commands.promote_io import WriteOptions

    return WriteOptions(
        dry_run=args.dry_run,
        apply=args.apply,
        commit=args.commit,
        yes=args.yes,
        lock_wait=args.lock_wait,
        allow_other_changes=getattr(args, "allow_other_changes", False),
        fmt=args.format,
        description=getattr(args, "description", None),
        ticket=getattr(args, "ticket", None),
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
