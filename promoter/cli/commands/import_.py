"""``promoter import [--env ENV] SOURCE...``: turn existing configurations into a config repo.

Reads every source (``importsources``), normalises each and moves its literal secrets
out (``importer``), lays the result out as files (``importlayout``), compiles that in a
scratch copy and compares it with what was imported, then writes (``importwrite``).
Nothing is written when a file exists (without ``--force``), a source is unreadable,
or the plan would not compile back exactly.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from promoter.errors import InputError, RefusedError
from promoter.importing.layout import Planned, left_behind, plan, undeclared
from promoter.importing.plan import Imported, normalise
from promoter.importing.sources import read_source
from promoter.importing.write import check_round_trip, write_all, write_schemas
from promoter.project.load import load_project
from promoter.project.types import PROJECT_FILE, TIER_BY_NAME, Project
from promoter.untrusted import escape_control

_ENV_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_TARGET = re.compile(r"^(idm|aic):[A-Za-z0-9][A-Za-z0-9_-]*$")
_NAMED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_-]*)=(.+)$", re.DOTALL)


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

    pairs = pair_sources(sources, envs)
    project = load_project(root)
    imported = []
    for env, source in pairs:
        raw, display = read_source(source, root)
        imported.append(normalise(raw, env, display))
    files = plan(project, imported)
    _refuse_left_behind(project, imported, files)
    existing = [f.display for f in files if os.path.lexists(f.path)]
    if existing and not force:
        shown = ", ".join(existing[:4]) + (
            f" and {len(existing) - 4} more" if len(existing) > 4 else ""
        )
        raise RefusedError(
            f"{shown} already exist{'s' if len(existing) == 1 else ''}; nothing written",
            hint="--force replaces them",
        )
    findings = check_round_trip(project, imported, files)
    write_all(files, force=force)
    schemas = write_schemas(project.root)
    _report(project, imported, files, findings, schemas)
    return 0


def _refuse_left_behind(project: Project, imported: list[Imported], files: list[Planned]) -> None:
    """Refuse a new base that environments not imported compile from (issue: data loss)."""
    others = left_behind(project, imported, files)
    if not others:
        return
    names = ", ".join(others)
    one = len(others) == 1
    raise RefusedError(
        f"importing {', '.join(item.env for item in imported)} rewrites {project.base_display}, "
        f"which {names} {'compiles' if one else 'compile'} from but {'is' if one else 'are'} "
        f"not imported: {'its' if one else 'their'} output would change; nothing written",
        hint=f"import {names} too ({others[0]}=SOURCE), or import one environment at a time "
        "(a single environment is written as its overlay only, base.yaml untouched)",
    )


def _report(
    project: Project,
    imported: list[Imported],
    files: list[Planned],
    findings: dict[str, tuple[int, int]],
    schemas: list[str],
) -> None:
    # Found above the current directory (as git does): say where the files went.
    into = "" if project.root == Path.cwd().resolve() else f" into {project.root.as_posix()}"
    for item in imported:
        kind = item.config.get("type", "smtp")
        moved = len(item.moved)
        secrets = f", {moved} secret{'s' if moved != 1 else ''} moved to the store" if moved else ""
        print(
            f"imported {item.env} from {escape_control(item.source)}{escape_control(into)} "
            f"({escape_control(str(kind))}{secrets})"
        )
        into = ""
    for planned in files:
        mode = " (mode 0600)" if planned.secret else ""
        note = f": {planned.note}" if planned.note else ""
        print(f"wrote {planned.display}{mode}{note}")
    for display in schemas:
        print(f"wrote {display} (for editors: the files above point at it)")
    settings_written = any(f.display == PROJECT_FILE for f in files)
    for item in imported:
        missing = [] if settings_written else undeclared(project, item)
        if missing:
            shown = ", ".join(missing[:6]) + (" ..." if len(missing) > 6 else "")
            print(
                f"note: {item.env} uses {shown}: declare them in promoter.yaml (esvs:, properties:)"
            )
        for note in item.notes:
            print(f"note: {escape_control(note)}")
        deny, warn = findings.get(item.env, (0, 0))
        if deny or warn:
            print(f"note: {item.env}: {deny} deny, {warn} warn: run promoter check {item.env}")
    stores: dict[bool, set[str]] = {True: set(), False: set()}
    for planned in files:
        if planned.secret:
            known = project.environments.get(planned.env)
            tier = known.tier if known is not None else TIER_BY_NAME.get(planned.env)
            stores[tier == "development"].add(planned.display.rsplit("/", 1)[0] + "/")
    checked, unchecked = sorted(stores[False]), sorted(stores[True] - stores[False])
    if checked:
        print(f"note: keep {', '.join(checked)} out of git (promoter scan checks this)")
    if unchecked:
        print(f"note: git-ignore {', '.join(unchecked)}: scan does not check development stores")
