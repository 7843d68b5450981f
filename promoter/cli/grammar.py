"""The command line's grammar: the parser class, help format, global flags and the
helpers every command's arguments use (declarations only)."""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

FORMATS = ("text", "json", "sarif", "github")


EXITS_WRITE = "0 done · 1 refused (EMAIL013, a gate, the lock) · 2 bad input · 3 target failed"


class Formatter(argparse.RawDescriptionHelpFormatter):
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


class Parser(argparse.ArgumentParser):
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


class Version(argparse.Action):
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


def global_flags(parser: argparse.ArgumentParser, *, top: bool) -> None:
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


def command(sub: Any, name: str, summary: str, exits: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=summary,
        description=f"{summary}.",
        epilog=f"exit codes: {exits}",
        formatter_class=Formatter,
    )
    global_flags(parser, top=False)
    return parser


def writing_arguments(parser: argparse.ArgumentParser) -> None:
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
