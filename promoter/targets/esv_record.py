"""Which ESV secret versions promoter pushed, from which store file: an unchanged secret
is not pushed again.

AIC never shows a secret's value, so whether the tenant holds the store's value cannot be
asked. ``build/.promoter/esv-pushes.json`` remembers, per tenant and secret, the version
promoter's last push left active (and the secret's ``lastChangeDate``), and the store file
the value came from: its name, device, inode, size, mtime and ctime, never the value nor
anything computed from it. When the tenant's active version is still that one and the file
is the same file, unchanged, the value is the same: no version is added.

As in git's racy-clean check, a file read within 2 s of its last change is not trusted
(a timestamp's tick, up to 2 s on some filesystems, can hide a same-size rewrite): that
push is recorded as unproven and the next run pushes again (the tenant keeps the latest
version when the value is unchanged) and records it proven. Without a record (a fresh
clone, a CI runner) every secret is pushed, as before.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promoter.files.atomic import write_atomic
from promoter.files.safeopen import read_local_text
from promoter.targets.aic_session import EsvState
from promoter.untrusted import json_text

RECORD = Path("build") / ".promoter" / "esv-pushes.json"
RACY_NS = 2_000_000_000


@dataclass(frozen=True, slots=True)
class Source:
    """Where an ESV secret's value was read: which file, unchanged since when."""

    stamp: str  # store, format, purpose, pointer and the file's identity and times
    changed_ns: int  # the file's last change (max of mtime and ctime)
    read_ns: int  # when it was read

    @property
    def racy(self) -> bool:
        return self.changed_ns > self.read_ns - RACY_NS


@dataclass
class PushRecord:
    path: Path
    url: str  # the tenant
    sources: Mapping[str, Source]  # ESV id -> where this run read its value
    entries: dict[str, Any] = field(default_factory=dict)  # the whole file: url -> id -> entry
    dirty: bool = False

    @classmethod
    def load(cls, root: Path, url: str, sources: Mapping[str, Source]) -> PushRecord:
        path = root / RECORD
        try:
            entries = json_text(read_local_text(path))
        except (OSError, ValueError):  # none yet, or unreadable: push all
            entries = {}
        return cls(path, url, sources, entries if isinstance(entries, dict) else {})

    def holds(self, state: EsvState) -> bool:
        """The tenant's active version of this secret is the store's value (see module doc)."""
        tenant = self.entries.get(self.url)
        entry = tenant.get(state.id) if isinstance(tenant, dict) else None
        source = self.sources.get(state.id)
        if not isinstance(entry, dict) or source is None or not state.changed:
            return False
        return (
            entry.get("proven") is True
            and entry.get("source") == source.stamp
            and entry.get("version") == state.active_version
            and entry.get("changed") == state.changed
        )

    def note(self, state: EsvState) -> None:
        """After a push: the tenant's state of the secret now holds this run's value."""
        source = self.sources.get(state.id)
        tenant = self.entries.setdefault(self.url, {})
        if not isinstance(tenant, dict):
            tenant = self.entries[self.url] = {}
        if source is None or not state.active_version or not state.changed:
            self.dirty |= tenant.pop(state.id, None) is not None
            return
        tenant[state.id] = {
            "version": state.active_version,
            "changed": state.changed,
            "source": source.stamp,
            "proven": not source.racy,
        }
        self.dirty = True

    def save(self) -> None:
        if self.dirty:
            text = json.dumps(self.entries, indent=1, sort_keys=True) + "\n"
            write_atomic(self.path, text, secret=False, backup=False)
            self.dirty = False
