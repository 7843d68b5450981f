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


Tier = Literal["development", "staging", "production"]


D: Severity = "deny"


W: Severity = "warn"


SEVERITY: dict[str, tuple[Severity | None, Severity | None, Severity | None]] = {
    # check: (development, staging, production)
    "EMAIL001": (None, D, D),
    "EMAIL002": (W, D, D),
    "EMAIL003": (W, W, D),
    "EMAIL003/starttls-required": (None, W, W),
    "EMAIL004": (D, D, D),
    "EMAIL005": (None, W, D),
    "EMAIL006": (None, W, W),
    "EMAIL007": (D, D, D),
    "EMAIL008": (W, D, D),
    "EMAIL008/target-http": (W, W, D),
    "EMAIL009": (D, D, D),
    "EMAIL009/property": (W, W, W),
    "EMAIL010": (W, W, W),
    "EMAIL011": (None, W, W),
    "EMAIL012": (W, W, W),
    "EMAIL013": (D, D, D),
    "EMAIL014": (W, W, W),
    "EMAIL015": (D, D, D),
    "EMAIL016": (None, D, D),  # a promotion rule: see promotion/aic_stages.email016
    "EMAIL017": (D, D, D),
    "EMAIL018": (W, W, W),
}


_TIER_INDEX = {"development": 0, "staging": 1, "production": 2}


def severity_of(check: str, tier: Tier) -> Severity | None:
    return SEVERITY[check][_TIER_INDEX[tier]]
