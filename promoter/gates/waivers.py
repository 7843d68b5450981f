"""Waivers from promoter.yaml: a finding waived until its waiver expires, then shown with a note."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from promoter.findings import Finding
from promoter.project.types import Waiver


def apply_waivers(
    findings: list[Finding], waivers: tuple[Waiver, ...], today: date
) -> list[Finding]:
    out = []
    for finding in findings:
        waiver = next((w for w in waivers if (w.rule, w.env) == (finding.rule, finding.env)), None)
        if waiver is None:
            out.append(finding)
        elif waiver.expires >= today:
            out.append(replace(finding, waived=waiver.reason))
        else:
            note = f" (waiver expired {waiver.expires.isoformat()}, {waiver.location})"
            out.append(replace(finding, message=finding.message + note))
    return out
