"""Byte-for-byte: do two installs of promoter print the same thing on the same repos?

    python -m bench.compare_outputs OTHER_PROMOTER [N ...]

OTHER_PROMOTER is another install's ``promoter`` executable (say a venv built from an
earlier commit: ``git worktree add ../before REV`` and ``pip install ../before``); this
checkout's is the one on PATH beside the running Python. The repos are the shipped example
and one generated repo per N (``bench.generate``, default 3 and 12 environments). Each
command runs in a fresh copy per install, so neither sees the other's writes:
``check --format json|sarif|text``, ``compile ENV`` for every environment,
``promote dev staging --dry-run`` (on the example) and ``schema``. Prints one line per
command, ``same`` or ``DIFFERENT`` (with the first differing line), and exits 1 on any
difference. Used for the layout change, which must not change a byte of output.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import tool
from bench.generate import generate
from tests.conftest import make_example

Command = list[str]


def commands(repo: Path) -> list[Command]:
    envs = sorted(p.stem for p in (repo / "environments").glob("*.yaml") if p.stem != "base")
    envs = [e for e in envs if not e.endswith(".pin")]
    out: list[Command] = [["check", "--no-cache", "--format", f] for f in ("json", "sarif", "text")]
    out += [["compile", env] for env in envs]
    if {"dev", "staging"} <= set(envs):
        out.append(["promote", "dev", "staging", "--dry-run"])
    out.append(["schema"])
    return out


def run(exe: str, repo: Path, args: Command, scratch: Path) -> tuple[int, str, str]:
    copy = scratch / "repo"
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(repo, copy, symlinks=True)
    proc = subprocess.run([exe, *args], cwd=copy, capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def first_difference(a: str, b: str) -> str:
    for left, right in zip(a.splitlines(), b.splitlines(), strict=False):
        if left != right:
            return f"{left!r} != {right!r}"
    return f"lengths {len(a)} != {len(b)}"


def main(other: str, sizes: list[int]) -> int:
    mine = tool("promoter")
    differences = 0
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        repos = {"example": make_example(base / "example")}
        for n in sizes:
            generate(base / f"gen{n}", n)
            repos[f"{n} environments"] = base / f"gen{n}"
        for name, repo in repos.items():
            for args in commands(repo):
                a = run(mine, repo, args, base / "a")
                b = run(other, repo, args, base / "b")
                label = f"{name}: promoter {' '.join(args)}"
                if a == b:
                    print(f"same       {label} (exit {a[0]}, {len(a[1])} bytes)")
                    continue
                differences += 1
                what = "exit" if a[0] != b[0] else "stdout" if a[1] != b[1] else "stderr"
                detail = (
                    str((a[0], b[0]))
                    if what == "exit"
                    else first_difference(
                        a[1] if what == "stdout" else a[2], b[1] if what == "stdout" else b[2]
                    )
                )
                print(f"DIFFERENT  {label}: {what}: {detail}")
    print(f"{differences} difference(s)")
    return 1 if differences else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], [int(n) for n in sys.argv[2:]] or [3, 12]))
