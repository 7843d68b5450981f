"""Messages for values of the wrong shape: what was expected, a hint, may the input be secret."""

from __future__ import annotations

from typing import Any

# Custom error type: messages.py words it "<field> must be <message>; found <input>".
EXPECTED = "expected"


EXPECTED_HINTS: dict[str, str] = {}  # message -> hint (metadata must stay hashable)


SECRET_SHAPES: set[str] = set()  # messages whose input may be a secret: never shown


def expected(description: str, hint: str | None = None, *, secret: bool = False) -> Any:
    """A discriminator error that says what was expected (and found: see validation)."""
    if hint:
        EXPECTED_HINTS[description] = hint
    if secret:
        SECRET_SHAPES.add(description)
    return {"custom_error_type": EXPECTED, "custom_error_message": description}
