"""What one re-check of the watcher did: its result label, message and exit code."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class ReloadOutcome:
    result: str  # success | unchanged | refused | probe-failed | delivery-failed | error
    # | lock-busy (another promoter command holds the repo lock) | changed (during the probe)
    message: str
    exit_code: int = 0
