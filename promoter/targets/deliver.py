"""Deliver a rendered configuration to its environment's target (file, IDM or AIC).

The public names (``write_atomic``, ``deliver``, ``read_back_mismatch``,
``SECRET_MODE``, ``PUBLIC_MODE``) live here so callers import from
``promoter.targets``; each target kind has its own module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from promoter.errors import Location, TargetError
from promoter.targets.file import PUBLIC_MODE, SECRET_MODE, write_atomic

if TYPE_CHECKING:
    from promoter.check.compiler import Compiled

__all__ = ["PUBLIC_MODE", "SECRET_MODE", "deliver", "read_back_mismatch", "write_atomic"]


def deliver(compiled: Compiled) -> str:
    """Deliver a gated result to its environment's target (file, IDM, AIC) and read it back.

    Returns a one-line summary. IDM stores secrets encrypted, so its read-back
    compares the non-secret fields.
    """
    from promoter.project.types import FileTarget

    target, text, config = compiled.env.target, compiled.text, compiled.output
    if text is None or config is None:
        raise TargetError(f"{compiled.env.name}: nothing to deliver")
    if isinstance(target, FileTarget):
        write_atomic(target.path, text, secret=compiled.holds_secrets, display=target.display)
        if target.path.read_text(encoding="utf-8") != text:
            raise TargetError(
                "read-back differs from what was written", location=Location(target.display)
            )
        return f"wrote {target.display}"
    from promoter.project.types import AicTarget

    if isinstance(target, AicTarget):
        from promoter.targets import esv as aic_values
        from promoter.targets.aic import CONFIG_PATH, AicClient

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
    from promoter.targets.idm import IdmClient

    client = IdmClient(target)
    client.put_config(config)
    mismatch = read_back_mismatch(config, client.get_config(), compiled.secret_pointers)
    if mismatch:
        raise TargetError(f"read-back from {target.url} differs at {', '.join(mismatch)}")
    return f"delivered to {target.url}/config/external.email (read back: non-secret fields match)"


def read_back_mismatch(sent: object, held: object, secret_pointers: set[str]) -> list[str]:
    """Pointers whose non-secret values differ (IDM stores secrets encrypted)."""
    from promoter.compile.diff import diff

    changes = diff(held, sent, secret_pointers=secret_pointers, skip_secrets=True)
    return [c.pointer for c in changes]
