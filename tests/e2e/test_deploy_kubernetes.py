"""deploy/kubernetes/sidecar.yaml run as written, with this test playing the kubelet: every
volume the container mounts is laid with the AtomicWriter sequence, the container's
args/env/workingDir run under a temporary root (its mount namespace), the probes are
polled until ready, and the Secret is rotated five times the kubelet's way; each rotation
reaches the IDM stand-in.

Only what a pod provides and a test cannot is mapped: container paths live under the
temporary root (also where promoter.yaml names one), the pod's localhost ports (IDM's
8080, the health port) become free ports, Azure's endpoints become stand-ins, and the
image's trust store (SSL_CERT_FILE) holds the stand-ins' CA."""

from __future__ import annotations

import json
import os
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
from ruamel.yaml import YAML

from tests.conftest import BIN, REPO
from tests.support.azure_standin import GraphStandin, TokenStandin
from tests.support.containerfile import parse
from tests.support.idm_standin import IdmStandin
from tests.support.kubelet import (
    atomic_write,
    configmap_payload,
    container_path,
    mount,
    secret_payload,
)
from tests.support.smtp_standin import free_port
from tests.support.watch_harness import wait_until

MANIFEST = REPO / "deploy/kubernetes/sidecar.yaml"
CONTAINER = "promoter-watch"
CREDENTIALS = "idm-email-credentials"
AZURE_TOKEN = "https://login.microsoftonline.com/example.onmicrosoft.com/oauth2/v2.0/token"
AZURE_GRAPH = "https://graph.microsoft.com/v1.0/users/noreply@example.onmicrosoft.com/sendMail"
POD_IDM = "http://127.0.0.1:8080/openidm"


