"""A problem the model found in a document: where it is and what is wrong, as plain data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    pointer: str
    message: str
    hint: str | None = None
