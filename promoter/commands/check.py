"""``promoter check``: compile and gate environments, report every finding.

An unchanged repo replays the previous run's result from ``checkcache`` without
importing the compiler at all.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from promoter import checkcache


def run_check(
    root: Path, envs: Sequence[str], *, fmt: str, require_secrets: bool, use_cache: bool = True
) -> int:
    argv_key = ["check", fmt, str(require_secrets), *envs]
    replay = checkcache.lookup(root, argv_key) if use_cache else None
    if replay is None:
        from promoter.checker import check_envs

        replay, files, stores = check_envs(root, envs, fmt=fmt, require_secrets=require_secrets)
        if use_cache and replay.code != 2:
            checkcache.store(root, argv_key, files, stores, replay)
    sys.stdout.write(replay.out)
    sys.stderr.write(replay.err)
    return replay.code
