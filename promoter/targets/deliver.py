"""Deliver a rendered configuration to its environment's target (file, IDM or AIC).

Each target kind has its own module; this one picks it and compares the read-back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from promoter.compile.diff import diff
from promoter.errors import TargetError
from promoter.project.types import AicTarget, FileTarget
from promoter.targets import esv as aic_values
from promoter.targets.aic import CONFIG_PATH, AicClient
from promoter.targets.file import write_file
from promoter.targets.idm import IdmClient

if TYPE_CHECKING:
    from promoter.check.compiler import Compiled


def deliver(compiled: Compiled) -> str:
    """Deliver a gated result to its environment's target (file, IDM, AIC) and read it back.

    Returns a one-line summary. IDM stores secrets encrypted, so its read-back
    compares the non-secret fields.
    """

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
            pushed = aic_values.push(aic, env, config, aic_values.secret_values(env))
            aic.put_config(config)
            mismatch = read_back_mismatch(config, aic.get_config(), compiled.secret_pointers)
            if mismatch:
                raise TargetError(f"read-back from {target.url} differs at {', '.join(mismatch)}")
            restarted = aic.restart_if_needed(aic_values.in_use(pushed, config))
        esvs = f"; ESVs changed: {', '.join(pushed.changed)}" if pushed.changed else ""
        after = "; restarted to load ESVs" if restarted else ""
        return (
            f"delivered to {target.url}{CONFIG_PATH} (read back: non-secret fields match)"
            f"{esvs}{after}"
        )

    client = IdmClient(target)
    client.put_config(config)
    mismatch = read_back_mismatch(config, client.get_config(), compiled.secret_pointers)
    if mismatch:
        raise TargetError(f"read-back from {target.url} differs at {', '.join(mismatch)}")
    return f"delivered to {target.url}/config/external.email (read back: non-secret fields match)"


def read_back_mismatch(sent: object, held: object, secret_pointers: set[str]) -> list[str]:
    """Pointers whose non-secret values differ (IDM stores secrets encrypted)."""

    changes = diff(held, sent, secret_pointers=secret_pointers, skip_secrets=True)
    return [c.pointer for c in changes]
