"""Placeholders (``&{name}``, ``&{name|default}``) and the values an environment gives them.

AIC and IDM substitute ``&{name}`` when they load a config: ``esv.*`` names are the
tenant's ESVs, ``aic.*`` names are AIC's own, any other name is an IDM property.
Gates judge the value the environment will really use; :class:`Values` gives it,
or ``None`` when it is unknown (never a guess).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

PLACEHOLDER = re.compile(r"&\{([A-Za-z0-9._-]+)(?:\|([^}]*))?\}")
PLACEHOLDER_TEXT = r"&\{[A-Za-z0-9._-]+(\|[^}]*)?\}"  # for schemas: a string holding one
_EMPTY: Mapping[str, Any] = MappingProxyType({})


def normalise_esv(name: str) -> str:
    """``esv-email-password`` (the ESV's id) and ``esv.email.password`` are one ESV."""
    return name.strip().lower().replace("-", ".")


def is_exact_placeholder(value: str) -> bool:
    """``value`` is one placeholder and nothing else (``&{esv.x}``, ``&{esv.x|default}``):
    anything more, or less, in a secret field is a literal."""
    return PLACEHOLDER.fullmatch(value.strip()) is not None


def plaintext_in(value: str) -> Literal["literal", "default"] | None:
    """What makes a secret field's value plaintext: ``literal`` (anything but exactly one
    placeholder: ``x&{y}``, a lone ``&{``), ``default`` (a placeholder's ``|default``);
    None for a bare placeholder or an empty value."""
    if not value:
        return None
    if not is_exact_placeholder(value):
        return "literal"
    return "default" if any(default for _, default in placeholders(value)) else None


def placeholders(text: str) -> Iterator[tuple[str, str | None]]:
    """``(name, default)`` of each placeholder in ``text`` (default ``None`` when absent)."""
    if "&{" in text:
        for match in PLACEHOLDER.finditer(text):
            yield match.group(1), match.group(2)


def kind(name: str) -> str:
    """``esv`` (an AIC ESV), ``aic`` (AIC's own) or ``property`` (IDM property substitution)."""
    if name.startswith("esv."):
        return "esv"
    if name.startswith("aic."):
        return "aic"
    return "property"


@dataclass(frozen=True, slots=True)
class Values:
    """What one environment declares: ESV values and IDM property values."""

    esvs: Mapping[str, None | str | dict[str, Any]] = field(default_factory=lambda: _EMPTY)
    properties: Mapping[str, None | str] = field(default_factory=lambda: _EMPTY)

    def lookup(self, name: str, default: str | None) -> str | None:
        """The value ``&{name|default}`` takes here, or ``None`` when unknown.

        A declared value wins; a name declared without a value (or an ESV secret,
        whose value is not read here) is unknown; an undeclared name takes its default.
        AIC's own ``aic.*`` values are never known.
        """
        where = kind(name)
        if where == "aic":
            return None
        if where == "esv":
            key = normalise_esv(name)
            if key in self.esvs:
                value = self.esvs[key]
                return value if isinstance(value, str) else None
            return default
        if name in self.properties:
            return self.properties[name]
        return default

    def text(self, value: Any) -> str | None:
        """A string with its placeholders substituted; ``None`` if any stays unknown."""
        if not isinstance(value, str):
            return None
        if "&{" not in value:
            return value
        unknown = False

        def substitute(match: re.Match[str]) -> str:
            nonlocal unknown
            found = self.lookup(match.group(1), match.group(2))
            if found is None:
                unknown = True
                return ""
            return found

        out = PLACEHOLDER.sub(substitute, value)
        return None if unknown else out

    def integer(self, value: Any) -> int | None:
        """An integer field's value: an int, a digit string, a placeholder or ``{$int: ...}``."""
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        text = self.text(getattr(value, "expr", value))
        if text is None:
            return None
        text = text.strip()
        if text.isdigit():
            return int(text)
        try:
            number = float(text)
        except ValueError:
            return None
        return int(number) if number.is_integer() else None

    def boolean(self, value: Any) -> bool | None:
        """A boolean field's value: true/false or ``{$bool: "&{...}"}``."""
        if isinstance(value, bool):
            return value
        text = self.text(getattr(value, "expr", value))
        if text is None:
            return None
        lowered = text.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        return None


TYPED_FORMS = ("$int", "$number", "$bool", "$list", "$array", "$object")


def concrete(data: Any, values: Values) -> Any:
    """``data`` with every known placeholder substituted and AIC's typed forms applied.

    What the server would hold after substitution, as far as this environment's
    declared values tell; unknown placeholders stay as they are.
    """
    if isinstance(data, dict):
        if len(data) == 1:
            key, expr = next(iter(data.items()))
            if key in TYPED_FORMS and isinstance(expr, str):
                return _typed(key, expr, values, data)
        return {k: concrete(v, values) for k, v in data.items()}
    if isinstance(data, list):
        return [concrete(v, values) for v in data]
    if isinstance(data, str) and "&{" in data:
        text = values.text(data)
        return data if text is None else text
    return data


def _typed(key: str, expr: str, values: Values, original: Any) -> Any:

    text = values.text(expr)
    if text is None:
        return original
    try:
        if key == "$int":
            return int(text.strip())
        if key == "$number":
            number = float(text.strip())
            return int(number) if number.is_integer() else number
        if key == "$bool":
            lowered = text.strip().lower()
            return lowered == "true" if lowered in ("true", "false") else original
        if key == "$list":
            return [item.strip() for item in text.split(",") if item.strip()]
        return json.loads(text)
    except (ValueError, RecursionError):
        return original
