"""A pre-commit run that touches one overlay of a 50-environment repo, side by side with
check-jsonschema validating the compiled files of those 50 environments.

    python -m bench.bench_precommit [RUNS]

promoter runs as the hook does: `promoter check --files environments/<one>.yaml`.
The overlay changes before every run, so the check cache never answers.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from bench.bench_scale import compile_all
from bench.common import SCHEMA, ensure_bytecode, median, tool, wall
from bench.generate import generate


def main(runs: int) -> None:
    ensure_bytecode()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        names = generate(repo, 50)
        out_dir = Path(tmp) / "out"
        out_dir.mkdir()
        outputs = compile_all(repo, names, out_dir)
        touched = repo / "environments" / f"{names[7]}.yaml"
        hook = [tool("promoter"), "check", "--files", f"environments/{touched.name}"]
        yardstick = [tool("check-jsonschema"), "--schemafile", str(SCHEMA), *outputs]
        ours, theirs = [], []
        wall(hook, repo)
        wall(yardstick, repo)
        for index in range(runs):
            touched.write_text(touched.read_text() + f"# edit {index}\n")  # a new commit
            ours.append(wall(hook, repo))
            theirs.append(wall(yardstick, repo))
    mine, peer = median(ours), median(theirs)
    print(f"median of {runs} alternated runs, 50 environments, one overlay touched")
    print(f"  promoter check --files (1 env affected)   {mine * 1000:7.1f} ms")
    print(f"  check-jsonschema (50 compiled files)      {peer * 1000:7.1f} ms")
    print(f"  ratio {mine / peer:.2f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
