"""AIC's promotion reports read as lines a person checks: what changes, what is email's."""

from __future__ import annotations

from typing import Any

EMAIL_ITEMS = ("email > provider", "external.email")


def changes(report: dict[str, Any]) -> list[str]:
    """``IDMConfig Email > Provider: modified external.email`` lines of a report."""
    body = report.get("report")
    lines: list[str] = []
    if not isinstance(body, dict):
        return lines
    for section, items in body.items():
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            what = report_text(item.get("configItem")) or "?"
            change = item.get("configChange")
            for kind in ("added", "modified", "deleted"):
                entries = change.get(kind) if isinstance(change, dict) else None
                for entry in entries if isinstance(entries, list) else []:
                    label = (
                        entry.get("name") or entry.get("uid") if isinstance(entry, dict) else entry
                    )
                    lines.append(f"{section} {what}: {kind} {report_text(label) or '?'}")
    return lines


def is_email_line(line: str) -> bool:
    lowered = line.lower()
    return any(f" {item}:" in lowered or lowered.endswith(f" {item}") for item in EMAIL_ITEMS)


def report_text(value: object) -> str:
    return value if isinstance(value, str) else ""


def report_strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
