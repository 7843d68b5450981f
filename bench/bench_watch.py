"""Watcher: a rotated secret → IDM stand-in holds the new config, while mail flows.

    python -m bench.bench_watch [ROTATIONS] [DEBOUNCE_MS] [MODE ...]

Runs `promoter watch prod` against loopback stand-ins (token endpoint, Graph
sendMail, IDM REST stand-in that really sends through them), once per way a
secret arrives, side by side (default: 100 rotations, the shipped 200 ms debounce):

- kubelet: a Secret volume updated by the kubelet's AtomicWriter sequence
  (timestamped dir, ``..data_tmp`` renamed over ``..data``); clock starts before it;
- rename: a new file renamed over the old one (Vault Agent, consul-template);
- in-place: the file truncated and rewritten (waits for the debounce);
- poll: the rename with ``--poll`` (watchdog's polling observer).

Prints p50/p99 latency over the rotations, sends and failed sends at 50 messages/s,
the daemon's RSS and its CPU use over 5 idle seconds, and the daemon's own time per
re-check (its log's ``seconds``), which tells the daemon's share of a slow rotation from
the machine's (stand-ins, sender and daemon share the cores).
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.conftest import make_example, set_target
from tests.support.azure_standin import GraphStandin, TokenStandin, point_prod_at
from tests.support.certs import make_tls
from tests.support.idm_standin import IdmStandin
from tests.support.watch_harness import (
    Daemon,
    Sender,
    atomic_writer_update,
    replace_file,
    wait_until,
)

CLIENT_ID = "00000000-0000-0000-0000-EXAMPLE00000"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(ordered: list[float], p: int) -> float:
    """Nearest rank: the smallest value with at least p % of the values at or below it
    (p99 of 100 values is the 99th, not the maximum, which is printed on its own)."""
    return ordered[max(0, math.ceil(len(ordered) * p / 100) - 1)]


def rotate(mode: str, creds: Path, text: str) -> None:
    if mode == "kubelet":
        atomic_writer_update(creds.parent, {creds.name: text})
    elif mode == "in-place":
        with creds.open("w") as handle:  # truncate, then write
            handle.write(text)
    else:
        replace_file(creds, text)


def run(mode: str, rotations: int, debounce_ms: int, tmp: Path) -> None:
    tls = make_tls(tmp / "tls")
    repo = make_example(tmp / f"repo-{mode}")
    with (
        TokenStandin(tls.server_context()) as token,
        GraphStandin(token, tls.server_context()) as graph,
        IdmStandin(tokens=frozenset({"t"}), ca_file=tls.ca_file) as idm,
    ):
        assert isinstance(token, TokenStandin) and isinstance(idm, IdmStandin)
        assert isinstance(graph, GraphStandin)
        token.add_secret(CLIENT_ID, "EXAMPLE-not-a-real-client-secret")
        point_prod_at(repo, token, graph)
        set_target(repo, "prod", f"{{idm: '{idm.base}', bearerEnv: IDM_TOKEN}}")
        args = ["--ca-file", str(tls.ca_file), "--debounce-ms", str(debounce_ms)]
        if mode == "poll":
            args.append("--poll")
        creds = repo / "secrets/prod/idm.email.msgraph.credentials"
        if mode == "kubelet":
            atomic_writer_update(creds.parent, {creds.name: creds.read_text()})
        daemon = Daemon(repo, "prod", *args, environ={"IDM_TOKEN": "t"})
        latencies = []
        try:
            daemon.wait_ready()
            previous = "EXAMPLE-not-a-real-client-secret"
            with Sender(idm.base, "t", rate_per_s=50) as sender:
                for index in range(rotations):
                    new = f"bench-{mode}-{index}"
                    token.add_secret(CLIENT_ID, new)
                    started = time.monotonic()
                    rotate(mode, creds, json.dumps({"clientId": CLIENT_ID, "clientSecret": new}))
                    wait_until(
                        lambda n=new: (idm.config or {})["auth"]["clientSecret"] == n, timeout=30
                    )
                    latencies.append(time.monotonic() - started)
                    time.sleep(0.2)  # in-flight sends finish before the old secret goes
                    token.revoke_secret(CLIENT_ID, previous)
                    previous = new
            rechecks = [
                1000 * r["seconds"]
                for r in daemon.logs()
                if r.get("event") == "reload" and r.get("result") == "success"
            ][-len(latencies) :]  # the first success is the start's
            rss = rss_mb(daemon.proc.pid)
            before = cpu_seconds(daemon.proc.pid)
            time.sleep(5)
            idle = (cpu_seconds(daemon.proc.pid) - before) / 5 * 100
        finally:
            daemon.stop()
    ms = sorted(x * 1000 for x in latencies)
    p99 = percentile(ms, 99)
    print(
        f"  {mode:<8} rotations {len(ms)}: p50 {statistics.median(ms):6.1f} ms  "
        f"p99 {p99:6.1f} ms  (debounce {debounce_ms} ms)  sends {sender.sent} "
        f"({sender.rate:.0f}/s), failed {len(sender.failed)}  RSS {rss:5.1f} MB  "
        f"idle CPU {idle:4.2f}%  (p90 {percentile(ms, 90):.1f} ms, max {ms[-1]:.1f} ms; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    if len(rechecks) == len(latencies):
        slowest = sorted(range(len(latencies)), key=lambda i: latencies[i])[-3:]
        print(
            f"  {'':<8} the daemon's own re-check (its log's seconds): "
            f"p50 {statistics.median(rechecks):6.1f} ms  max {max(rechecks):6.1f} ms; "
            "the 3 slowest rotations: "
            + ", ".join(f"{latencies[i] * 1000:.0f} ms (daemon {rechecks[i]:.0f})" for i in slowest)
        )


MODES = ("kubelet", "rename", "in-place", "poll")

if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    debounce = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    modes = sys.argv[3:] or MODES
    print("secret rotated → IDM stand-in holds the new config (loopback stand-ins)")
    with tempfile.TemporaryDirectory() as tmp:
        for mode in modes:
            run(mode, count, debounce, Path(tmp))
