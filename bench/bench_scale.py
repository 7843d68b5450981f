"""N generated environments: `promoter check` vs check-jsonschema on their N outputs.

    python -m bench.bench_scale [N ...]     (default: 100 1000 10000)

For each N: wall time of `promoter check --no-cache --format json` (load, merge,
resolve, validate, gate and render every environment), envs/s, and
check-jsonschema validating the N compiled outputs with our schema, side by side.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from bench.common import SCHEMA, ensure_bytecode, median, tool, wall
from bench.generate import generate


def compile_all(repo: Path, names: list[str], out_dir: Path) -> list[str]:
    from promoter.check.compiler import Compiler
    from promoter.project.load import load_project

    compiler = Compiler(load_project(repo))
    paths = []
    for name in names:
        text = compiler.compile(name).text
        assert text is not None, name
        path = out_dir / f"{name}.json"
        path.write_text(text)
        paths.append(str(path))
    return paths


def measure(count: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        names = generate(repo, count)
        out_dir = Path(tmp) / "out"
        out_dir.mkdir()
        outputs = compile_all(repo, names, out_dir)
        check = [tool("promoter"), "check", "--no-cache", "--format", "json"]
        yardstick = [tool("check-jsonschema"), "--schemafile", str(SCHEMA), *outputs]
        ours, theirs = [], []
        for _ in range(runs):
            ours.append(wall(check, repo))
            theirs.append(wall(yardstick, repo))
    mine, peer = median(ours), median(theirs)
    print(
        f"  {count:>6} envs: promoter check {mine:6.2f} s ({count / mine:7.0f} envs/s)"
        f" | check-jsonschema {peer:6.2f} s | ratio {mine / peer:4.2f}x"
    )


if __name__ == "__main__":
    ensure_bytecode()
    sizes = [int(a) for a in sys.argv[1:]] or [100, 1000, 10000]
    print("median of alternated runs (3 for N <= 1000, 1 above)")
    for size in sizes:
        measure(size, 3 if size <= 1000 else 1)
