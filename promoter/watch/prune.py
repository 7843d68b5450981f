"""``esvVersions: N``: after a proven rotation, delete secret versions beyond the newest N.

Never the active version, the loaded one, or the one proven before this rotation (what
re-enabling would bring back); versions already DESTROYED are left as they are. Names
version numbers only, never a value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from promoter.errors import TargetError
from promoter.targets.aic import AicClient


def prune(
    client: AicClient,
    esvs: Iterable[str],
    keep: int,
    protected: Mapping[str, Iterable[str]],
) -> tuple[list[str], list[str]]:
    """(deleted, failed) as ``esv-x v3``; ``protected`` adds versions per secret to keep."""
    deleted: list[str] = []
    failed: list[str] = []
    for esv in sorted(esvs):
        state = client.secret(esv)
        if not state.exists:
            continue
        spared = {state.active_version, state.loaded_version, *protected.get(esv, ())}
        listed = [(v, s) for v, s in client.versions(esv) if s != "DESTROYED"]
        listed.sort(key=lambda item: _number(item[0]), reverse=True)
        for version, _ in reversed(listed[keep:]):  # oldest first
            if version in spared:
                continue
            try:
                client.delete_version(esv, version)
            except TargetError:
                failed.append(f"{esv} v{version}")
                continue
            deleted.append(f"{esv} v{version}")
    return deleted, failed


def _number(version: str) -> int:
    return int(version) if version.isdigit() else -1
