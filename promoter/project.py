"""The project: promoter.yaml (all keys optional) and the conventions without it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, TypeAdapter

from promoter.errors import InputError, Location
from promoter.references import normalise_esv
from promoter.secretstore import StoreSpec
from promoter.validation import validate
from promoter.yamlfile import Doc, load_yaml

PROJECT_FILE = "promoter.yaml"
Tier = Literal["development", "staging", "production"]
Render = Literal["resolved", "references"]
CONVENTIONAL_ORDER = ("dev", "staging", "prod")
TIER_BY_NAME: dict[str, Tier] = {"dev": "development", "staging": "staging", "prod": "production"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)


class StoreSettings(_Strict):
    directory: str
    format: Literal["plain", "base64"] = "plain"
    versionSuffix: str | None = Field(None, min_length=1)


class FileTargetSettings(_Strict):
    file: str


class IdmTargetSettings(_Strict):
    idm: str = Field(description="Base URL, e.g. https://idm.example.com/openidm")
    bearerEnv: str | None = None
    usernameEnv: str | None = None
    passwordEnv: str | None = None
    caFile: str | None = None
    timeout: float = Field(30.0, gt=0)
    retries: int = Field(3, ge=0, le=10)


def _target_kind(value: Any) -> str:
    return "<idm>" if isinstance(value, dict) and "idm" in value else "<file>"


# Tags in <> are dropped from error locations (see validation).
TargetSettings = Annotated[
    Annotated[FileTargetSettings, Tag("<file>")] | Annotated[IdmTargetSettings, Tag("<idm>")],
    Discriminator(_target_kind),
]


def _store_kind(value: Any) -> str:
    return "<directory>" if isinstance(value, dict) else "<path>"


SecretsSettings = Annotated[
    Annotated[str, Tag("<path>")] | Annotated[StoreSettings, Tag("<directory>")],
    Discriminator(_store_kind),
]


class EnvSettings(_Strict):
    tier: Tier | None = None
    overlay: str | None = None
    secrets: SecretsSettings | None = None
    render: Render = "resolved"
    target: TargetSettings | None = None
    esvs: list[str] = Field(default_factory=list, description="ESV placeholders declared")
    requireVerified: bool = False


class WaiverSettings(_Strict):
    rule: str = Field(pattern=r"^EMAIL\d{3}$")
    env: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    expires: Annotated[date, Field(strict=False)]


class AllowSettings(_Strict):
    fingerprint: str = Field(pattern=r"^fp:[0-9a-f]{16}$", description="from the scan finding")
    reason: str = Field(min_length=1)


class ScanSettings(_Strict):
    examples: list[str] = Field(
        default_factory=list, description="store paths holding fake values that git may track"
    )
    allow: list[AllowSettings] = Field(default_factory=list)


class ProjectSettings(_Strict):
    order: list[str] | None = None
    base: str | None = None
    environments: dict[str, EnvSettings] = Field(default_factory=dict)
    waivers: list[WaiverSettings] = Field(default_factory=list)
    scan: ScanSettings = Field(default_factory=ScanSettings)


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


@dataclass(frozen=True, slots=True)
class Environment:
    name: str
    tier: Tier
    overlay: Path
    overlay_display: str
    store: StoreSpec
    render: Render
    target: FileTarget | IdmTarget
    esvs: frozenset[str]
    require_verified: bool


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
            from promoter.suggest import did_you_mean

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


_ADAPTER: TypeAdapter[ProjectSettings] | None = None


def load_project(root: Path) -> Project:
    """Read ``promoter.yaml`` if present and apply the conventions."""
    global _ADAPTER
    settings = ProjectSettings()
    doc = Doc(data=None, file=PROJECT_FILE)
    path = root / PROJECT_FILE
    if path.is_file():
        doc = load_yaml(path, PROJECT_FILE)
        if doc.data is not None:
            if not isinstance(doc.data, dict):
                raise InputError("promoter.yaml must be a mapping", location=doc.loc(""))
            _ADAPTER = _ADAPTER or TypeAdapter(ProjectSettings)
            parsed, problems = validate(_ADAPTER, doc.data, ProjectSettings)
            if problems:
                first = problems[0]
                raise InputError(first.message, location=doc.loc(first.pointer), hint=first.hint)
            settings = parsed
    return _build(root, settings, doc)


def _build(root: Path, settings: ProjectSettings, doc: Doc) -> Project:
    env_dir = root / "environments"
    names = set(settings.environments)
    if env_dir.is_dir():
        names.update(
            p.stem
            for p in env_dir.glob("*.yaml")
            if p.stem != "base" and ".pin" not in p.name and not p.name.startswith(".")
        )
    if settings.order is not None:
        order = tuple(settings.order)
        seen: set[str] = set()
        for index, name in enumerate(order):
            if name in seen:
                raise InputError(
                    f"'{name}' appears twice in order", location=doc.loc(f"/order/{index}")
                )
            seen.add(name)
        names.update(order)
    else:
        known = [n for n in CONVENTIONAL_ORDER if n in names]
        order = tuple(known + sorted(names - set(known)))
    position = {name: index for index, name in enumerate(order)}
    base_rel = settings.base or "environments/base.yaml"
    base = root / base_rel
    environments = {
        name: _environment(root, name, settings.environments.get(name) or EnvSettings())
        for name in sorted(names, key=lambda n: (position.get(n, len(order)), n))
    }
    waivers = tuple(
        Waiver(w.rule, w.env, w.reason, w.expires, doc.loc(f"/waivers/{i}"))
        for i, w in enumerate(settings.waivers)
    )
    for index, waiver in enumerate(waivers):
        if waiver.env not in environments:
            raise InputError(
                f"waiver names unknown environment '{waiver.env}'",
                location=doc.loc(f"/waivers/{index}/env"),
            )
    has_base = settings.base is not None or base.is_file()
    return Project(
        root=root,
        order=order,
        base=base if has_base else None,
        base_display=base_rel,
        environments=environments,
        waivers=waivers,
        scan_examples=tuple(settings.scan.examples),
        scan_allow=tuple((a.fingerprint, a.reason) for a in settings.scan.allow),
        stages=position,
    )


def _environment(root: Path, name: str, s: EnvSettings) -> Environment:
    overlay_rel = s.overlay or f"environments/{name}.yaml"
    secrets = s.secrets if s.secrets is not None else f"secrets/{name}"
    store = (
        StoreSpec(root / secrets, secrets.rstrip("/"))
        if isinstance(secrets, str)
        else StoreSpec(
            root / secrets.directory,
            secrets.directory.rstrip("/"),
            secrets.format,
            secrets.versionSuffix,
        )
    )
    target: FileTarget | IdmTarget
    if isinstance(s.target, IdmTargetSettings):
        target = IdmTarget(
            url=s.target.idm.rstrip("/"),
            bearer_env=s.target.bearerEnv,
            username_env=s.target.usernameEnv,
            password_env=s.target.passwordEnv,
            ca_file=root / s.target.caFile if s.target.caFile else None,
            timeout=s.target.timeout,
            retries=s.target.retries,
        )
    else:
        rel = s.target.file if s.target else f"build/{name}/conf/external.email.json"
        target = FileTarget(root / rel, rel)
    return Environment(
        name=name,
        tier=s.tier or TIER_BY_NAME.get(name, "production"),
        overlay=root / overlay_rel,
        overlay_display=overlay_rel,
        store=store,
        render=s.render,
        target=target,
        esvs=frozenset(normalise_esv(e) for e in s.esvs),
        require_verified=s.requireVerified,
    )
