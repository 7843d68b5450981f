"""`promoter check` on the shipped 3-env example vs check-jsonschema on its 3 outputs.

    python -m bench.bench_check [RUNS]

Alternates the commands in one run and prints medians and the ratio. "cold" is
`check --no-cache` (the full pipeline); "warm" replays an unchanged repo from
the check cache, as a pre-commit hook does on most commits.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from bench.common import SCHEMA, alternate, ensure_bytecode, median, tool, wall
from tests.conftest import make_example


def main(runs: int) -> None:
    ensure_bytecode()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        make_example(repo)
        promoter = tool("promoter")
        outputs = []
        for env in ("dev", "staging", "prod"):
            out = repo / "build" / env / "conf" / "external.email.json"
            wall([promoter, "compile", env, "-o", str(out)], repo)
            outputs.append(str(out))
        commands = {
            "promoter check (cold, --no-cache)": ([promoter, "check", "--no-cache"], None),
            "promoter check (warm, cached)": ([promoter, "check"], None),
            "check-jsonschema (3 files)": (
                [tool("check-jsonschema"), "--schemafile", str(SCHEMA), *outputs],
                None,
            ),
        }
        times = alternate(commands, repo, runs)
    yardstick = median(times["check-jsonschema (3 files)"])
    print(f"median of {runs} alternated runs each")
    for name, values in times.items():
        m = median(values)
        print(f"  {name:<36} {m * 1000:7.1f} ms   {m / yardstick:5.2f}x check-jsonschema")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
