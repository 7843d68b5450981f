"""``promoter scan``: plaintext secrets in overlays, promoter.yaml and tracked stores."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from promoter import gitfiles
from promoter.errors import InputError, Location
from promoter.project import PROJECT_FILE, load_project
from promoter.report import REPORTERS, EnvResult, exit_code, finding_lines, plural
from promoter.scan import scan


def run_scan(root: Path, paths: Sequence[str], *, staged: bool, fmt: str) -> int:
    project = load_project(root)
    stores = [e.store.display for e in project.environments.values() if e.tier != "development"]
    is_git = (root / ".git").exists()
    tracked: set[str] = set()
    if is_git:
        for store in stores:
            tracked.update(gitfiles.tracked(root, store))
    if staged:
        chosen = gitfiles.staged(root)
        tracked.update(chosen)

        def read(path: str) -> str:
            return gitfiles.staged_text(root, path)
    else:
        chosen = [_relative(root, p) for p in paths] or _default_paths(root, stores)

        def read(path: str) -> str:
            try:
                return (root / path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise InputError(f"cannot read: {exc}", location=Location(path)) from None

    result = EnvResult(env="scan", tier="git" if is_git else "files")
    result.findings = scan(project, chosen, read, tracked)
    if fmt == "text":
        lines = finding_lines(result.findings)
        blocking = sum(f.blocking for f in result.findings)
        lines.append(
            f"scan: {plural(len(set(chosen)), 'file')}, {plural(len(result.findings), 'finding')}, "
            f"{blocking} blocking"
        )
        sys.stdout.write("\n".join(lines) + "\n")
    else:
        sys.stdout.write(REPORTERS[fmt]([result]))
    return exit_code([result])


def _relative(root: Path, path: str) -> str:
    full = (Path.cwd() / path).resolve()
    try:
        return full.relative_to(root).as_posix()
    except ValueError:
        return Path(path).as_posix()


def _default_paths(root: Path, stores: list[str]) -> list[str]:
    paths = [p.relative_to(root).as_posix() for p in sorted((root / "environments").glob("*.y*ml"))]
    if (root / PROJECT_FILE).is_file():
        paths.append(PROJECT_FILE)
    for store in stores:
        directory = root / store
        if directory.is_dir():
            paths += [p.relative_to(root).as_posix() for p in directory.rglob("*") if p.is_file()]
    return paths
