"""Check an import compiles back exactly (in a scratch copy), then write its files.

The scratch copy holds promoter.yaml, the base and environments/ with the planned
files over them, and a private store per real store directory, in a 0700 temporary
directory removed afterwards. Files are written with their mode set at open
(``O_CREAT|O_EXCL``); ``--force`` replaces through a temporary file and a rename.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from promoter.check.compiler import Compiler
from promoter.compile.render import replace_at
from promoter.errors import InputError, Location, PromoterError, RefusedError
from promoter.importing.layout import Planned, store_for
from promoter.importing.plan import Imported, same
from promoter.model import schema
from promoter.project.load import load_project
from promoter.project.types import PROJECT_FILE, Project


def check_round_trip(
    project: Project, imported: list[Imported], files: list[Planned]
) -> dict[str, tuple[int, int]]:
    """Compile the plan in a scratch copy; it must give back each imported config exactly.

    Returns each environment's (deny, warn) finding counts.
    """

    counts: dict[str, tuple[int, int]] = {}
    with tempfile.TemporaryDirectory(prefix="promoter-import-") as tmp:
        scratch = Path(tmp)
        _copy_repo(project, scratch)
        # Each real store directory gets a private one here (two envs may share a store).
        real = list(dict.fromkeys(store_for(project, item.env).directory for item in imported))
        stores = {directory: scratch / ".stores" / str(i) for i, directory in enumerate(real)}
        for planned in files:
            if planned.secret:
                target = stores[planned.path.parent] / planned.path.name
            else:
                target = scratch / planned.path.relative_to(project.root)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(planned.text, encoding="utf-8")
        try:
            copy = load_project(scratch)
        except PromoterError as exc:
            raise _located(
                exc, scratch, imported[0].source if len(imported) == 1 else None
            ) from None
        environments = dict(copy.environments)
        for item in imported:
            env = environments[item.env]
            directory = stores[store_for(project, item.env).directory]
            environments[item.env] = replace(env, store=replace(env.store, directory=directory))
        compiler = Compiler(replace(copy, environments=environments), store_optional=True)
        for item in imported:
            try:
                compiled = compiler.compile(item.env)
            except PromoterError as exc:
                raise _located(exc, scratch, item.source) from None
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


def _located(exc: PromoterError, scratch: Path, source: str | None) -> PromoterError:
    """``exc`` (about a planned file in the scratch copy) at the source the user has."""
    where = exc.where()
    planned = f"the planned {where.replace(f'{scratch.as_posix()}/', '')}: " if where else ""
    return type(exc)(
        f"{planned}{exc.message}; nothing written",
        location=Location(source) if source is not None else None,
        hint=exc.hint,
    )


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


def write_all(files: list[Planned], *, force: bool) -> None:
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


def write_schemas(root: Path) -> list[str]:
    """The editor schemas the written files point at, as ``init`` writes them.

    They are generated, never edited: a missing or stale one is (re)written without
    ``--force``, an up-to-date one is left alone. Returns what was written."""
    return schema.write(root, schema.stale(root, schema.texts()))
