"""Remote answers nobody tried (issue 19, round 3): JSON nested 100,000 deep from the IDM
stand-in and from a token endpoint stand-in. Each is exit 3 with one line naming the
remote party, never an internal error, and no secret in the output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BIN, cli, set_target
from tests.support.http_standin import HttpStandin, Request, Response
from tests.support.idm_standin import IdmStandin
from tests.support.trickle_standin import TrickleStandin

TOKEN = "idm-bearer-CANARY-73aa"
CLIENT_SECRET = "oauth-client-secret-CANARY-0c9d"
DEEP = b"[" * 100_000 + b"]" * 100_000
PROMOTER = (
    [str(BIN / "promoter")] if (BIN / "promoter").exists() else [sys.executable, "-m", "promoter"]
)
MODERATE = b"[" * 500 + b"]" * 500  # decodes, but deeper than any answer we read


class DeepTokenEndpoint(HttpStandin):
    """A token endpoint stand-in whose every answer is ``body`` (status 200)."""

    def __init__(self, body: bytes) -> None:
        super().__init__()
        self.body = body

    def route(self, request: Request) -> Response:
        return Response(200, self.body, {"Content-Type": "application/json"})


@pytest.mark.parametrize("body", [DEEP, MODERATE], ids=["100000 deep", "500 deep"])
@pytest.mark.parametrize("command", ["diff", "import"])
def test_deep_json_from_idm_is_exit_3_naming_it(example: Path, command: str, body: bytes) -> None:
    with IdmStandin(tokens=frozenset({TOKEN})) as idm:
        assert isinstance(idm, IdmStandin)
        set_target(example, "prod", f"{{idm: '{idm.base}', bearerEnv: IDM_TOKEN}}")
        idm.fail_next(200, count=10, body=body, headers={"Content-Type": "application/json"})
        args = ("diff", "prod") if command == "diff" else ("import", "--force", "idm:prod")
        run = cli(*args, cwd=example, env={"IDM_TOKEN": TOKEN})
    assert run.code == 3, run
    assert "internal error" not in run.err and "Traceback" not in run.err
    [line] = run.err.splitlines()
    assert line.startswith("error: ") and idm.base.removesuffix("/openidm") in line
    assert TOKEN not in run.out + run.err


def test_deep_json_from_a_token_endpoint_is_exit_3_naming_it(example: Path) -> None:
    with DeepTokenEndpoint(DEEP) as am, IdmStandin(tokens=frozenset({TOKEN})) as idm:
        assert isinstance(idm, IdmStandin)
        target = (
            f"{{idm: '{idm.base}', oauth2: {{tokenEndpoint: '{am.url}/am/oauth2/access_token', "
            "clientIdEnv: CLIENT_ID, clientSecretEnv: CLIENT_SECRET}}"
        )
        set_target(example, "prod", target)
        environ = {"CLIENT_ID": "promoter", "CLIENT_SECRET": CLIENT_SECRET}
        run = cli("diff", "prod", cwd=example, env=environ)
    assert run.code == 3, run
    assert "internal error" not in run.err and "Traceback" not in run.err
    [line] = run.err.splitlines()
    assert am.url in line or "token" in line
    assert CLIENT_SECRET not in run.out + run.err


# -- files a setting names (issue 19 item 10): read as overlays are --------------------


def _fifo(path: Path) -> Path:
    import os

    os.mkfifo(path)
    return path


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "directory"])
def test_a_key_file_that_is_no_regular_file_is_an_input_error(example: Path, kind: str) -> None:
    key = {
        "fifo": lambda: str(_fifo(example / "key.jwk").relative_to(example)),
        "dev-zero": lambda: "/dev/zero",
        "directory": lambda: "environments",
    }[kind]()
    target = (
        f"{{aic: 'https://tenant.example.com', serviceAccount: {{idEnv: SA_ID, keyFile: '{key}'}}}}"
    )
    set_target(example, "prod", target)
    run = cli("diff", "prod", cwd=example, env={"SA_ID": "sa"})
    assert run.code == 2, run
    [line] = run.err.splitlines()
    assert "cannot read the service-account key file" in line
    assert "not a regular file" in line  # never a hang (FIFO) nor a MemoryError (/dev/zero)
    assert "internal error" not in run.err


@pytest.mark.parametrize("kind", ["fifo", "garbage"])
def test_a_ca_file_that_is_no_pem_file_is_an_input_error(example: Path, kind: str) -> None:
    if kind == "fifo":
        _fifo(example / "ca.pem")
    else:
        (example / "ca.pem").write_text("not a certificate\n")
    with IdmStandin(tokens=frozenset({TOKEN})) as idm:
        assert isinstance(idm, IdmStandin)
        set_target(example, "prod", f"{{idm: '{idm.base}', bearerEnv: IDM_TOKEN, caFile: ca.pem}}")
        run = cli("diff", "prod", cwd=example, env={"IDM_TOKEN": TOKEN})
    assert run.code == 2, run
    [line] = run.err.splitlines()
    assert "cannot use the CA file" in line and str(example / "ca.pem") in line
    expected = "not a regular file" if kind == "fifo" else "no PEM certificate in it"
    assert expected in line


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_a_file_target_that_is_no_regular_file_is_an_input_error(example: Path, kind: str) -> None:
    if kind == "fifo":
        (example / "build").mkdir(exist_ok=True)
        _fifo(example / "build" / "held.json")
        set_target(example, "prod", "{file: build/held.json}")
    else:
        set_target(example, "prod", "{file: /dev/zero}", "    allowOutsideRepo: true\n")
    run = _bounded("diff", "prod", cwd=example, env={})  # a FIFO hung here, /dev/zero: MemoryError
    assert run.returncode == 2, run
    [line] = run.stderr.splitlines()
    assert line.endswith("target file is not a regular file"), line


# -- an answer trickled a byte at a time (issue 19 item 11): timeout bounds the request -----


def _bounded(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The command in a subprocess; the outer timeout is only the fail-safe for a hang
    (TimeoutExpired fails the test), far above the target's own ``timeout:``."""
    return subprocess.run(
        [*PROMOTER, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **env},
    )


