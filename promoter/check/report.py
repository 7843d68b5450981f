"""Reporters: format a check result as text, json, sarif or GitHub annotations.

Results go to stdout; a reporter only formats. No secret value reaches here:
findings and errors are built without values.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from promoter.colour import emit
from promoter.errors import Location, PromoterError
from promoter.findings import CONFIG_RULE, Finding
from promoter.gates.run import RULES
from promoter.untrusted import escape_control

TOOL_URI = "https://github.com/promoter/promoter"


@dataclass(slots=True)
class EnvResult:
    env: str
    tier: str
    findings: list[Finding] = field(default_factory=list)
    error: PromoterError | None = None
    sha256: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not any(f.blocking for f in self.findings)


def exit_code(results: list[EnvResult]) -> int:
    codes = [r.error.exit_code for r in results if r.error is not None]
    codes += [1 for r in results if not r.ok and r.error is None]
    return max(codes, default=0)


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 finding``, ``3 findings``, ``0 environments``."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def sorted_findings(findings: Iterable[Finding]) -> list[Finding]:
    """By file, line and column; findings without a file last, by pointer (stable otherwise)."""

    def key(f: Finding) -> tuple[int, str, int, int, str]:
        loc = f.location
        if loc is None:
            return (1, "", 0, 0, f.pointer or "")
        return (0, loc.file, loc.line, loc.col, "")

    return sorted(findings, key=key)


def change_dicts(changes: Iterable[Any], *, redact: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Diff changes (``diff.Change``) as JSON objects, values as the text diff shows them."""
    from promoter.compile.diff import net  # lazy: off check's path

    secrets = {value for value in redact if value}
    kinds = {"+": "added", "-": "removed", "~": "changed"}
    return [
        {
            "change": kinds[c.kind],
            "pointer": c.pointer,
            "old": net(c.old, secrets),
            "new": net(c.new, secrets),
            "location": str(c.location) if c.location is not None else None,
        }
        for c in changes
    ]


def print_findings(findings: list[Finding]) -> None:
    """One line per finding on stderr, for commands whose stdout is their result."""
    lines = []
    for f in sorted_findings(findings):
        where = f.location or f.pointer or "/"
        hint = f" (hint: {f.hint})" if f.hint else ""
        line = f"{where}: {f.label} {f.rule} [{f.env}] {f.message}{hint}"
        lines.append(escape_control(line) + "\n")  # a key quoted in it cannot forge a line
    emit("".join(lines), sys.stderr)


def finding_lines(findings: list[Finding]) -> list[str]:
    """Indented text lines for findings, each with its hint on the line after."""
    lines = []
    for f in sorted_findings(findings):
        where = str(f.location) if f.location else f.pointer
        line = f"  {where}: {f.label} {f.rule} {f.message} [{f.pointer or '/'}]"
        lines.append(escape_control(line))  # a key quoted in it cannot forge a line
        if f.hint:
            lines.append(escape_control(f"    hint: {f.hint}"))
    return lines


def text(results: list[EnvResult]) -> str:
    lines = []
    for r in results:
        if r.error is not None:
            lines.append(f"{r.env} ({r.tier}): error (exit {r.error.exit_code}, see stderr)")
            continue
        denies = sum(f.blocking for f in r.findings)
        status = "refused" if denies else "ok"
        lines.append(f"{r.env} ({r.tier}): {status}, {plural(len(r.findings), 'finding')}")
        lines.extend(finding_lines(r.findings))
    lines.append(summary(results))
    return "\n".join(lines) + "\n"


def summary(results: list[EnvResult]) -> str:
    """The closing line of ``check``: how many environments, how many ok."""
    passed = sum(r.ok for r in results)
    checked = plural(len(results), "environment")
    return f"{checked} checked: {passed} ok, {len(results) - passed} not"


def as_json(results: list[EnvResult]) -> str:
    payload = {
        "ok": all(r.ok for r in results),
        "environments": [
            {
                "env": r.env,
                "tier": r.tier,
                "ok": r.ok,
                "sha256": r.sha256,
                "error": _error_dict(r.error),
                "findings": [f.as_dict() for f in sorted_findings(r.findings)],
            }
            for r in results
        ],
    }
    return json.dumps(payload, indent=2) + "\n"


