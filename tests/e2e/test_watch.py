"""`promoter watch` as a real daemon against stand-ins: the IDM REST stand-in really sends
mail through token/Graph stand-ins or an aiosmtpd SMTP stand-in while secrets rotate."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import cli, make_example, set_target, write
from tests.support.azure_standin import GraphStandin, TokenStandin, point_prod_at
from tests.support.idm_standin import IdmStandin
from tests.support.smtp_standin import SmtpStandin
from tests.support.watch_harness import (
    Daemon,
    Sender,
    atomic_writer_update,
    replace_file,
    wait_until,
)

CLIENT_ID = "00000000-0000-0000-0000-EXAMPLE00000"
FIRST = "EXAMPLE-not-a-real-client-secret"
IDM_TOKEN = "idm-token"
GRACE_S = 0.2  # an operator revokes the old secret once in-flight sends are done


@dataclass
class GraphWorld:
    repo: Path
    token: TokenStandin
    graph: GraphStandin
    idm: IdmStandin
    ca: Path

    @property
    def creds(self) -> Path:
        return self.repo / "secrets/prod/idm.email.msgraph.credentials"

    def rotate(self, new: str) -> None:
        self.token.add_secret(CLIENT_ID, new)
        replace_file(self.creds, json.dumps({"clientId": CLIENT_ID, "clientSecret": new}))

    def held_secret(self) -> Any:
        config = self.idm.config or {}
        return config.get("auth", {}).get("clientSecret")

    def daemon(
        self, *args: str, environ: dict[str, str] | None = None, health_host: str = "127.0.0.1"
    ) -> Daemon:
        return Daemon(
            self.repo,
            "prod",
            "--ca-file",
            str(self.ca),
            "--probe-patience-s",
            "1",
            *args,
            environ={"IDM_TOKEN": IDM_TOKEN, **(environ or {})},
            health_host=health_host,
        )


@pytest.fixture
def world(tmp_path: Path, tls: Any) -> Iterator[GraphWorld]:
    repo = make_example(tmp_path / "repo")
    with (
        TokenStandin(tls.server_context()) as token,
        GraphStandin(token, tls.server_context()) as graph,
        IdmStandin(tokens=frozenset({IDM_TOKEN}), ca_file=tls.ca_file) as idm,
    ):
        assert isinstance(token, TokenStandin) and isinstance(graph, GraphStandin)
        assert isinstance(idm, IdmStandin)
        token.add_secret(CLIENT_ID, FIRST)
        point_prod_at(repo, token, graph)
        set_target(repo, "prod", f"{{idm: '{idm.base}', bearerEnv: IDM_TOKEN, retries: 1}}")
        yield GraphWorld(repo, token, graph, idm, tls.ca_file)


def test_zero_downtime_client_secret_rotation(world: GraphWorld) -> None:
    daemon = world.daemon()
    try:
        daemon.wait_ready()
        assert world.held_secret() == FIRST
        previous = FIRST
        with Sender(world.idm.base, IDM_TOKEN, rate_per_s=40) as sender:
            for index in range(20):
                new = f"rotated-secret-{index:02d}-value"
                world.rotate(new)
                wait_until(lambda n=new: world.held_secret() == n, what=f"rotation {index}")
                time.sleep(GRACE_S)  # sends already using the old secret finish first
                world.token.revoke_secret(CLIENT_ID, previous)
                previous = new
            time.sleep(0.3)
        assert sender.failed == [] and sender.sent > 20
        puts = [s for m, p, s in world.idm.seen if m == "PUT"]
        assert puts == [200] * 21  # the first delivery, then each rotation exactly once
        assert "rotated-secret" not in daemon.raw_logs()
        status, metrics = daemon.get("/metrics")
        assert status == 200
        assert 'promoter_reloads_total{env="prod",result="success"} 21.0' in metrics
        assert "rotated-secret" not in metrics
    finally:
        assert daemon.stop() == 0


def test_smtp_password_rotation_without_failed_sends(tmp_path: Path, tls: Any) -> None:
    repo = make_example(tmp_path / "repo")
    password = repo / "secrets/staging/idm.email.smtp.password"
    first = password.read_text().strip()
    with (
        SmtpStandin(tls, users={"idm-mailer": first}) as smtp,
        IdmStandin(tokens=frozenset({IDM_TOKEN}), ca_file=tls.ca_file) as idm,
    ):
        assert isinstance(idm, IdmStandin)
        overlay = repo / "environments/staging.yaml"
        overlay.write_text(
            overlay.read_text()
            .replace("smtp.staging.example.com", "127.0.0.1")
            .replace("port: 587", f"port: {smtp.port}")
        )
        set_target(repo, "staging", f"{{idm: '{idm.base}', bearerEnv: IDM_TOKEN}}")
        daemon = Daemon(
            repo, "staging", "--ca-file", str(tls.ca_file), environ={"IDM_TOKEN": IDM_TOKEN}
        )
        try:
            daemon.wait_ready()
            previous = first
            with Sender(idm.base, IDM_TOKEN, rate_per_s=30) as sender:
                for index in range(20):
                    new = f"smtp-password-{index}"
                    smtp.add_password("idm-mailer", new)
                    replace_file(password, new + "\n")
                    wait_until(lambda n=new: (idm.config or {})["auth"]["password"] == n)
                    time.sleep(GRACE_S)
                    smtp.revoke_password("idm-mailer", previous)
                    previous = new
                time.sleep(0.3)
            assert sender.failed == [] and sender.sent > 20
            assert len(smtp.messages()) == sender.sent
            puts = [s for m, p, s in idm.seen if m == "PUT"]
            assert puts == [200] * 21  # the first delivery, then each rotation exactly once
        finally:
            assert daemon.stop() == 0


def test_rejected_secret_keeps_last_known_good(world: GraphWorld) -> None:
    daemon = world.daemon()
    try:
        daemon.wait_ready()
        mark = len(daemon.logs())
        replace_file(
            world.creds, json.dumps({"clientId": CLIENT_ID, "clientSecret": "never-valid"})
        )
        record = daemon.wait_log(lambda r: r.get("result") == "probe-failed", after=mark)
        assert "invalid client secret (AADSTS7000215)" in record["message"]
        assert world.held_secret() == FIRST
        with Sender(world.idm.base, IDM_TOKEN) as sender:
            time.sleep(0.5)
        assert sender.failed == [] and sender.sent > 0
        assert "never-valid" not in daemon.raw_logs()
        assert 'promoter_last_reload_success{env="prod"} 0.0' in daemon.get("/metrics")[1]
        assert daemon.get("/readyz")[0] == 200  # still serving the last known good
    finally:
        assert daemon.stop() == 0


def test_partial_writes_and_deletes_are_never_applied(world: GraphWorld) -> None:
    daemon = world.daemon()
    try:
        daemon.wait_ready()
        world.token.add_secret(CLIENT_ID, "second-secret")
        mark = len(daemon.logs())
        with world.creds.open("w") as handle:  # truncate, then a half-written JSON object
            handle.write('{"clientId": "' + CLIENT_ID + '", "clientSe')
        daemon.wait_log(lambda r: r.get("result") == "refused", after=mark)
        assert world.held_secret() == FIRST
        world.creds.write_text(json.dumps({"clientId": CLIENT_ID, "clientSecret": "second-secret"}))
        wait_until(lambda: world.held_secret() == "second-secret")
        mark = len(daemon.logs())
        world.creds.unlink()
        record = daemon.wait_log(lambda r: r.get("result") == "refused", after=mark)
        # the store is empty now: "not provisioned on this machine", still refused (watch
        # requires secrets), and the last known good is kept
        assert record["level"] == "error" and "kept last known good" in record["message"]
        assert "idm.email.msgraph.credentials" in record["message"]
        assert world.held_secret() == "second-secret"
    finally:
        assert daemon.stop() == 0


def test_vim_style_save_and_editor_temp_files(world: GraphWorld) -> None:
    daemon = world.daemon()
    try:
        daemon.wait_ready()
        world.token.add_secret(CLIENT_ID, "from-vim")
        backup = world.creds.with_name(world.creds.name + "~")
        os.rename(world.creds, backup)  # vim: backup by rename, write anew, drop the backup
        (world.creds.parent / ".idm.email.msgraph.credentials.swp").write_text("junk")
        world.creds.write_text(json.dumps({"clientId": CLIENT_ID, "clientSecret": "from-vim"}))
        backup.unlink()
        wait_until(lambda: world.held_secret() == "from-vim")
    finally:
        assert daemon.stop() == 0


def test_kubernetes_data_symlink_swap(world: GraphWorld) -> None:
    store = world.creds.parent
    atomic_writer_update(store, {world.creds.name: world.creds.read_text()})
    daemon = world.daemon()  # a 50 ms debounce
    try:
        daemon.wait_ready()
        world.token.add_secret(CLIENT_ID, "from-kubelet")
        old = atomic_writer_update(store, {world.creds.name: _creds("from-kubelet")}, cleanup=False)
        wait_until(lambda: world.held_secret() == "from-kubelet")

        def results() -> list[Any]:
            return [r.get("result") for r in daemon.logs() if r.get("event") == "reload"]

        wait_until(lambda: len(results()) >= 2, what="the rotation's log line")
        # the kubelet's housekeeping (its old timestamped directory removed, a stray
        # ..data_tmp) is no change to re-check: only ..data is read
        assert old is not None
        shutil.rmtree(old)
        (store / "..data_tmp").symlink_to("..data")
        (store / "..data_tmp").unlink()
        time.sleep(0.5)  # a re-check they caused would be logged by now (50 ms debounce)
        assert results() == ["success", "success"]
    finally:
        assert daemon.stop() == 0


def test_target_down_is_retried_on_resync(world: GraphWorld) -> None:
    daemon = world.daemon("--resync-s", "1")
    try:
        daemon.wait_ready()
        mark = len(daemon.logs())
        world.idm.fail_next(503, count=4)  # the read before the write, then both PUT attempts
        world.rotate("while-idm-was-down")
        daemon.wait_log(lambda r: r.get("result") == "delivery-failed", after=mark)
        assert world.held_secret() == FIRST
        wait_until(lambda: world.held_secret() == "while-idm-was-down", timeout=10)
    finally:
        assert daemon.stop() == 0


def test_resync_catches_what_no_event_reported(world: GraphWorld) -> None:
    daemon = world.daemon("--resync-s", "1")
    try:
        daemon.wait_ready()
        overlay = world.repo / "environments/prod.yaml"  # not watched: only the resync sees it
        overlay.write_text(overlay.read_text() + "threadPoolSize: 7\n")
        wait_until(lambda: (world.idm.config or {}).get("threadPoolSize") == 7, timeout=10)
    finally:
        assert daemon.stop() == 0


def test_sighup_reloads_promoter_yaml_and_overlays(world: GraphWorld) -> None:
    daemon = world.daemon()
    try:
        daemon.wait_ready()
        overlay = world.repo / "environments/prod.yaml"
        overlay.write_text(overlay.read_text() + "threadPoolSize: 9\n")
        daemon.signal(signal.SIGHUP)
        wait_until(lambda: (world.idm.config or {}).get("threadPoolSize") == 9, timeout=5)
    finally:
        assert daemon.stop() == 0


def test_sigterm_finishes_the_delivery_in_flight(world: GraphWorld) -> None:
    daemon = world.daemon()
    try:
        daemon.wait_ready()
        world.idm.delay_next(1.0)  # the next PUT takes a second
        world.rotate("during-shutdown")
        wait_until(
            lambda: any(m == "PUT" for m, _, _ in world.idm.seen[1:]) or len(world.idm.seen) > 2,
            timeout=5,
        )
        time.sleep(0.2)
        daemon.signal(signal.SIGTERM)
        assert daemon.stop() == 0
        assert world.held_secret() == "during-shutdown"
        assert daemon.logs()[-1]["event"] == "stop"
    finally:
        daemon.stop()


def test_handler_exception_does_not_kill_the_daemon(world: GraphWorld, tmp_path: Path) -> None:
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import os, promoter.mail.probe as p\n"
        "_real = p.probe\n"
        "def probe(*a, **k):\n"
        "    if os.path.exists(os.environ['BOOM_FILE']):\n"
        "        os.unlink(os.environ['BOOM_FILE'])\n"
        "        raise RuntimeError('boom')\n"
        "    return _real(*a, **k)\n"
        "p.probe = probe\n"
    )
    boom = tmp_path / "boom"
    daemon = world.daemon(environ={"PYTHONPATH": str(hook), "BOOM_FILE": str(boom)})
    try:
        daemon.wait_ready()
        boom.write_text("x")
        mark = len(daemon.logs())
        world.rotate("after-the-bug")
        daemon.wait_log(lambda r: r.get("result") == "error", after=mark)
        assert daemon.proc.poll() is None
        world.rotate("after-the-bug-2")
        wait_until(lambda: world.held_secret() == "after-the-bug-2")
    finally:
        assert daemon.stop() == 0


def test_polling_observer(world: GraphWorld) -> None:
    daemon = world.daemon("--poll")
    try:
        daemon.wait_ready()
        world.rotate("seen-by-polling")
        wait_until(lambda: world.held_secret() == "seen-by-polling")
    finally:
        assert daemon.stop() == 0


def test_references_render_probes_rotations_with_once(world: GraphWorld) -> None:
    text = (
        (world.repo / "promoter.yaml")
        .read_text()
        .replace("    render: resolved", "    render: references")
    )
    (world.repo / "promoter.yaml").write_text(text)
    environ = {"IDM_TOKEN": IDM_TOKEN}
    ca = ["--ca-file", str(world.ca), "--probe-patience-s", "0.3"]
    ok = cli("watch", "prod", "--once", *ca, cwd=world.repo, env=environ)
    assert ok.code == 0, ok.err
    held = world.idm.config or {}
    assert held["auth"]["clientSecret"] == {
        "$purpose": {"name": "idm.email.msgraph.credentials", "jsonPointer": "clientSecret"}
    }
    replace_file(world.creds, json.dumps({"clientId": CLIENT_ID, "clientSecret": "bad-rotation"}))
    bad = cli("watch", "prod", "--once", *ca, cwd=world.repo, env=environ)
    assert bad.code == 1
    [record] = [json.loads(line) for line in bad.err.splitlines()]
    assert record["result"] == "probe-failed" and "AADSTS7000215" in record["message"]
    assert "bad-rotation" not in bad.err


def test_idle_daemon_is_quiet(world: GraphWorld) -> None:
    daemon = world.daemon()
    try:
        daemon.wait_ready()
        before = len(daemon.logs())
        time.sleep(1.0)
        assert len(daemon.logs()) == before  # no polling, no periodic noise
        assert daemon.get("/healthz") == (200, "ok\n")
    finally:
        assert daemon.stop() == 0


def test_health_serves_on_ipv6_loopback(world: GraphWorld) -> None:
    daemon = world.daemon(health_host="::1")
    try:
        daemon.wait_ready()
        assert daemon.get("/healthz") == (200, "ok\n")
        assert any("on [::1]:" in str(r.get("message")) for r in daemon.logs())
    finally:
        assert daemon.stop() == 0


def test_each_recheck_logs_its_result_and_how_long_it_took(world: GraphWorld) -> None:
    daemon = world.daemon()
    try:
        daemon.wait_ready()
        first = daemon.wait_log(lambda r: r.get("event") == "reload")
        assert first["result"] == "success"
        assert isinstance(first["seconds"], float) and 0 < first["seconds"] < 30
    finally:
        assert daemon.stop() == 0


def test_readyz_is_503_until_the_first_delivery(world: GraphWorld) -> None:
    world.idm.fail_next(503, count=100)
    daemon = world.daemon("--resync-s", "60")
    try:
        daemon.wait_log(lambda r: r.get("result") == "delivery-failed")
        assert daemon.get("/readyz")[0] == 503
        assert daemon.get("/healthz")[0] == 200
        reloads = _samples(daemon.get("/metrics")[1], "promoter_reloads_total")
        # the first failure is an increase from an existing 0 series, not a new series
        assert reloads == {
            ("prod", "success"): 0.0,
            ("prod", "unchanged"): 0.0,
            ("prod", "refused"): 0.0,
            ("prod", "probe-failed"): 0.0,
            ("prod", "delivery-failed"): 1.0,
            ("prod", "error"): 0.0,
            ("prod", "lock-busy"): 0.0,
            ("prod", "changed"): 0.0,
        }
    finally:
        assert daemon.stop() == 0
        world.idm.fail_next(200, count=0)
    write(world.repo / "unused", "")


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--resync-s", "0", "--resync-s must be between 1 and 604800 (got 0)"),
        ("--resync-s", "-1", "--resync-s must be between 1 and 604800 (got -1)"),
        ("--resync-s", "nan", "--resync-s must be between 1 and 604800 (got nan)"),
        ("--debounce-ms", "-5", "--debounce-ms must be between 0 and 60000 (got -5)"),
        ("--probe-patience-s", "-1", "--probe-patience-s must be between 0 and 3600 (got -1)"),
    ],
)
def test_intervals_that_would_spin_are_usage_errors(
    example: Path, flag: str, value: str, message: str
) -> None:
    run = cli("watch", "prod", flag, value, cwd=example)
    assert run.code == 2
    assert run.err.splitlines() == [
        f"error: {message} (hint: the defaults are --debounce-ms 200 --resync-s 300 "
        "--probe-patience-s 30)"
    ]
    assert run.out == ""


class Appender:
    """Appends to a file every 30 ms until stopped (a busy log beside the secret)."""

    def __init__(self, path: Path) -> None:
        import threading

        self.path = path
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(0.03):
            with self.path.open("a") as handle:
                handle.write("line\n")

    def __enter__(self) -> Appender:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


@pytest.mark.parametrize("where", ["beside the store", "inside the store"])
def test_a_busy_file_does_not_postpone_a_rotation(world: GraphWorld, where: str) -> None:
    store = world.repo / "secrets/prod"
    busy = store.parent / "audit.log" if where == "beside the store" else store / "audit.log"
    daemon = world.daemon()
    try:
        daemon.wait_ready()
        with Appender(busy):
            world.rotate("while-a-log-grows")
            wait_until(lambda: world.held_secret() == "while-a-log-grows", what="the rotation")
        assert "while-a-log-grows" not in daemon.raw_logs()
    finally:
        assert daemon.stop() == 0


def test_a_store_directory_replaced_by_rename_is_watched_again(world: GraphWorld) -> None:
    store = world.repo / "secrets/prod"
    daemon = world.daemon()
    try:
        daemon.wait_ready()
        fresh = store.with_name("prod.new")
        fresh.mkdir()
        world.token.add_secret(CLIENT_ID, "in-the-new-directory")
        (fresh / world.creds.name).write_text(
            json.dumps({"clientId": CLIENT_ID, "clientSecret": "in-the-new-directory"})
        )
        os.rename(store, store.with_name("prod.old"))
        os.rename(fresh, store)
        wait_until(lambda: world.held_secret() == "in-the-new-directory", what="the new store")
        world.rotate("rotated-inside-the-new-directory")
        wait_until(
            lambda: world.held_secret() == "rotated-inside-the-new-directory",
            what="a rotation inside the new store",
        )
        assert "rotated-inside" not in daemon.raw_logs()
    finally:
        assert daemon.stop() == 0


def _samples(exposition: str, name: str) -> dict[tuple[str, ...], float]:
    from prometheus_client.parser import text_string_to_metric_families

    found: dict[tuple[str, ...], float] = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sample.labels.values())] = sample.value
    return found


def _head(url: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method="HEAD")
    with urllib.request.urlopen(request, timeout=5) as answer:
        return answer.status, dict(answer.headers), answer.read()


def test_metrics_parse_and_hold_every_series_from_the_start(world: GraphWorld) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    daemon = world.daemon()
    try:
        daemon.wait_ready()
        status, text = daemon.get("/metrics")
        assert status == 200
        families = {f.name: f for f in text_string_to_metric_families(text)}
        reloads = _samples(text, "promoter_reloads_total")
        assert set(reloads) == {
            ("prod", r)
            for r in (
                "success",
                "unchanged",
                "refused",
                "probe-failed",
                "delivery-failed",
                "error",
                "lock-busy",
                "changed",
            )
        }
        assert reloads[("prod", "success")] == 1.0 and reloads[("prod", "refused")] == 0.0
        for name in (
            "promoter_last_reload_success",
            "promoter_last_success_timestamp_seconds",
            "promoter_probe_seconds",
            "promoter_delivery_seconds",
        ):
            assert all(s.labels.get("env") == "prod" for s in families[name].samples), name
        rss = _samples(text, "process_resident_memory_bytes")
        assert rss and all(v > 0 for v in rss.values())
        assert "process_cpu_seconds" in families and "process_open_fds" in families
        assert FIRST not in text

        head = _head(f"{daemon.health_url}/metrics")
        assert head[0] == 200 and head[2] == b""
        assert int(head[1]["Content-Length"]) > 0
        assert head[1]["Content-Type"].startswith("text/plain; version=0.0.4")
        assert _head(f"{daemon.health_url}/healthz")[:1] == (200,)
        with pytest.raises(urllib.error.HTTPError) as missing:
            _head(f"{daemon.health_url}/nothing")
        assert missing.value.code == 404
        missing.value.close()

        promtool = shutil.which("promtool")
        if promtool is not None:
            checked = subprocess.run(
                [promtool, "check", "metrics"], input=text, capture_output=True, text=True
            )
            assert checked.returncode == 0, checked.stdout + checked.stderr
    finally:
        assert daemon.stop() == 0


LONG_DEBOUNCE_MS = "60000"  # a rename must not wait for it: every wait_until below is 15 s


def _creds(secret: str) -> str:
    return json.dumps({"clientId": CLIENT_ID, "clientSecret": secret})


def test_a_kubelet_data_swap_is_applied_without_waiting_for_the_debounce(
    world: GraphWorld,
) -> None:
    store = world.creds.parent
    atomic_writer_update(store, {world.creds.name: world.creds.read_text()})
    daemon = world.daemon("--debounce-ms", LONG_DEBOUNCE_MS)
    try:
        daemon.wait_ready()
        for index in range(3):
            new = f"kubelet-rotation-{index}"
            world.token.add_secret(CLIENT_ID, new)
            atomic_writer_update(store, {world.creds.name: _creds(new)})
            wait_until(lambda n=new: world.held_secret() == n, what=f"rotation {index}")
        assert sorted(p.name for p in store.iterdir() if not p.name.startswith("..2")) == [
            "..data",
            world.creds.name,
        ]
        assert not [r for r in daemon.logs() if r.get("level") == "error"]
    finally:
        assert daemon.stop() == 0


@pytest.mark.parametrize("how", ["vault-agent rename", "mv"])
def test_a_rename_into_place_is_applied_without_waiting_for_the_debounce(
    world: GraphWorld, how: str
) -> None:
    daemon = world.daemon("--debounce-ms", LONG_DEBOUNCE_MS)
    try:
        daemon.wait_ready()
        world.token.add_secret(CLIENT_ID, "renamed-into-place")
        if how == "mv":  # a file written elsewhere in the store, then moved over the old one
            staged = world.creds.with_name("staged.json")
            staged.write_text(_creds("renamed-into-place"))
            os.rename(staged, world.creds)
        else:
            replace_file(world.creds, _creds("renamed-into-place"))
        wait_until(lambda: world.held_secret() == "renamed-into-place")
    finally:
        assert daemon.stop() == 0


def test_an_in_place_write_still_waits_for_the_debounce(world: GraphWorld) -> None:
    daemon = world.daemon("--debounce-ms", "1000")
    try:
        daemon.wait_ready()
        world.token.add_secret(CLIENT_ID, "written-in-place")
        mark = len(daemon.logs())
        puts = len([s for m, _, s in world.idm.seen if m == "PUT"])
        text = _creds("written-in-place")
        with world.creds.open("w") as handle:  # truncate, half the JSON, a pause, the rest
            handle.write(text[:20])
            handle.flush()
            time.sleep(0.3)
            handle.write(text[20:])
        wait_until(lambda: world.held_secret() == "written-in-place")
        daemon.wait_log(lambda r: r.get("result") == "success", after=mark)
        results = [r.get("result") for r in daemon.logs()[mark:] if r.get("event") == "reload"]
        assert results == ["success"]  # the half-written file was never compiled
        assert len([s for m, _, s in world.idm.seen if m == "PUT"]) == puts + 1
    finally:
        assert daemon.stop() == 0
