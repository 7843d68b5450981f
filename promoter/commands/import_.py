"""``promoter import [--env ENV] SOURCE...``: turn existing configurations into a config repo.

Reads every source, plans base.yaml, the overlays and the store files
(``importer``), compiles the plan in a scratch copy and compares it with what was
imported, then writes. Nothing is written when a file exists (without ``--force``),
a source is unreadable, or the plan would not compile back exactly.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from promoter.errors import InputError, Location, RefusedError
from promoter.importer import Imported, difference, normalise, same, split, store_files, to_yaml
from promoter.project import PROJECT_FILE, TIER_BY_NAME, Project, load_project
from promoter.secretstore import StoreSpec

SCHEMA_LINE = "# yaml-language-server: $schema={path}\n"
_ENV_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_TARGET = re.compile(r"^(idm|aic):[A-Za-z0-9][A-Za-z0-9_-]*$")
_NAMED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_-]*)=(.+)$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Planned:
    path: Path
    display: str
    text: str = field(repr=False)
    secret: bool = False
    note: str = ""
    env: str = ""  # the store a secret file belongs to


def pair_sources(sources: list[str], envs: list[str]) -> list[tuple[str, str]]:
    """(env, source) pairs: ``ENV=SOURCE``, ``idm:ENV``/``aic:ENV``, then ``--env`` in order."""
    pairs: list[tuple[str | None, str]] = []
    for source in sources:
        named = _NAMED.match(source)
        if named and not Path(source).exists():
            pairs.append((named.group(1), named.group(2)))
        elif _TARGET.match(source) and not Path(source).exists():
            pairs.append((source.split(":", 1)[1], source))
        else:
            pairs.append((None, source))
    unnamed = [i for i, (env, _) in enumerate(pairs) if env is None]
    if not envs and len(unnamed) == 1 and len(pairs) == 1:
        envs = ["dev"]
    if len(envs) != len(unnamed):
        raise InputError(
            f"{len(unnamed)} source(s) without an environment and {len(envs)} --env given",
            hint="name each source: --env ENV once per source, in order, or ENV=SOURCE",
        )
    named_pairs = list(pairs)
    for index, env in zip(unnamed, envs, strict=True):
        named_pairs[index] = (env, pairs[index][1])
    result = [(str(env), source) for env, source in named_pairs]
    seen: set[str] = set()
    for env, _ in result:
        if not _ENV_NAME.match(env) or env == "base" or ".pin" in env:
            raise InputError(
                f"'{env}' is not an environment name",
                hint="letters, digits, '-' and '_'; 'base' is taken by base.yaml",
            )
        if env in seen:
            raise InputError(f"environment '{env}' is imported twice")
        seen.add(env)
    return result


def run_import(root: Path, sources: list[str], envs: list[str], *, force: bool) -> int:
    from promoter.importsources import read_source

    pairs = pair_sources(sources, envs)
    project = load_project(root)
    imported = []
    for env, source in pairs:
        raw, display = read_source(source, root)
        imported.append(normalise(raw, env, display))
    files = _plan(project, imported)
    existing = [f.display for f in files if os.path.lexists(f.path)]
    if existing and not force:
        shown = ", ".join(existing[:4]) + (
            f" and {len(existing) - 4} more" if len(existing) > 4 else ""
        )
        raise RefusedError(
            f"{shown} already exist{'s' if len(existing) == 1 else ''}; nothing written",
            hint="--force replaces them",
        )
    findings = _check_round_trip(project, imported, files)
    _write_all(files, force=force)
    _report(project, imported, files, findings)
    return 0


def _plan(project: Project, imported: list[Imported]) -> list[Planned]:
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
            f"# {item.env}: imported from {_safe(item.source)} by promoter import"
            + ("; only what differs from base.yaml.\n" if len(imported) > 1 else ".\n")
        )
        files.append(Planned(path, display, header + to_yaml(overlays[item.env])))
        files += _secret_files(project, item)
    settings = _settings_file(project, imported)
    if settings is not None:
        files.append(settings)
    _inside(project, files)
    return _distinct(files)


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
    from promoter.overlay import compose
    from promoter.pins import base_for
    from promoter.yamlfile import load_yaml

    known = project.environments.get(env)
    path = base_for(project, known) if known is not None else project.base
    if path is None or not path.is_file():
        return {}
    data = compose([load_yaml(path, project.display(path))]).data
    return data if isinstance(data, dict) else {}


def _pins(project: Project, envs: list[str], base_text: str) -> list[Planned]:
    """Existing pins of imported envs are replaced, or they would compile from the old base."""
    from promoter.pins import HEADER, pin_path

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


def _store(project: Project, env: str) -> StoreSpec:
    known = project.environments.get(env)
    if known is not None:
        return known.store
    return StoreSpec(project.root / "secrets" / env, f"secrets/{env}")


def _secret_files(project: Project, item: Imported) -> list[Planned]:
    store = _store(project, item.env)
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
    prefix = f"{purpose}{store.version_suffix}"
    try:
        names = os.listdir(store.directory)
    except OSError:
        return 1
    found = [
        int(n[len(prefix) :]) for n in names if n.startswith(prefix) and n[len(prefix) :].isdigit()
    ]
    return max(found, default=0) + 1


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
    from promoter.importer import placeholder_names

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


def _undeclared(project: Project, item: Imported) -> list[str]:
    """Placeholders an existing promoter.yaml does not declare for ``item``'s env."""
    from promoter.importer import placeholder_names

    env = project.environments.get(item.env)
    esvs, properties = placeholder_names(item.config)
    declared_esvs = env.esvs if env is not None else {}
    declared_properties = env.properties if env is not None else {}
    return [f"&{{{n}}}" for n in esvs if n not in declared_esvs] + [
        f"&{{{n}}}" for n in properties if n not in declared_properties
    ]