@dataclass
class Pod:
    objects: dict[tuple[str, str], dict[str, Any]]
    container: dict[str, Any]
    volumes: dict[str, dict[str, Any]]

    @classmethod
    def read(cls) -> Pod:
        docs = [d for d in YAML(typ="safe").load_all(MANIFEST.read_text()) if d]
        objects = {(d["kind"], d["metadata"]["name"]): d for d in docs}
        (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
        spec = deployment["spec"]["template"]["spec"]
        (container,) = [c for c in spec["containers"] if c["name"] == CONTAINER]
        return cls(objects, container, {v["name"]: v for v in spec["volumes"]})


@dataclass
class Kubelet:
    pod: Pod
    work: Path
    rewrite: dict[str, str]  # container-visible text -> what it is in this test

    @property
    def root(self) -> Path:
        return self.work / "container-root"

    def volume_dir(self, name: str) -> Path:
        """A volume mounted once, whole, lies at its mount path (a bind mount shows the
        same directory; a symlink would not do: inotify does not follow one); else aside."""
        mounts = [m for m in self.pod.container["volumeMounts"] if m["name"] == name]
        if len(mounts) == 1 and "subPath" not in mounts[0]:
            return container_path(self.root, mounts[0]["mountPath"])
        return self.work / "volumes" / name

    def payload(self, name: str) -> dict[str, str] | None:
        volume = self.pod.volumes[name]
        if "secret" in volume:
            source = self.pod.objects[("Secret", volume["secret"]["secretName"])]
            data = secret_payload(source, volume["secret"].get("items"))
        elif "configMap" in volume:
            source = self.pod.objects[("ConfigMap", volume["configMap"]["name"])]
            data = configmap_payload(source, volume["configMap"].get("items"))
        else:
            assert set(volume) == {"name", "emptyDir"}, volume
            return None
        return {path: self.map(text) for path, text in data.items()}

    def map(self, text: str) -> str:
        for old, new in self.rewrite.items():
            text = text.replace(old, new)
        return text

    def lay_volumes(self) -> None:
        mounts = sorted(self.pod.container["volumeMounts"], key=lambda m: m["mountPath"])
        for name in dict.fromkeys(m["name"] for m in mounts):  # parents first
            payload = self.payload(name)
            if payload is None:
                self.volume_dir(name).mkdir(parents=True)
            else:
                atomic_write(self.volume_dir(name), payload)
        for m in mounts:  # parents first, as the runtime mounts them
            volume = self.volume_dir(m["name"])
            if volume != container_path(self.root, m["mountPath"]):
                mount(self.root, m["mountPath"], volume, m.get("subPath"))

    def env(self) -> dict[str, str]:
        env = {"PATH": os.environ["PATH"]}
        for item in self.pod.container.get("env", []):
            if "value" in item:
                env[item["name"]] = self.map(item["value"])
            else:
                ref = item["valueFrom"]["secretKeyRef"]
                env[item["name"]] = secret_payload(self.pod.objects[("Secret", ref["name"])], None)[
                    ref["key"]
                ]
        return env

    def argv(self) -> list[str]:
        """The image's ENTRYPOINT (the Containerfile's) unless command is set, then args."""
        _, stages = parse(REPO / "deploy/container/Containerfile")
        (entry,) = [s.text for s in stages[-1].steps if s.keyword == "ENTRYPOINT"]
        command = self.pod.container.get("command") or json.loads(entry)
        argv = [*command, *self.pod.container.get("args", [])]
        assert argv[0] == "promoter", argv
        return [str(BIN / "promoter"), *(self.map(word) for word in argv[1:])]

    def probe(self, kind: str) -> int:
        get = self.pod.container[kind]["httpGet"]
        port = self.map(str(get["port"]))
        try:
            url = f"http://127.0.0.1:{port}{get['path']}"
            with urllib.request.urlopen(url, timeout=2) as reply:
                return int(reply.status)
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return 0


CLIENT_ID = "00000000-0000-0000-0000-000000000000"  # the manifest's Secret holds it


@pytest.fixture
def standins(tls: Any) -> Iterator[tuple[TokenStandin, GraphStandin, IdmStandin, str]]:
    pod = Pod.read()
    token_value = secret_payload(pod.objects[("Secret", "idm-admin-token")], None)["token"]
    with (
        TokenStandin(tls.server_context()) as token,
        GraphStandin(token, tls.server_context()) as graph,
        IdmStandin(tokens=frozenset({token_value}), ca_file=tls.ca_file) as idm,
    ):
        assert isinstance(token, TokenStandin) and isinstance(graph, GraphStandin)
        assert isinstance(idm, IdmStandin)
        yield token, graph, idm, token_value


@pytest.mark.slow
def test_the_sidecar_runs_as_written_and_sees_five_kubelet_rotations(
    tmp_path: Path, tls: Any, standins: tuple[TokenStandin, GraphStandin, IdmStandin, str]
) -> None:
    token, graph, idm, _ = standins
    pod = Pod.read()
    health = free_port()
    rewrite = {
        POD_IDM: idm.base,
        AZURE_TOKEN: token.token_endpoint(),
        AZURE_GRAPH: graph.mail_endpoint(),
        "0.0.0.0:9464": f"127.0.0.1:{health}",
        "9464": str(health),
    }
    kubelet = Kubelet(pod, tmp_path, rewrite)
    for m in pod.container["volumeMounts"]:  # promoter.yaml names container paths
        rewrite.setdefault(m["mountPath"], str(container_path(kubelet.root, m["mountPath"])))
    secret = pod.objects[("Secret", CREDENTIALS)]
    first = json.loads(secret_payload(secret, None)["idm.email.msgraph.credentials"])
    assert first["clientId"] == CLIENT_ID
    token.add_secret(CLIENT_ID, first["clientSecret"])
    kubelet.lay_volumes()

    workdir = container_path(kubelet.root, pod.container["workingDir"])
    proc = subprocess.Popen(
        kubelet.argv(),
        cwd=workdir,
        env={**kubelet.env(), "SSL_CERT_FILE": str(tls.ca_file)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    rotated: list[str] = []
    try:
        wait_until(lambda: kubelet.probe("readinessProbe") == 200, timeout=30, what="ready")
        assert kubelet.probe("livenessProbe") == 200
        assert (idm.config or {})["auth"]["clientSecret"] == first["clientSecret"]
        rss_kib = _rss_kib(proc.pid)
        for index in range(5):
            new = f"kubelet-rotation-{index}-{time.monotonic_ns()}"
            rotated.append(new)
            token.add_secret(CLIENT_ID, new)
            credentials = json.dumps({"clientId": CLIENT_ID, "clientSecret": new})
            atomic_write(
                kubelet.volume_dir("email-credentials"),
                {"idm.email.msgraph.credentials": credentials},
            )
            wait_until(
                lambda n=new: (idm.config or {})["auth"]["clientSecret"] == n,
                what=f"rotation {index} at the IDM stand-in",
            )
        rss_kib = max(rss_kib, _rss_kib(proc.pid))
        assert kubelet.probe("readinessProbe") == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err[-2000:]
    for value in [first["clientSecret"], *rotated]:
        assert value not in out + err
    limit = pod.container["resources"]["limits"]["memory"]
    assert limit.endswith("Mi") and rss_kib < int(limit[:-2]) * 1024 * 0.75, rss_kib
    print(f"watcher RSS after 5 rotations: {rss_kib / 1024:.1f} MiB")


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")