def test_a_trickling_idm_cannot_keep_deliver_past_its_timeout(example: Path) -> None:
    with TrickleStandin() as idm:
        set_target(
            example,
            "prod",
            f"{{idm: '{idm.url}/openidm', bearerEnv: IDM_TOKEN, timeout: 0.5, retries: 0}}",
        )
        run = _bounded("deliver", "prod", cwd=example, env={"IDM_TOKEN": TOKEN})
    assert run.returncode == 3, run
    [line] = run.stderr.splitlines()
    assert line.startswith("error: ") and idm.url in line
    assert "no complete answer within timeout: 0.5 s" in line
    assert TOKEN not in run.stdout + run.stderr


def test_a_trickling_token_endpoint_cannot_keep_a_request_past_its_timeout(
    example: Path,
) -> None:
    with TrickleStandin() as am, IdmStandin(tokens=frozenset({TOKEN})) as idm:
        assert isinstance(idm, IdmStandin)
        target = (
            f"{{idm: '{idm.base}', timeout: 0.5, retries: 0, oauth2: {{tokenEndpoint: "
            f"'{am.url}/am/oauth2/access_token', clientIdEnv: CLIENT_ID, "
            "clientSecretEnv: CLIENT_SECRET}}"
        )
        set_target(example, "prod", target)
        environ = {"CLIENT_ID": "promoter", "CLIENT_SECRET": CLIENT_SECRET}
        run = _bounded("deliver", "prod", cwd=example, env=environ)
    assert run.returncode == 3, run
    [line] = run.stderr.splitlines()
    assert line.startswith("error: ") and am.url in line
    assert "no complete answer within timeout: 0.5 s" in line
    assert CLIENT_SECRET not in run.stdout + run.stderr
    assert idm.config is None  # nothing delivered without a token


