"""Lay an import out as files: base.yaml, overlays, pins, store files, promoter.yaml.

Where each file goes follows the project (promoter.yaml's overlay, secrets and base
settings) or the conventions for an environment it does not know yet.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from promoter.compile.overlay import compose
from promoter.compile.secretstore import versions
from promoter.errors import InputError, Location, RefusedError
from promoter.files.safeopen import read_local_text
from promoter.files.yamlfile import load_yaml
from promoter.importing.plan import Imported, difference, placeholder_names, split, store_files
from promoter.importing.yamlwrite import to_yaml
from promoter.project.pins import HEADER, base_for, pin_path
from promoter.project.types import PROJECT_FILE, TIER_BY_NAME, Project, StoreSpec
from promoter.untrusted import escape_control

SCHEMA_LINE = "# yaml-language-server: $schema={path}\n"


@dataclass(frozen=True, slots=True)
class Planned:
    """One file an import writes; ``text`` of a store file is a secret and never shown."""

    path: Path
    display: str
    text: str = field(repr=False)
    secret: bool = False
    note: str = ""
    env: str = ""  # the store a secret file belongs to


def plan(project: Project, imported: list[Imported]) -> list[Planned]:
    """Every file, in the order they are reported: base, pins, overlays with their store
    files, promoter.yaml."""
    root = project.root
    files: list[Planned] = []
    if len(imported) == 1:
        only = imported[0]
        overlays = {only.env: difference(_current_base(project, only.env), only.config)}
    else:
        base = split([item.config for item in imported])
        overlays = {item.env: difference(base, item.config) for item in imported}
        base_path = root / project.base_display
        names = ", ".join(item.env for item in imported)
        if len(imported) > 4:
            names = f"{len(imported)} environments"
        header = _schema_line(project, base_path) + (
            f"# Shared by the environments (written by promoter import of {names}): what\n"
            "# most of them hold; each overlay holds its differences.\n"
        )
        base_text = header + to_yaml(base)
        files.append(Planned(base_path, project.display(base_path), base_text))
        files += _pins(project, [item.env for item in imported], base_text)
    for item in imported:
        path, display = _overlay_path(project, item.env)
        header = _schema_line(project, path) + (
            f"# {item.env}: imported from {escape_control(item.source)} by promoter import"
            + ("; only what differs from base.yaml.\n" if len(imported) > 1 else ".\n")
        )
        files.append(Planned(path, display, header + to_yaml(overlays[item.env])))
        files += _secret_files(project, item)
    settings = _settings_file(project, imported)
    if settings is not None:
        files.append(settings)
    _inside(project, files)
    return _distinct(files)


def left_behind(project: Project, imported: list[Imported], files: list[Planned]) -> list[str]:
    """Environments not imported that compile from the base this import rewrites.

    Their overlays hold only their differences from that base, so a new base would change
    what they compile to (or break them): the import refuses rather than guess.
    """
    base_path = project.root / project.base_display
    planned = next((f for f in files if f.path == base_path), None)
    if planned is None:
        return []
    try:
        current: str | None = read_local_text(base_path)
    except (OSError, UnicodeDecodeError):
        current = None
    if current == planned.text:
        return []
    names = {item.env for item in imported}
    return [
        env.name
        for env in project.environments.values()
        if env.name not in names
        and base_for(project, env) == project.base
        and (project.base is not None or env.overlay.is_file())
    ]


def _distinct(files: list[Planned]) -> list[Planned]:
    """One planned file per path: envs that share a store share a file only if it agrees."""
    seen: dict[Path, Planned] = {}
    for planned in files:
        other = seen.setdefault(planned.path, planned)
        if other is not planned and other.text != planned.text:
            raise RefusedError(
                f"{other.env} and {planned.env} share {planned.display} but hold different "
                "values; nothing written",
                hint="give each environment its own secrets: directory in promoter.yaml",
            )
    return list(seen.values())


def _current_base(project: Project, env: str) -> dict[str, object]:
    """The merged base ``env`` compiles from now (its pin, or base.yaml), or nothing."""

    known = project.environments.get(env)
    path = base_for(project, known) if known is not None else project.base
    if path is None or not path.is_file():
        return {}
    data = compose([load_yaml(path, project.display(path))]).data
    return data if isinstance(data, dict) else {}


def _pins(project: Project, envs: list[str], base_text: str) -> list[Planned]:
    """Existing pins of imported envs are replaced, or they would compile from the old base."""

    out = []
    for env in envs:
        path = pin_path(project, env)
        if os.path.lexists(path):
            text = HEADER.format(env=env, path=project.base_display) + base_text
            out.append(Planned(path, project.display(path), text))
    return out


def _overlay_path(project: Project, env: str) -> tuple[Path, str]:
    known = project.environments.get(env)
    if known is not None:
        return known.overlay, known.overlay_display
    rel = f"environments/{env}.yaml"
    return project.root / rel, rel


def store_for(project: Project, env: str) -> StoreSpec:
    known = project.environments.get(env)
    if known is not None:
        return known.store
    return StoreSpec(project.root / "secrets" / env, f"secrets/{env}")


def _secret_files(project: Project, item: Imported) -> list[Planned]:
    store = store_for(project, item.env)
    out = []
    for purpose, text in store_files(item.moved, store.format).items():
        name = purpose
        if store.version_suffix:
            name = f"{purpose}{store.version_suffix}{_next_version(store, purpose)}"
        path = store.directory / name
        fields = ", ".join(s.label for s in item.moved if s.purpose == purpose)
        note = f"{fields} -> $purpose {purpose}"
        out.append(Planned(path, f"{store.display}/{name}", text, True, note, item.env))
    return out


def _next_version(store: StoreSpec, purpose: str) -> int:
    return max(versions(store.directory, purpose, store.version_suffix or ""), default=0) + 1


def _settings_file(project: Project, imported: list[Imported]) -> Planned | None:
    """promoter.yaml, when the conventions would get the order or a tier wrong, or the
    imported configs use placeholders (declared so the gates know the env provides them)."""
    path = project.root / PROJECT_FILE
    if path.exists():
        return None
    envs = [item.env for item in imported]
    others = [name for name in project.order if name not in envs]
    names = set(envs) | set(others)
    conventional: list[str] = [n for n in ("dev", "staging", "prod") if n in names]
    conventional += sorted(names - set(conventional))
    order = envs + others
    blocks = {item.env: _env_block(item) for item in imported}
    if order == conventional and not any(blocks.values()):
        return None
    lines = [
        "# yaml-language-server: $schema=schemas/promoter.schema.json\n",
        "# Written by promoter import: the promotion order is the order the sources were given.\n",
        f"order: [{', '.join(order)}]\n",
    ]
    if any(blocks.values()):
        lines.append("environments:\n")
        lines += [f"  {env}:\n{block}" for env, block in blocks.items() if block]
    return Planned(path, PROJECT_FILE, "".join(lines))


def _env_block(item: Imported) -> str:

    lines = []
    if item.env not in TIER_BY_NAME:
        lines.append("    tier: production  # the default for this name: check it\n")
    esvs, properties = placeholder_names(item.config)
    if esvs:
        lines.append("    # ESVs the imported config uses: check the tenant holds each one\n")
        lines.append(f"    esvs: [{', '.join(esvs)}]\n")
    if properties:
        lines.append("    # IDM property substitutions it uses: check IDM defines each one\n")
        lines.append(f"    properties: [{', '.join(_quoted(p) for p in properties)}]\n")
    return "".join(lines)


def _quoted(name: str) -> str:
    return json.dumps(name)


def undeclared(project: Project, item: Imported) -> list[str]:
    """Placeholders an existing promoter.yaml does not declare for ``item``'s env."""

    env = project.environments.get(item.env)
    esvs, properties = placeholder_names(item.config, required=True)
    declared_esvs = env.esvs if env is not None else {}
    declared_properties = env.properties if env is not None else {}
    return [f"&{{{n}}}" for n in esvs if n not in declared_esvs] + [
        f"&{{{n}}}" for n in properties if n not in declared_properties
    ]


def _schema_line(project: Project, path: Path) -> str:
    schema = project.root / "schemas" / "overlay.schema.json"
    return SCHEMA_LINE.format(path=Path(os.path.relpath(schema, path.parent)).as_posix())


def _inside(project: Project, files: list[Planned]) -> None:
    root = os.path.realpath(project.root)
    for planned in files:
        if planned.secret:
            continue  # a store may live anywhere (a mounted Kubernetes Secret, /run/secrets)
        if os.path.commonpath([root, os.path.realpath(planned.path.parent)]) != root:
            raise InputError(
                f"{planned.display} is outside the config repo; import writes only inside it",
                location=Location(PROJECT_FILE),
            )
