"""Deliver a rendered configuration to its environment's target (file, IDM or AIC).

Each target kind has its own module; this one picks it and compares the read-back.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from promoter.compile.diff import diff
from promoter.errors import RefusedError, TargetError
from promoter.project.types import AicTarget, FileTarget
from promoter.targets import esv as aic_values
from promoter.targets.aic import CONFIG_PATH, AicClient
from promoter.targets.aic_dcc import SessionRun
from promoter.targets.esv_record import PushRecord
from promoter.targets.file import write_file
from promoter.targets.idm import IdmClient

if TYPE_CHECKING:
    from promoter.check.compiler import Compiled


def deliver(
    compiled: Compiled,
    *,
    delivered_sha256: str | None = None,
    immutable_hint: str | None = None,
    detail: dict[str, Any] | None = None,
    root: Path | None = None,
) -> str:
    """Deliver a gated result to its environment's target (file, IDM, AIC) and read it back.

    Returns a one-line summary. IDM stores secrets encrypted, so its read-back
    compares the non-secret fields. ``delivered_sha256`` is the output last delivered to
    this target (the ledger's): when it is this output's, secrets the target holds encrypted
    count as unchanged, so an unchanged config is not written again. ``root``: the repo
    whose ``esv_record`` spares an AIC tenant a secret version it already holds.
    """
    same = delivered_sha256 is not None and delivered_sha256 == compiled.sha256

    target, text, config = compiled.env.target, compiled.text, compiled.output
    if text is None or config is None:
        raise TargetError(f"{compiled.env.name}: nothing to deliver")
    if isinstance(target, FileTarget):
        return write_file(target, text, secret=compiled.holds_secrets)

    if isinstance(target, AicTarget):
        env = compiled.env
        with AicClient(
            target, label=f"{env.name}'s tenant", secrets=compiled.secret_values()
        ) as aic:
            immutable = aic.immutable()  # asked before any ESV push or PUT
            if immutable and not target.direct_configuration:
                raise RefusedError(
                    f"{env.name}'s AIC tenant says it is immutable: its config changes only by "
                    "AIC promotion or a Direct Configuration session",
                    hint=immutable_hint
                    or f"promoter promote <lower env> {env.name} --apply, or directConfiguration: "
                    f"true on {env.name}'s target",
                )
            values, sources = aic_values.read_secrets(env)
            record = PushRecord.load(root, target.url, sources) if root else None
            try:
                pushed = aic_values.push(aic, env, config, values, record)
            finally:
                if record is not None:
                    record.save()  # what was pushed stays pushed, whatever follows
            if immutable:  # and directConfiguration: through a session
                states = _through_session(aic, compiled, config)
                written = states is not None
                if states is not None and detail is not None:
                    detail["aic"] = {"via": "direct-configuration", "sessionStates": states}
            else:
                written = _write_if_changed(aic, config, compiled.secret_pointers, target.url, same)
            restarted = aic.restart_if_needed(aic_values.in_use(pushed, config))
        esvs = f"; ESVs changed: {', '.join(pushed.changed)}" if pushed.changed else ""
        after = "; restarted to load ESVs" if restarted else ""
        via = " through a Direct Configuration session" if immutable and written else ""
        return f"{_said(written, target.url + CONFIG_PATH + via)}{esvs}{after}"

    with IdmClient(target) as client:
        written = _write_if_changed(client, config, compiled.secret_pointers, target.url, same)
    return _said(written, f"{target.url}/config/external.email")


class _ConfigTarget(Protocol):
    def get_config(self) -> dict[str, Any] | None: ...
    def put_config(self, config: Mapping[str, Any]) -> None: ...


def _write_if_changed(
    client: _ConfigTarget,
    config: dict[str, Any],
    secret_pointers: set[str],
    url: str,
    same_secrets: bool,
) -> bool:
    """PUT only when the target holds something else, then read back; False when it
    already held ``config``. Every field is compared exactly; a secret the target keeps
    encrypted never equals ours, so it counts as unchanged only when ``same_secrets``
    (this very output was the last one delivered here)."""
    try:
        held = client.get_config()
    except TargetError:  # unreadable: write as before; the PUT's own answer says what is wrong
        held = None
    if unchanged(held, config) or (
        same_secrets and held is not None and not read_back_mismatch(config, held, secret_pointers)
    ):
        return False
    client.put_config(config)
    mismatch = read_back_mismatch(config, client.get_config(), secret_pointers)
    if mismatch:
        raise TargetError(f"read-back from {url} differs at {', '.join(mismatch)}")
    return True


def _through_session(
    aic: AicClient, compiled: Compiled, config: dict[str, Any]
) -> list[str] | None:
    """Write ``config`` through a Direct Configuration session; the states seen, or None
    when the tenant already holds it (no session opened)."""
    if unchanged(aic.get_config(), config):
        return None
    run = SessionRun(aic, compiled.env.name, lambda _: None)
    run.deliver(config, lambda held: read_back_mismatch(config, held, compiled.secret_pointers))
    return run.states


def unchanged(held: object, config: object) -> bool:
    """The target holds exactly ``config`` (a re-PUT would still be a change on it)."""
    return held is not None and not diff(held, config)


def _said(written: bool, where: str) -> str:
    if written:
        return f"delivered to {where} (read back: non-secret fields match)"
    return f"unchanged: {where} already holds it (nothing written)"


def read_back_mismatch(sent: object, held: object, secret_pointers: set[str]) -> list[str]:
    """Pointers whose non-secret values differ (IDM stores secrets encrypted)."""

    changes = diff(held, sent, secret_pointers=secret_pointers, skip_secrets=True)
    return [c.pointer for c in changes]
