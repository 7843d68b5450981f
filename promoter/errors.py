"""The one user-facing error type and its exit codes.

    PromoterError            exit_code set by the subclass
    ├── RefusedError         1: invalid config, a deny finding, a refused promotion
    ├── InputError           2: usage, a missing, unreadable or malformed file
    └── TargetError          3: the target was unreachable or rejected the delivery

Each carries where the problem is (``file:line:col`` or a JSON Pointer) and an optional
hint. Only ``cli`` catches it. Messages never contain a secret value.
"""

from __future__ import annotations

from dataclasses import dataclass

from promoter.untrusted import escape_control


@dataclass(frozen=True, slots=True)
class Location:
    """Where a value was authored: 1-based line and column."""

    file: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if not self.line:
            return self.file
        return f"{self.file}:{self.line}:{self.col}"


class PromoterError(Exception):
    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        pointer: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.pointer = pointer
        self.hint = hint

    def __reduce__(self) -> tuple[object, ...]:
        """Keep location and hint when a worker process sends the error back."""
        return (_rebuild, (type(self), self.message, self.location, self.pointer, self.hint))

    def where(self) -> str | None:
        if self.location is not None:
            return str(self.location)
        if self.pointer is not None:
            return self.pointer or "/"
        return None

    def __str__(self) -> str:

        where = self.where()
        text = f"{where}: {self.message}" if where else self.message
        # a file name, key or value quoted in a message must never start a line of its own
        return escape_control(f"{text} (hint: {self.hint})" if self.hint else text)


def _rebuild(
    cls: type[PromoterError],
    message: str,
    location: Location | None,
    pointer: str | None,
    hint: str | None,
) -> PromoterError:
    return cls(message, location=location, pointer=pointer, hint=hint)


class RefusedError(PromoterError):
    exit_code = 1


class InputError(PromoterError):
    exit_code = 2


class TargetError(PromoterError):
    exit_code = 3