def _schema_line(project: Project, path: Path) -> str:
    schema = project.root / "schemas" / "overlay.schema.json"
    return SCHEMA_LINE.format(path=Path(os.path.relpath(schema, path.parent)).as_posix())


def _safe(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)


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


def _check_round_trip(
    project: Project, imported: list[Imported], files: list[Planned]
) -> dict[str, tuple[int, int]]:
    """Compile the plan in a scratch copy; it must give back each imported config exactly.

    Returns each environment's (deny, warn) finding counts.
    """
    from promoter.pipeline import Compiler
    from promoter.render import replace_at

    counts: dict[str, tuple[int, int]] = {}
    with tempfile.TemporaryDirectory(prefix="promoter-import-") as tmp:
        scratch = Path(tmp)
        _copy_repo(project, scratch)
        # Each real store directory gets a private one here (two envs may share a store).
        real = list(dict.fromkeys(_store(project, item.env).directory for item in imported))
        stores = {directory: scratch / ".stores" / str(i) for i, directory in enumerate(real)}
        for planned in files:
            if planned.secret:
                target = stores[planned.path.parent] / planned.path.name
            else:
                target = scratch / planned.path.relative_to(project.root)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(planned.text, encoding="utf-8")
        copy = load_project(scratch)
        environments = dict(copy.environments)
        for item in imported:
            env = environments[item.env]
            directory = stores[_store(project, item.env).directory]
            environments[item.env] = replace(env, store=replace(env.store, directory=directory))
        compiler = Compiler(replace(copy, environments=environments), store_optional=True)
        for item in imported:
            compiled = compiler.compile(item.env)
            if compiled.output is None:
                problem = compiled.findings[0]
                raise RefusedError(
                    f"{problem.pointer or '/'}: {problem.message}; nothing written",
                    location=Location(item.source),
                    hint=problem.hint,
                )
            expected = item.expected
            if environments[item.env].render == "references":
                expected = replace_at(expected, {s.pointer: s.reference for s in item.moved})
            if not same(compiled.output, expected):
                raise RefusedError(
                    f"{item.env}: the planned files would not compile back to the imported "
                    "configuration; nothing written",
                    location=Location(item.source),
                    hint="please report this with the source's shape (not its secrets)",
                )
            deny = sum(1 for f in compiled.findings if f.blocking)
            counts[item.env] = (deny, len(compiled.findings) - deny)
    return counts


def _copy_repo(project: Project, scratch: Path) -> None:
    """promoter.yaml, base and the environments/ files: what decides how an env compiles."""
    root = project.root
    paths = list((root / "environments").glob("*.yaml"))
    paths += [root / PROJECT_FILE] + ([project.base] if project.base is not None else [])
    for path in paths:
        if path.is_file() and path.is_relative_to(root):
            target = scratch / path.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


def _write_all(files: list[Planned], *, force: bool) -> None:
    created: list[Path] = []
    try:
        for planned in sorted(files, key=lambda f: not f.secret):
            if _write(planned, force=force):
                created.append(planned.path)
    except FileExistsError as exc:
        _undo(created)
        raise RefusedError(f"{exc.filename} appeared while importing; nothing written") from None
    except OSError as exc:
        _undo(created)
        where = Location(str(exc.filename)) if exc.filename else None
        raise InputError(f"cannot write: {exc.strerror}", location=where) from None


def _write(planned: Planned, *, force: bool) -> bool:
    """Write one file with its mode set at open; True when it did not exist before."""
    mode = 0o600 if planned.secret else 0o644
    planned.path.parent.mkdir(mode=0o700 if planned.secret else 0o755, parents=True, exist_ok=True)
    existed = os.path.lexists(planned.path)
    target = planned.path
    if existed and force:
        target = planned.path.with_name(f".{planned.path.name}.import.tmp")
        if os.path.lexists(target):
            os.unlink(target)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(target, flags, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(planned.text)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        os.unlink(target)
        raise
    if target != planned.path:
        os.replace(target, planned.path)
    return not existed


def _undo(created: list[Path]) -> None:
    for path in created:
        try:
            os.unlink(path)
        except OSError:
            pass


def _report(
    project: Project,
    imported: list[Imported],
    files: list[Planned],
    findings: dict[str, tuple[int, int]],
) -> None:
    for item in imported:
        kind = item.config.get("type", "smtp")
        moved = len(item.moved)
        secrets = f", {moved} secret{'s' if moved != 1 else ''} moved to the store" if moved else ""
        print(f"imported {item.env} from {_safe(item.source)} ({_safe(str(kind))}{secrets})")
    for planned in files:
        mode = " (mode 0600)" if planned.secret else ""
        note = f": {planned.note}" if planned.note else ""
        print(f"wrote {planned.display}{mode}{note}")
    settings_written = any(f.display == PROJECT_FILE for f in files)
    for item in imported:
        missing = [] if settings_written else _undeclared(project, item)
        if missing:
            shown = ", ".join(missing[:6]) + (" ..." if len(missing) > 6 else "")
            print(
                f"note: {item.env} uses {shown}: declare them in promoter.yaml (esvs:, properties:)"
            )
        for note in item.notes:
            print(f"note: {_safe(note)}")
        deny, warn = findings.get(item.env, (0, 0))
        if deny or warn:
            print(f"note: {item.env}: {deny} deny, {warn} warn: run promoter check {item.env}")
    stores = sorted({f.display.rsplit("/", 1)[0] + "/" for f in files if f.secret})
    if stores:
        print(f"note: keep {', '.join(stores)} out of git (promoter scan checks this)")
