"""Read a systemd unit and an EnvironmentFile as systemd does, for running a unit's
ExecStart line outside systemd (tests of deploy/systemd/)."""

from __future__ import annotations

import shlex
from pathlib import Path


def read_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """Sections -> key -> every value (a key may repeat), comments and blank lines dropped."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"{path}: {line!r} before any section"
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def expand(value: str, instance: str) -> str:
    """The specifiers the shipped unit uses: %i (the instance) and %% (a percent sign)."""
    out, chars = [], iter(value)
    for char in chars:
        if char != "%":
            out.append(char)
            continue
        spec = next(chars)
        assert spec in "i%", f"specifier %{spec} is not handled here"
        out.append(instance if spec == "i" else "%")
    return "".join(out)


def read_environment_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; '#' and ';' comments; single or double quotes around a value."""
    env: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        key, _, value = line.partition("=")
        words = shlex.split(value, comments=False) if value.strip() else [""]
        env[key.strip()] = " ".join(words)
    return env


def exec_argv(line: str) -> list[str]:
    """An Exec line's argv: systemd's '-', '@', '+', '!' prefixes are not used by the unit."""
    assert line[:1] not in "-@+!:", f"prefix {line[:1]!r} is not handled here"
    return shlex.split(line)
