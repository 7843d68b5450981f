"""The project's values: environments, their targets and stores, waivers; no loading here."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from promoter.errors import InputError, Location
from promoter.findings import Tier
from promoter.model.placeholders import Values, normalise_esv
from promoter.model.shapes import Render

if TYPE_CHECKING:
    from promoter.project.auth import AuthSettings


PROJECT_FILE = "promoter.yaml"
LEDGER_FILE = Path("ledger") / "promotions.jsonl"  # the promotion ledger (promotion/ledger.py)
CONVENTIONAL_ORDER = ("dev", "staging", "prod")
TIER_BY_NAME: dict[str, Tier] = {"dev": "development", "staging": "staging", "prod": "production"}


@dataclass(frozen=True, slots=True)
class FileTarget:
    path: Path
    display: str


@dataclass(frozen=True, slots=True)
class IdmTarget:
    url: str
    bearer_env: str | None
    username_env: str | None
    password_env: str | None
    ca_file: Path | None
    timeout: float
    retries: int
    auth: AuthSettings | None = None


@dataclass(frozen=True, slots=True)
class AicTarget:
    """An AIC tenant environment: ``url`` is https://<tenant-fqdn> (no path)."""

    url: str
    auth: AuthSettings
    ca_file: Path | None
    timeout: float
    retries: int
    poll_interval: float
    wait_timeout: float
    direct_configuration: bool = False
    esv_versions: int | None = None  # keep the newest N secret versions (None: all)

    @property
    def idm_url(self) -> str:
        return f"{self.url}/openidm"


@dataclass(frozen=True, slots=True)
class Environment:
    name: str
    tier: Tier
    overlay: Path
    overlay_display: str
    store: StoreSpec
    render: Render
    target: FileTarget | IdmTarget | AicTarget
    # ESV name as in the placeholder (esv.email.password) -> None (declared, value unknown),
    # str (a variable's value) or {"$purpose": {...}} (a secret read from the store).
    esvs: Mapping[str, None | str | dict[str, Any]] = field(hash=False)
    # IDM property substitution name -> value (None: declared, value unknown).
    properties: Mapping[str, None | str] = field(hash=False)
    require_verified: bool
    require_templates: bool  # requireVerified: templates (`verify --templates` proved it)
    # URLs the target sends credentials to: (what, url, where promoter.yaml sets it)
    target_urls: tuple[tuple[str, str, Location | None], ...] = ()

    @property
    def values(self) -> Values:
        """What this environment gives its placeholders (gates, test email)."""
        return Values(self.esvs, self.properties)


@dataclass(frozen=True, slots=True)
class Waiver:
    rule: str
    env: str
    reason: str
    expires: date
    location: Location


@dataclass(frozen=True, slots=True)
class Project:
    root: Path
    order: tuple[str, ...]
    base: Path | None
    base_display: str
    environments: dict[str, Environment]
    waivers: tuple[Waiver, ...]
    scan_examples: tuple[str, ...] = ()
    scan_allow: tuple[tuple[str, str], ...] = ()  # (fingerprint, reason)
    stages: dict[str, int] = field(default_factory=dict)  # name -> position in order

    def env(self, name: str) -> Environment:
        found = self.environments.get(name)
        if found is None:
            from promoter.suggest import did_you_mean  # lazy: off check's path

            known = ", ".join(self.environments) or "none"
            raise InputError(
                f"unknown environment '{name}' (known: {known})",
                hint=did_you_mean(name, self.environments),
            )
        return found

    def display(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()


ESV_ID_PATTERN = re.compile(r"^esv-[a-z0-9_-]{1,124}$")


def esv_id(name: str) -> str:
    """The tenant's ESV id of a placeholder name: ``esv.email.password`` -> ``esv-email-password``.

    ``esv-email-password`` (the id itself) gives the same id.
    """
    return normalise_esv(name).replace(".", "-")


@dataclass(frozen=True, slots=True)
class StoreSpec:
    directory: Path
    display: str
    format: Literal["plain", "base64"] = "plain"
    version_suffix: str | None = None