def _error_dict(error: PromoterError | None) -> dict[str, object] | None:
    if error is None:
        return None
    loc = error.location
    return {
        "message": error.message,
        "file": loc.file if loc else None,
        "line": loc.line if loc and loc.line else None,
        "column": loc.col if loc and loc.col else None,
        "pointer": error.pointer,
        "hint": error.hint,
        "exit_code": error.exit_code,
    }


def sarif(results: list[EnvResult]) -> str:

    rules = [
        {
            "id": (rule.__doc__ or "").split(":", 1)[0],
            "name": rule.__name__,
            "shortDescription": {"text": (rule.__doc__ or "").split(":", 1)[1].strip()},
        }
        for rule in RULES
    ]
    rules.append({"id": CONFIG_RULE, "name": "config", "shortDescription": {"text": "invalid"}})
    out = []
    for r in results:
        findings = list(r.findings)
        if r.error is not None:
            out.append(_sarif_error(r))
        for f in sorted_findings(findings):
            out.append(_sarif_result(f))
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {"name": "promoter", "informationUri": TOOL_URI, "rules": rules}
                },
                "results": out,
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def _sarif_location(file: str | None, line: int, col: int) -> list[dict[str, object]]:
    if not file:
        return []
    physical: dict[str, object] = {"artifactLocation": {"uri": file}}
    if line:
        physical["region"] = {"startLine": line, "startColumn": max(col, 1)}
    return [{"physicalLocation": physical}]


def _sarif_result(f: Finding) -> dict[str, object]:
    loc = f.location
    result: dict[str, object] = {
        "ruleId": f.rule,
        "level": "error" if f.severity == "deny" else "warning",
        "message": {"text": f"[{f.env}] {f.message}" + (f" (hint: {f.hint})" if f.hint else "")},
        "locations": _sarif_location(
            loc.file if loc else None, loc.line if loc else 0, loc.col if loc else 0
        ),
        "properties": {"env": f.env, "pointer": f.pointer},
    }
    if f.waived:
        result["suppressions"] = [{"kind": "external", "justification": f.waived}]
    return result


def _sarif_error(r: EnvResult) -> dict[str, object]:
    assert r.error is not None
    loc = r.error.location
    return {
        "ruleId": CONFIG_RULE,
        "level": "error",
        "message": {"text": f"[{r.env}] {r.error.message}"},
        "locations": _sarif_location(
            loc.file if loc else None, loc.line if loc else 0, loc.col if loc else 0
        ),
        "properties": {"env": r.env},
    }


def github(results: list[EnvResult]) -> str:
    """GitHub Actions workflow commands: ::error file=…,line=…,col=…::message.

    Nothing else: every line on stdout is a workflow command (a caller prints its
    summary on stderr). A property value (the file name) and the message are escaped as
    GitHub defines, so no file name or message can end the command or start another.
    """
    lines = []
    for r in results:
        if r.error is not None:
            lines.append(_annotation("error", r.error.location, f"[{r.env}] {r.error}"))
        for f in sorted_findings(r.findings):
            level = "error" if f.blocking else "warning"
            message = f"[{f.env}] {f.rule} {f.message}" + (f" (hint: {f.hint})" if f.hint else "")
            lines.append(_annotation(level, f.location, message))
    return "".join(line + "\n" for line in lines)


def escape_data(text: str) -> str:
    """A workflow command's message: ``%``, CR and LF escaped, then no control left raw."""
    escaped = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return escape_control(escaped)  # ESC and the rest: never raw in a CI log


def escape_property(text: str) -> str:
    """A workflow command's property value: as ``escape_data``, and ``:`` and ``,`` too."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _annotation(level: str, loc: object, message: str) -> str:

    props = ""
    if isinstance(loc, Location):
        props = f" file={escape_property(loc.file)}"
        if loc.line:
            props += f",line={loc.line},col={loc.col}"
    return f"::{level}{props}::{escape_data(message)}"


REPORTERS: dict[str, Callable[[list[EnvResult]], str]] = {
    "text": text,
    "json": as_json,
    "sarif": sarif,
    "github": github,
}
