"""Which filesystem events concern the watched store, and which bring a complete file.

Plain functions of a watchdog event (duck-typed: ``event_type``, ``src_path``,
``dest_path``) and the store's path, so the daemon's loop stays about timing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def concerns_store(event: Any, store: Path) -> bool:
    """An event inside the store, or on the store directory itself (not on its siblings).

    The parent is watched only to see the store (or its ``..data`` link) swapped:
    a log file beside the store must not keep postponing a rotation. The kubelet's
    own entries (``..2026_11_23_10_00_00.1``, ``..data_tmp``) are not read through
    anything but ``..data``: making and removing them is no change. Nor is the
    "directory modified" event watchdog adds for the store itself beside each event
    inside it: that event is judged on its own.
    """
    if event.event_type == "modified" and Path(os.fsdecode(event.src_path)) == store:
        return False
    for raw in (event.src_path, getattr(event, "dest_path", "")):
        if not raw:
            continue
        path = Path(os.fsdecode(raw))
        if path == store or (path.parent == store and not _kubelet_internal(path.name)):
            return True
    return False


def _kubelet_internal(name: str) -> bool:
    return name.startswith("..") and name != "..data"


def renamed_into_place(event: Any, store: Path) -> bool:
    """A rename that puts a complete file (or directory, or link) where the store reads it.

    The destination is the store itself (a directory swapped by rename), its ``..data``
    link (the kubelet), or a file in it that is not an editor's backup or temp name
    (``name~``, ``.name.swp``): vim renames the old file to ``name~`` and then writes
    the new one in place, which must still wait for the debounce.
    """
    if event.event_type != "moved" or not event.dest_path:
        return False
    dest = Path(os.fsdecode(event.dest_path))
    if dest == store or dest == store / "..data":
        return True
    return dest.parent == store and not dest.name.startswith(".") and not dest.name.endswith("~")
