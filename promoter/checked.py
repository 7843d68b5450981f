"""Validate data against a model: the fast validator first, pydantic for the rest.

A valid file (nearly every check) never imports pydantic; an invalid one, or one
the fast validator is unsure of, is validated by pydantic, which words the
messages (``validation.py``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Problem:
    pointer: str
    message: str
    hint: str | None = None


# PROMOTER_VALIDATOR=pydantic skips the fast validator (to compare the two).
_FAST = os.environ.get("PROMOTER_VALIDATOR", "fast") != "pydantic"


def validate_email(data: Any) -> tuple[Any, list[Problem]]:
    """An external.email configuration: the model (SmtpConfig or MsGraphConfig), or problems."""
    if _FAST:
        from promoter._plans import EMAIL
        from promoter.fastmodel import validate

        found = validate(EMAIL, data)
        if found is not None:
            return found, []
    from promoter.model import VARIANTS
    from promoter.pipeline import email_adapter
    from promoter.validation import validate as with_pydantic

    return with_pydantic(email_adapter(), data, VARIANTS)


def validate_project(data: Any) -> tuple[Any, list[Problem]]:
    """promoter.yaml's settings (ProjectSettings), or problems."""
    if _FAST:
        from promoter._plans import PROJECT
        from promoter.fastmodel import validate

        found = validate(PROJECT, data)
        if found is not None:
            return found, []
    from promoter.validation import validate as with_pydantic

    return with_pydantic(_project_adapter(), data, _project_model())


def default_env_settings() -> Any:
    """An environment's settings when promoter.yaml says nothing of it."""
    if not _FAST:
        from promoter.projectmodel import EnvSettings

        return EnvSettings()
    from promoter._plans import PROJECT
    from promoter.fastmodel import default_of

    return default_of(PROJECT, "promoter.projectmodel.EnvSettings")


_PROJECT_ADAPTER: Any = None


def _project_adapter() -> Any:
    global _PROJECT_ADAPTER
    if _PROJECT_ADAPTER is None:
        from pydantic import TypeAdapter

        _PROJECT_ADAPTER = TypeAdapter(_project_model())
    return _PROJECT_ADAPTER


def _project_model() -> Any:
    from promoter.projectmodel import ProjectSettings

    return ProjectSettings
