"""AIC chain: HTTP requests (and writes) per command, a session deliver, a no-op promotion.

    python -m bench.bench_aic [RUNS]

Three AIC tenant stand-ins (dev <- staging <- prod) on loopback, the chain of
tests/e2e/test_aic.py (two ESVs per env: a variable and a secret), polling at the default
1 s (the stand-ins finish each step within 0.1 s, so each wait is one poll). Counts the requests
each tenant stand-in answered (token requests included) for `deliver dev`, the first
`promote dev staging --apply`, `promote staging prod --apply`, and a no-op
`promote dev staging --apply`, whose wall time is the median of RUNS runs; then
`deliver dev` again (unchanged: the target is 0 writes) and a `deliver prod` through a Direct
Configuration session (prod gets `directConfiguration: true`, the stand-in's 0.02 s dwell
times, polling at 0.05 s).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.conftest import cli, write
from tests.e2e.test_aic import BASE, PASSWORDS, _promoter_yaml
from tests.support.aic_standin import AicChain


def main(argv: list[str]) -> int:
    runs = int(argv[0]) if argv else 5
    with tempfile.TemporaryDirectory() as tmp, AicChain() as tenants:
        repo = Path(tmp) / "repo"
        # the default poll interval (1 s), as against a real tenant
        fast_polling = "      pollInterval: 0.02\n"  # the tests' setting; the bench uses 1 s
        text = _promoter_yaml(tenants)
        assert fast_polling in text, "the test fixture changed: the figures would poll fast"
        text = text.replace(fast_polling, "")
        write(repo / "promoter.yaml", text)
        write(repo / "environments" / "base.yaml", BASE)
        for name in tenants.envs:
            write(repo / "environments" / f"{name}.yaml", "{}\n")
            write(repo / "secrets" / name / "email.password", PASSWORDS[name] + "\n")
        # a store written over 2 s ago, as a real one is: a fresher file is "racy" and its
        # secret is pushed once more (promoter.targets.esv_record)
        time.sleep(2.1)
        env = {
            **os.environ,
            "AIC_SA_ID": tenants.key.id,
            "AIC_SA_KEY": json.dumps(tenants.key.private_jwk),
        }

        writes: list[int] = [0]

        def count(*args: str) -> tuple[int, float, dict[str, int]]:
            before = {n: len(t.seen) for n, t in tenants.envs.items()}
            start = time.perf_counter()
            run = cli(*args, cwd=repo, env=env)
            seconds = time.perf_counter() - start
            if run.code != 0:
                sys.exit(f"{' '.join(args)} failed: {run.err}")
            per = {n: len(t.seen) - before[n] for n, t in tenants.envs.items()}
            writes[0] = sum(
                1
                for n, t in tenants.envs.items()
                for m, path, _ in t.seen[before[n] :]
                if m in ("PUT", "POST", "DELETE") and not path.startswith("/am/")
            )
            return sum(per.values()), seconds, {n: c for n, c in per.items() if c}

        for label, args in (
            ("deliver dev", ("deliver", "dev")),
            ("promote dev staging --apply (first)", ("promote", "dev", "staging", "--apply")),
            ("promote staging prod --apply (first)", ("promote", "staging", "prod", "--apply")),
        ):
            total, seconds, per = count(*args, *(("--yes",) if "--apply" in args else ()))
            print(f"{label}: {total} requests {per}, {seconds:.2f} s")
        times, totals = [], []
        for _ in range(runs):
            total, seconds, _per = count("promote", "dev", "staging", "--apply", "--yes")
            times.append(seconds)
            totals.append(total)
        print(
            f"no-op promote dev staging --apply: {totals[0]} requests, "
            f"median {statistics.median(times):.2f} s over {runs} runs"
        )
        total, seconds, per = count("deliver", "dev")
        print(
            f"deliver dev (unchanged): {total} requests {per}, {writes[0]} writes, {seconds:.2f} s"
        )
        prod = tenants.prod
        text = (
            (repo / "promoter.yaml")
            .read_text()
            .replace(
                f"aic: {prod.url}\n",
                f"aic: {prod.url}\n      directConfiguration: true\n      pollInterval: 0.05\n",
            )
        )
        write(repo / "promoter.yaml", text)
        write(repo / "environments" / "prod.yaml", "port: 2525\n")
        total, seconds, per = count("deliver", "prod")
        states = len(prod.dcc.seen_states)
        print(
            f"deliver prod through a session: {total} requests {per}, {writes[0]} writes, "
            f"{seconds:.2f} s ({states} session states, dwell {prod.dcc.dwell} s)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
