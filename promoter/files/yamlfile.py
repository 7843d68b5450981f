"""Load one YAML file into plain data plus the location of every value.

Uses ruamel.yaml's C composer (line and column survive) and builds the Python
values itself, which is where the input rules live: one document, no duplicate
keys, no tabs, UTF-8 only, string keys, and a cap on alias expansion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.cyaml import CParser  # type: ignore[attr-defined]
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import ScalarNode, SequenceNode
from ruamel.yaml.resolver import implicit_resolvers
from ruamel.yaml.tag import Tag

from promoter.errors import InputError, Location
from promoter.files.safeopen import NotRegular, TooLarge, read_file
from promoter.files.yamlnodes import _TAG, NodeBuilder

# YAML 1.2's printable set excludes these (tab is reported on its own, with its own hint)
_NOT_YAML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
MAX_FILE_BYTES = 1024 * 1024


@dataclass(slots=True)
class Doc:
    """Plain JSON-like data and ``pointer -> Location`` of each key or item."""

    data: Any
    locs: dict[str, Location] = field(default_factory=dict)
    file: str = ""

    def loc(self, pointer: str) -> Location:
        """The location of ``pointer``, or of its nearest located ancestor."""
        probe = pointer
        while True:
            found = self.locs.get(probe)
            if found is not None:
                return found
            if not probe:
                return Location(self.file, 1, 1)
            probe = probe.rsplit("/", 1)[0]


def read_text(path: Path, display: str) -> str:
    """Read a UTF-8 text file; any failure is an InputError naming the file.

    A FIFO, device or directory is refused without waiting or reading it; at most
    1 MiB + 1 byte is read, whatever the file's size.
    """

    try:
        raw = read_file(path, MAX_FILE_BYTES)
    except FileNotFoundError:
        raise InputError("no such file", location=Location(display)) from None
    except NotRegular:
        raise InputError("not a regular file", location=Location(display)) from None
    except TooLarge:
        raise InputError("file is larger than 1 MiB", location=Location(display)) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", location=Location(display)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _line_col(raw[: exc.start].decode("utf-8", "replace"))
        raise InputError(
            "not valid UTF-8",
            location=Location(display, line, col),
            hint="save the file as UTF-8",
        ) from None
    return text.removeprefix("\ufeff")


def _line_col(prefix: str) -> tuple[int, int]:
    line = prefix.count("\n") + 1
    return line, len(prefix) - (prefix.rfind("\n") + 1) + 1


def load_yaml(path: Path, display: str) -> Doc:
    """Load ``path``; ``display`` is the name used in messages (repo-relative)."""
    return parse_yaml(read_text(path, display), display)


def parse_yaml(text: str, display: str) -> Doc:
    tab = text.find("\t")
    if tab >= 0:
        line, col = _line_col(text[:tab])
        raise InputError(
            "tab character", location=Location(display, line, col), hint="indent with spaces"
        )
    bad = _NOT_YAML.search(text)
    if bad is not None:  # the parsers refuse these with an exception that has no mark
        line, col = _line_col(text[: bad.start()])
        raise InputError(
            f"control character U+{ord(bad.group()):04X} is not allowed in YAML",
            location=Location(display, line, col),
            hint="remove it; inside double quotes an escape such as \\a is allowed",
        )
    node = _compose(text, display)
    doc = Doc(data=None, file=display)
    if node is not None:
        doc.data = NodeBuilder(display, doc.locs).build(node, "")
    return doc


def _compose(text: str, display: str) -> Any:
    """The node tree, from the C parser, or from the exact parser where the C one refuses.

    libyaml refuses some valid YAML 1.2 (a flow mapping holding a URL:
    ``{idm: https://idm.example.com/openidm}``); ruamel.yaml's pure-Python parser
    reads it. A file both refuse keeps the C parser's message.
    """

    loader = _composer_class()(text)
    try:
        return loader.get_single_node()
    except MarkedYAMLError as exc:
        first = exc
    finally:
        loader.dispose()
    try:
        return _compose_exact(text)
    except MarkedYAMLError:
        raise _yaml_error(first, display) from None


def _compose_exact(text: str) -> Any:

    return YAML(typ="safe", pure=True).compose(text)


def _yaml_error(exc: Any, display: str) -> InputError:
    mark = exc.problem_mark or exc.context_mark
    where = Location(display, mark.line + 1, mark.column + 1) if mark else Location(display)
    problem = exc.problem or exc.context or "invalid YAML"
    if "another document" in problem:
        problem, hint = "more than one YAML document", "keep one document per file"
    else:
        hint = None
    return InputError(f"invalid YAML: {problem}", location=where, hint=hint)


_COMPOSER: Any = None


def _composer_class() -> Any:
    """ruamel.yaml's C parser with a lean YAML 1.2 resolver, built once.

    ruamel.yaml builds a loader class per call and resolves each scalar through
    a version lookup; both dominate when loading hundreds of small overlays.
    """
    global _COMPOSER
    if _COMPOSER is None:
        _COMPOSER = type("_Composer", (CParser, _Resolver12), {"__init__": _composer_init})
    return _COMPOSER


def _composer_init(self: Any, stream: str) -> None:

    CParser.__init__(self, stream)


class _Resolver12:
    """Implicit tags of the YAML 1.2 core schema, the rules ruamel.yaml applies by default."""

    _by_first: dict[str | None, list[tuple[Any, Any]]] | None = None
    _tags: dict[str, Any] = {}  # shared Tag objects: each decodes its name once

    def descend_resolver(self, parent: Any, index: Any) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass

    def resolve(self, kind: Any, value: str, implicit: Any) -> Any:

        table = self._table()
        if kind is ScalarNode:
            if implicit[0]:
                for tag, regexp in table.get(value[:1], table[None]):
                    if regexp.match(value):
                        return tag
            return self._tags["str"]
        return self._tags["seq" if kind is SequenceNode else "map"]

    @classmethod
    def _table(cls) -> dict[str | None, list[tuple[Any, Any]]]:
        """First character -> (tag, regexp) rules to try; ``None``: rules for any character."""
        if cls._by_first is None:
            cls._tags = {k: Tag(suffix=_TAG + k) for k in ("str", "seq", "map")}
            shared: dict[str, Any] = {}
            rules: list[tuple[Any, Any, Any]] = [
                (shared.setdefault(tag, Tag(suffix=tag)), rx, first)
                for versions, tag, rx, first in implicit_resolvers
                if (1, 2) in versions
            ]
            anywhere = [(tag, rx) for tag, rx, first in rules if first is None]
            table: dict[str | None, list[tuple[Any, Any]]] = {None: anywhere}
            for tag, regexp, first in rules:
                for char in first or ():
                    table.setdefault(char, []).append((tag, regexp))
            for char in table:
                if char is not None:
                    table[char] += anywhere
            cls._by_first = table
        return cls._by_first
