"""deploy/systemd/promoter-watch@.service, run the way systemd runs it: two instances of the
template side by side, each with its own EnvironmentFile (and so its own health address),
in the unit's WorkingDirectory (remapped to a copy of the example)."""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import BIN, REPO, cli

UNIT = REPO / "deploy/systemd/promoter-watch@.service"


def _service(unit: str) -> dict[str, str]:
    """The [Service] section's settings (the last value of a repeated key wins)."""
    section, found = "", {}
    for raw in unit.splitlines():
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif section == "Service" and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            found[key] = value
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _environment_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def test_an_address_in_use_is_exit_2_in_one_line(example: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        run = cli("watch", "dev", "--health", f"127.0.0.1:{port}", cwd=example)
    assert run.code == 2, run
    assert run.err.splitlines() == [
        f"error: --health 127.0.0.1:{port}: cannot listen there: the address is in use "
        "(hint: give each watcher its own port (--health HOST:PORT, or PROMOTER_HEALTH in the "
        "systemd instance's environment file))"
    ]


@pytest.mark.slow
def test_two_instances_of_the_template_run_side_by_side(example: Path, tmp_path: Path) -> None:
    service = _service(UNIT.read_text())
    etc = "/etc/promoter"
    assert service["WorkingDirectory"] == etc
    assert service["RestartPreventExitStatus"] == "2"
    processes: list[subprocess.Popen[bytes]] = []
    ports = {}
    try:
        for instance in ("dev", "staging"):
            ports[instance] = _free_port()
            env_file = Path(
                service["EnvironmentFile"].replace("%i", instance).replace(etc, str(tmp_path))
            )
            env_file.write_text(f"PROMOTER_HEALTH=127.0.0.1:{ports[instance]}\n")
            argv = shlex.split(service["ExecStart"].replace("%i", instance))
            assert argv[0] == "/opt/promoter/bin/promoter"
            argv[0] = str(BIN / "promoter")
            environ = {**os.environ, **_environment_file(env_file)}
            cwd = Path(service["WorkingDirectory"].replace(etc, str(example)))
            processes.append(
                subprocess.Popen(
                    argv, cwd=cwd, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
                )
            )
        healthy = set()
        deadline = time.monotonic() + 30
        while len(healthy) < 2 and time.monotonic() < deadline:
            for instance, port in ports.items():
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        healthy.add(instance)
                except httpx.HTTPError:
                    pass
            assert all(p.poll() is None for p in processes), [
                p.stderr.read() for p in processes if p.stderr
            ]
            time.sleep(0.1)
        assert healthy == {"dev", "staging"}
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
            if process.stderr is not None:
                process.stderr.close()
    verify = shutil.which("systemd-analyze")
    if verify:
        unit = tmp_path / "promoter-watch@.service"
        unit.write_text(
            UNIT.read_text().replace("/opt/promoter/bin/promoter", str(BIN / "promoter"))
        )
        run = subprocess.run([verify, "verify", str(unit)], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
