"""What one re-check of the watcher did: its result label, message and exit code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Result = Literal[
    "success",
    "unchanged",
    "refused",
    "probe-failed",
    "delivery-failed",
    "error",
    "lock-busy",  # another promoter command holds the repo lock: retried at once
    "changed",  # the repo changed while the new credentials were probed: re-checked at once
]
RESULTS: tuple[str, ...] = get_args(Result)
"""Every result a re-check can have: each ``promoter_reloads_total`` series exists at 0."""


@dataclass(slots=True)
class ReloadOutcome:
    result: Result
    message: str
    exit_code: int = 0
