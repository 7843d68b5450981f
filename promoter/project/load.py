"""The project: promoter.yaml (all keys optional) and the conventions without it."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast

from promoter.errors import InputError, Location
from promoter.files.yamlfile import Doc, load_yaml
from promoter.findings import SEVERITY
from promoter.model.placeholders import normalise_esv
from promoter.model.shapes import (
    AicTargetKind,
    EsvSecretKind,
    FileTargetKind,
    IdmTargetKind,
)
from promoter.model.validate import default_env_settings as env_default
from promoter.model.validate import validate_project
from promoter.pointer import escape
from promoter.project.targets import _aic_target, _auth, _target_urls, refuse_targets_on_inputs
from promoter.project.types import (
    CONVENTIONAL_ORDER,
    ESV_ID_PATTERN,
    PROJECT_FILE,
    TIER_BY_NAME,
    AicTarget,
    Environment,
    FileTarget,
    IdmTarget,
    Project,
    StoreSpec,
    Waiver,
    esv_id,
)
from promoter.untrusted import escape_control

if TYPE_CHECKING:
    from promoter.model.settings import (
        EnvSettings,
        EsvLiteral,
        EsvSecretSettings,
        ProjectSettings,
    )


def load_project(root: Path) -> Project:
    """Read ``promoter.yaml`` if present and apply the conventions."""

    data: Any = {}
    doc = Doc(data=None, file=PROJECT_FILE)
    path = root / PROJECT_FILE
    if path.is_file():
        doc = load_yaml(path, PROJECT_FILE)
        if doc.data is not None:
            if not isinstance(doc.data, dict):
                raise InputError("promoter.yaml must be a mapping", location=doc.loc(""))
            data = doc.data
    settings, problems = validate_project(data)
    if problems:
        first = problems[0]
        raise InputError(first.message, location=doc.loc(first.pointer), hint=first.hint)
    return _build(root, settings, doc)


def _build(root: Path, settings: ProjectSettings, doc: Doc) -> Project:

    env_dir = root / "environments"
    names = set(settings.environments)
    for name in settings.environments:
        _check_name(name, doc.loc(f"/environments/{escape(name)}"))
    if env_dir.is_dir():
        for p in env_dir.glob("*.yaml"):
            if p.stem != "base" and ".pin" not in p.name and not p.name.startswith("."):
                _check_name(p.stem, Location(f"environments/{p.name}"))
                names.add(p.stem)
    if settings.order is not None:
        order = tuple(settings.order)
        seen: set[str] = set()
        for index, name in enumerate(order):
            _check_name(name, doc.loc(f"/order/{index}"))
            if name in seen:
                raise InputError(
                    f"'{name}' appears twice in order", location=doc.loc(f"/order/{index}")
                )
            seen.add(name)
            if name not in names:
                from promoter.suggest import did_you_mean  # lazy: off check's path

                raise InputError(
                    f"'{name}' in order is not an environment "
                    f"(no environments/{name}.yaml, and not under environments:)",
                    location=doc.loc(f"/order/{index}"),
                    hint=did_you_mean(name, names),
                )
    else:
        known = [n for n in CONVENTIONAL_ORDER if n in names]
        order = tuple(known + sorted(names - set(known)))
    position = {name: index for index, name in enumerate(order)}
    base_rel = settings.base or "environments/base.yaml"
    base = root / base_rel
    environments = {
        name: _environment(root, name, settings.environments.get(name) or env_default(), doc)
        for name in sorted(names, key=lambda n: (position.get(n, len(order)), n))
    }
    waivers = tuple(
        Waiver(w.rule, w.env, w.reason, w.expires, doc.loc(f"/waivers/{i}"))
        for i, w in enumerate(settings.waivers)
    )
    for index, waiver in enumerate(waivers):
        _check_rule(waiver.rule, doc.loc(f"/waivers/{index}/rule"))
        if waiver.env not in environments:
            raise InputError(
                f"waiver names unknown environment '{waiver.env}'",
                location=doc.loc(f"/waivers/{index}/env"),
            )
    refuse_targets_on_inputs(root, base, environments, doc)
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


def _check_rule(rule: str, location: Location) -> None:

    known = {key.split("/")[0] for key in SEVERITY}
    if rule in known:
        return
    from promoter.suggest import did_you_mean  # lazy: off check's path

    number = re.fullmatch(r"(?i)\s*email\s*0*(\d{1,3})\s*", rule)
    guess = f"EMAIL{int(number.group(1)):03d}" if number else None
    hint = f"did you mean {guess}?" if guess in known else did_you_mean(rule, known)
    raise InputError(f"unknown rule '{rule}'", location=location, hint=hint)


def _literal(value: EsvLiteral) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _esvs(env: str, s: EnvSettings, doc: Doc) -> Mapping[str, None | str | dict[str, Any]]:
    pointer = f"/environments/{escape(env)}/esvs"
    items: list[tuple[str, str, Any]] = (
        [(f"{pointer}/{i}", n, None) for i, n in enumerate(s.esvs)]
        if isinstance(s.esvs, list)
        else [(f"{pointer}/{escape(n)}", n, v) for n, v in s.esvs.items()]
    )
    out: dict[str, None | str | dict[str, Any]] = {}
    for where, raw, value in items:
        name = normalise_esv(raw)
        if not name.startswith("esv.") or not ESV_ID_PATTERN.fullmatch(esv_id(name)):
            raise InputError(
                f"'{raw}' is not an ESV name",
                location=doc.loc(where),
                hint="write it as in the placeholder, e.g. esv.email.password (ESV id "
                "esv-email-password: lowercase letters, digits, '_' and '-', at most 128)",
            )
        if name in out:
            raise InputError(f"ESV '{name}' is declared twice", location=doc.loc(where))
        if isinstance(value, EsvSecretKind):
            purpose = cast("EsvSecretSettings", value).purpose
            spec: dict[str, Any] = {"name": purpose.name}
            if purpose.jsonPointer is not None:
                spec["jsonPointer"] = purpose.jsonPointer
            out[name] = {"$purpose": spec}
        else:
            out[name] = None if value is None else _literal(value)
    return MappingProxyType(out)


def _properties(s: EnvSettings) -> Mapping[str, None | str]:
    if isinstance(s.properties, list):
        return MappingProxyType({n.strip(): None for n in s.properties})
    return MappingProxyType(
        {n.strip(): None if v is None else _literal(v) for n, v in s.properties.items()}
    )


def with_stores_from(project: Project, root: Path) -> Project:
    """``project`` (loaded from a copy of the repo) reading its stores under ``root``."""

    def moved(env: Environment) -> Environment:
        try:
            rel = env.store.directory.relative_to(project.root)
        except ValueError:
            return env  # outside the repo (allowOutsideRepo): the same directory
        return replace(env, store=replace(env.store, directory=root / rel))

    return replace(project, environments={n: moved(e) for n, e in project.environments.items()})


ENV_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")


def _check_name(name: str, location: Location) -> None:
    """Environment names become file and directory names: identifiers only."""
    if not ENV_NAME.fullmatch(name):
        raise InputError(
            f"'{escape_control(name)}' is not an environment name",
            location=location,
            hint="letters, digits, '_' and '-', starting with a letter or digit "
            "(at most 63): it names files such as environments/<env>.pin.yaml",
        )


def _inside(rel: str, s: EnvSettings, doc: Doc, pointer: str) -> str:
    """A path from promoter.yaml must stay in the repo unless the env opts out."""
    normal = posixpath.normpath(rel)
    outside = posixpath.isabs(rel) or normal == ".." or normal.startswith("../")
    if outside and not s.allowOutsideRepo:
        raise InputError(
            f"'{escape_control(rel)}' is outside the repo",
            location=doc.loc(pointer),
            hint="keep it under the repo, or set allowOutsideRepo: true for this environment",
        )
    return rel


def _environment(root: Path, name: str, s: EnvSettings, doc: Doc) -> Environment:
    at = f"/environments/{escape(name)}"
    if s.overlay is not None:
        _inside(s.overlay, s, doc, f"{at}/overlay")
    if isinstance(s.secrets, str):
        _inside(s.secrets, s, doc, f"{at}/secrets")
    elif s.secrets is not None:
        _inside(s.secrets.directory, s, doc, f"{at}/secrets/directory")
    if isinstance(s.target, FileTargetKind):
        _inside(s.target.file, s, doc, f"{at}/target/file")
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
    target: FileTarget | IdmTarget | AicTarget
    where = f"/environments/{escape(name)}/target"
    if isinstance(s.target, AicTargetKind):
        target = _aic_target(root, s.target, doc, where)
    elif isinstance(s.target, IdmTargetKind):
        target = IdmTarget(
            url=s.target.idm.rstrip("/"),
            bearer_env=s.target.bearerEnv,
            username_env=s.target.usernameEnv,
            password_env=s.target.passwordEnv,
            ca_file=root / s.target.caFile if s.target.caFile else None,
            timeout=s.target.timeout,
            retries=s.target.retries,
            auth=_auth(root, s.target, doc, where, aic_url=None),
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
        esvs=_esvs(name, s, doc),
        properties=_properties(s),
        require_verified=bool(s.requireVerified),
        require_templates=s.requireVerified == "templates",
        target_urls=_target_urls(s, doc, where),
    )
