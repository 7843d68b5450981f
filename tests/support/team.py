"""A team's config repo: one engineer runs ``promoter init`` and pushes, a teammate clones.

The author's machine holds the placeholder secrets ``init`` writes; the clone holds only
what git carries (the stores' READMEs), as on a teammate's laptop or a CI runner.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
from pathlib import Path

from promoter.cli.commands.init import run_init

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **GIT_ENV},
    )
    return done.stdout


def team_clone(tmp: Path, *, kind: str = "smtp") -> Path:
    """A fresh clone (origin: a bare repo it can push to) of a committed ``init`` repo."""
    author = tmp / "author"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        run_init(author, kind=kind, force=False)
    git(author, "init", "-q")
    git(author, "add", "-A")
    git(author, "commit", "-qm", "promoter init")
    git(tmp, "clone", "-q", "--bare", str(author), "origin.git")
    git(tmp, "clone", "-q", "origin.git", "clone")
    return tmp / "clone"
