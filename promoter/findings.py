"""A gate finding: a value, never an exception."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from promoter.errors import Location

Severity = Literal["deny", "warn"]
CONFIG_RULE = "CONFIG"  # the model rejected the configuration


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: Severity
    env: str
    pointer: str
    location: Location | None
    message: str
    hint: str | None = None
    waived: str | None = None  # the waiver's reason, when one applies

    @property
    def blocking(self) -> bool:
        return self.severity == "deny" and self.waived is None

    @property
    def label(self) -> str:
        """``deny``, ``warn``, or ``deny (waived: reason)``."""
        return f"{self.severity} (waived: {self.waived})" if self.waived else self.severity

    def as_dict(self) -> dict[str, object]:
        loc = self.location
        return {
            "rule": self.rule,
            "severity": self.severity,
            "env": self.env,
            "pointer": self.pointer,
            "file": loc.file if loc else None,
            "line": loc.line if loc and loc.line else None,
            "column": loc.col if loc and loc.col else None,
            "message": self.message,
            "hint": self.hint,
            "waived": self.waived,
        }
