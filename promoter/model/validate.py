"""Validate data against a model: the fast validator first, pydantic for the rest.

A valid file (nearly every check) never imports pydantic; an invalid one, or one
the fast validator is unsure of, is validated by pydantic, which words the
messages (``messages.py``).
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from promoter.model import _plans
from promoter.model._plans import PROJECT
from promoter.model.fast import default_of, validate
from promoter.model.problem import Problem

# PROMOTER_VALIDATOR=pydantic skips the fast validator (to compare the two).
_FAST = os.environ.get("PROMOTER_VALIDATOR", "fast") != "pydantic"


def validate_email(data: Any) -> tuple[Any, list[Problem]]:
    """An external.email configuration: the model (SmtpConfig or MsGraphConfig), or problems."""

    found = _fast(_plans.EMAIL, data)
    if found is not None:
        return found, []
    from promoter.model.email import VARIANTS  # lazy: loads pydantic, which check does not need
    from promoter.model.messages import validate  # lazy: loads pydantic, which check does not need

    return validate(email_adapter(), data, VARIANTS)


def validate_project(data: Any) -> tuple[Any, list[Problem]]:
    """promoter.yaml's settings (ProjectSettings), or problems."""

    found = _fast(_plans.PROJECT, data)
    if found is not None:
        return found, []
    from promoter.model.messages import validate  # lazy: loads pydantic, which check does not need

    # lazy: loads pydantic, which check does not need
    from promoter.model.settings import ProjectSettings

    return validate(_project_adapter(), data, ProjectSettings)


def default_env_settings() -> Any:
    """An environment's settings when promoter.yaml says nothing of it."""
    if not _FAST:
        # lazy: loads pydantic, which check does not need
        from promoter.model.settings import EnvSettings

        return EnvSettings()

    return default_of(PROJECT, "promoter.model.settings.EnvSettings")


def _fast(plan: dict[str, Any], data: Any) -> Any | None:
    if not _FAST:
        return None

    return validate(plan, data)


@cache
def email_adapter() -> Any:
    """pydantic's validator of the email model, built once (it costs tens of milliseconds)."""
    from pydantic import TypeAdapter  # lazy: pydantic only for the commands that use it

    from promoter.model.email import EmailConfig  # lazy: loads pydantic, which check does not need

    return TypeAdapter(EmailConfig)


@cache
def _project_adapter() -> Any:
    from pydantic import TypeAdapter  # lazy: pydantic only for the commands that use it

    # lazy: loads pydantic, which check does not need
    from promoter.model.settings import ProjectSettings

    return TypeAdapter(ProjectSettings)