def test_a_trickling_service_account_token_endpoint_ends_without_the_key(example: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    from tests.support.aic_standin import ServiceAccountKey

    key = ServiceAccountKey("sa-canary", rsa.generate_private_key(65537, 2048))
    (example / "sa.pem").write_bytes(key.private_pem)
    with TrickleStandin() as am:
        target = (
            f"{{aic: '{am.url}', timeout: 0.5, retries: 0, serviceAccount: {{idEnv: SA_ID, "
            f"keyFile: sa.pem, tokenEndpoint: '{am.url}/am/oauth2/access_token'}}}}"
        )
        set_target(example, "prod", target)
        run = _bounded("diff", "prod", cwd=example, env={"SA_ID": key.id})
    assert run.returncode == 3, run
    [line] = run.stderr.splitlines()
    assert am.url in line and "no complete answer within timeout: 0.5 s" in line
    shown = run.stdout + run.stderr
    pem_lines = [ln for ln in key.private_pem.decode().splitlines() if "-----" not in ln]
    assert not any(part in shown for part in pem_lines)  # canary: no line of the key


@pytest.mark.parametrize("kind", ["too large", "not UTF-8"])
def test_an_unreadable_key_file_never_shows_its_content(example: Path, kind: str) -> None:
    canary = "sa-key-CANARY-5f1e"
    content = (canary + "x" * 70_000).encode() if kind == "too large" else canary.encode() + b"\xff"
    (example / "sa.jwk").write_bytes(content)
    target = "{aic: 'https://tenant.example.com', serviceAccount: {idEnv: SA_ID, keyFile: sa.jwk}}"
    set_target(example, "prod", target)
    run = cli("diff", "prod", cwd=example, env={"SA_ID": "sa"})
    assert run.code == 2, run
    [line] = run.err.splitlines()
    assert "cannot read the service-account key file sa.jwk" in line
    assert ("larger than 64 KiB" if kind == "too large" else "not UTF-8 text") in line
    assert canary not in run.out + run.err


# -- a trickling answer (issue 19 item 11): the timeout bounds the whole request ---------


class Trickle:
    """A TCP server that answers every connection one byte every 0.3 s, for ever."""

    def __init__(self, answer: bytes) -> None:
        import socket
        import threading

        self.answer = answer
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import threading

        while not self.stop.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: Any) -> None:
        with conn:
            for byte in self.answer * 100:
                if self.stop.wait(0.3):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    def close(self) -> None:
        self.stop.set()
        self.server.close()


HEADERS = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"


@pytest.mark.parametrize("where", ["idm", "token endpoint"])
def test_a_trickling_answer_is_cut_at_the_timeout(example: Path, where: str) -> None:
    trickle = Trickle(HEADERS)
    try:
        url = f"http://127.0.0.1:{trickle.port}"
        if where == "idm":
            target = f"{{idm: '{url}/openidm', bearerEnv: IDM_TOKEN, timeout: 1, retries: 0}}"
        else:
            target = (
                "{idm: 'http://127.0.0.1:9/openidm', timeout: 1, retries: 0, oauth2: "
                f"{{tokenEndpoint: '{url}/token', clientIdEnv: CLIENT_ID, "
                "clientSecretEnv: CLIENT_SECRET}}"
            )
        set_target(example, "prod", target)
        environ = {"IDM_TOKEN": TOKEN, "CLIENT_ID": "c", "CLIENT_SECRET": CLIENT_SECRET}
        run = cli("diff", "prod", cwd=example, env=environ)  # cli's own 60 s bound: fail-safe
    finally:
        trickle.close()
    assert run.code == 3, run
    assert "no complete answer within timeout: 1 s" in run.err, run.err
    assert TOKEN not in run.out + run.err and CLIENT_SECRET not in run.out + run.err
