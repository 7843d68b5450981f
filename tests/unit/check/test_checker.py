from __future__ import annotations

import json
from pathlib import Path

from bench.generate import generate
from promoter.check.checker import PARALLEL_FROM
from tests.conftest import cli


def test_large_runs_fork_workers_and_keep_order_and_locations(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    names = generate(repo, PARALLEL_FROM + 10)
    broken = repo / "environments" / f"{names[4]}.yaml"
    broken.write_text(broken.read_text().replace("port: 587", "port: 25\nport: 26"))
    gated = repo / "environments" / f"{names[-2]}.yaml"
    gated.write_text(gated.read_text().replace("port: 587", "port: 25"))
    run = cli("check", "--format", "json", "--no-cache", cwd=repo)
    assert run.code == 2  # one input error among the rest
    report = json.loads(run.out)
    assert [e["env"] for e in report["environments"]] == names
    error = report["environments"][4]["error"]
    assert (error["file"], error["line"], error["column"]) == (
        f"environments/{names[4]}.yaml",
        5,
        1,
    )
    assert error["hint"] == "first defined at line 4"
    assert f"error: environments/{names[4]}.yaml:5:1: duplicate key 'port'" in run.err
    [finding] = report["environments"][-2]["findings"]
    assert (finding["rule"], finding["line"]) == ("EMAIL006", 4)
    assert all(e["ok"] for i, e in enumerate(report["environments"]) if i != 4)
