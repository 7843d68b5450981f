"""``promoter scan``: plaintext secrets in overlays, promoter.yaml and tracked stores."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from promoter.check.report import REPORTERS, EnvResult, exit_code, finding_lines, plural
from promoter.colour import emit
from promoter.errors import InputError, Location
from promoter.files import git
from promoter.files.safeopen import read_local_text
from promoter.project.load import load_project
from promoter.project.types import PROJECT_FILE, Project
from promoter.scan.scanner import kind, project_inputs, scan


def run_scan(
    root: Path, paths: Sequence[str], *, staged: bool, fmt: str, origin: Path | None = None
) -> int:
    """``paths`` are taken from ``origin`` (where promoter was started, before ``-C``)."""
    project = load_project(root)
    stores = [e.store.display for e in project.environments.values() if e.tier != "development"]
    is_git = git.inside_work_tree(root)  # root may be a monorepo's subfolder
    tracked: set[str] = set()
    if is_git:
        for store in stores:
            tracked.update(git.tracked(root, store))
    found: set[str] = set()  # files found under a directory named: skipped without a line each
    if staged:
        chosen = git.staged(root)
        tracked.update(chosen)

        def read(path: str) -> str:
            return git.staged_text(root, path)
    else:
        if paths:
            chosen, found = _explicit(root, origin or Path.cwd(), paths)
        else:
            chosen = _default_paths(root, project, stores)

        def read(path: str) -> str:
            try:
                return read_local_text(root / path)
            except (OSError, UnicodeDecodeError) as exc:
                raise InputError(f"cannot read: {exc}", location=Location(path)) from None

    result = EnvResult(env="scan", tier="git" if is_git else "files")
    explicit = set(chosen) if paths and not staged else set()
    skipped = sorted(p for p in set(chosen) if kind(project, p, explicit=p in explicit) is None)
    for path in skipped if explicit else ():
        if path not in found:
            print(f"scan: {path} skipped (not JSON or YAML)", file=sys.stderr)
    unread = sum(1 for path in skipped if path in found) if explicit else 0
    if unread:
        line = f"scan: {plural(unread, 'file')} under the directories skipped (not JSON or YAML)"
        print(line, file=sys.stderr)
    scanned = len(set(chosen)) - (len(skipped) if explicit else 0)
    result.findings = scan(project, chosen, read, tracked, explicit=explicit)
    blocking = sum(f.blocking for f in result.findings)
    summary = f"scan: {plural(scanned, 'file')}, {plural(len(result.findings), 'finding')}"
    if explicit and skipped:
        summary += f" ({len(skipped)} skipped)"
    summary += f", {blocking} blocking"
    if fmt == "text":
        emit("\n".join([*finding_lines(result.findings), summary]) + "\n")
    else:
        sys.stdout.write(REPORTERS[fmt]([result]))
        if fmt == "github":  # stdout holds workflow commands only: the summary goes to stderr
            print(summary, file=sys.stderr)
    return exit_code([result])


def _explicit(root: Path, start: Path, paths: Sequence[str]) -> tuple[list[str], set[str]]:
    """The files named (from ``start``), and those found under a directory named (hidden
    ones, such as .git/, left out); a missing one is exit 2."""
    chosen: list[str] = []
    found: set[str] = set()
    for name in paths:
        path = start / name
        if path.is_dir():
            under = [_relative(root, p) for p in _walk(path)]
            chosen += under
            found.update(under)
        elif path.is_file():
            chosen.append(_relative(root, str(path)))
        else:
            raise InputError("no such file", location=Location(name), hint="check the path")
    return chosen, found - _named(root, start, paths)


def _named(root: Path, start: Path, paths: Sequence[str]) -> set[str]:
    return {_relative(root, str(start / name)) for name in paths if (start / name).is_file()}


def _walk(directory: Path) -> list[str]:
    out: list[str] = []
    for base, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        paths = (os.path.join(base, name) for name in sorted(files))
        out += [path for path in paths if os.path.isfile(path)]
    return out


def _relative(root: Path, path: str) -> str:
    full = (Path.cwd() / path).resolve()
    try:
        return full.relative_to(root).as_posix()
    except ValueError:
        return full.as_posix()  # outside the repo: scanned by its absolute path


def _default_paths(root: Path, project: Project, stores: list[str]) -> list[str]:
    """Every file the project reads (overlays and base wherever promoter.yaml puts them,
    promoter.yaml, pins) and the staging/production stores."""
    paths = [p.relative_to(root).as_posix() for p in sorted((root / "environments").glob("*.y*ml"))]
    listed = set(paths)
    paths += [p for p in project_inputs(project) if p not in listed and (root / p).is_file()]
    if (root / PROJECT_FILE).is_file():
        paths.append(PROJECT_FILE)
    for store in stores:
        directory = root / store
        if directory.is_dir():
            paths += [p.relative_to(root).as_posix() for p in directory.rglob("*") if p.is_file()]
    return paths
