"""Lay a pod's volumes the way the kubelet does, outside Kubernetes (tests of deploy/kubernetes/).

Secret and ConfigMap volumes follow ``pkg/volume/util/atomic_writer.go``: the payload is
written into a fresh ``..<timestamp>`` directory, a ``..data_tmp`` symlink to it is
renamed over ``..data``, each top-level name is a symlink into ``..data``, and the old
timestamped directory is removed. A container path is a path under ``root`` (its mount
namespace); a subPath mount is a copy of the file as it was at start (Kubernetes never
updates those).
"""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

DATA = "..data"


def atomic_write(volume: Path, payload: dict[str, str]) -> None:
    """One AtomicWriter.Write: ``payload`` maps a relative path to its content."""
    volume.mkdir(parents=True, exist_ok=True)
    old = os.readlink(volume / DATA) if (volume / DATA).is_symlink() else None
    stamp = time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime())
    fresh = Path(tempfile.mkdtemp(prefix=stamp, dir=volume))
    fresh.chmod(0o755)
    for rel, content in payload.items():
        path = fresh / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        path.chmod(0o644)
    tmp_link = volume / "..data_tmp"
    tmp_link.symlink_to(fresh.name)
    os.rename(tmp_link, volume / DATA)
    tops = {rel.split("/", 1)[0] for rel in payload}
    for top in tops:
        link = volume / top
        if not link.is_symlink():
            link.symlink_to(f"{DATA}/{top}")
    for entry in volume.iterdir():  # names no longer in the payload
        if entry.is_symlink() and not entry.name.startswith("..") and entry.name not in tops:
            entry.unlink()
    if old is not None:
        shutil.rmtree(volume / old)


def secret_payload(secret: dict[str, Any], items: list[dict[str, str]] | None) -> dict[str, str]:
    data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
    data.update(secret.get("stringData") or {})
    return _project(data, items)


def configmap_payload(
    configmap: dict[str, Any], items: list[dict[str, str]] | None
) -> dict[str, str]:
    return _project(dict(configmap.get("data") or {}), items)


def _project(data: dict[str, str], items: list[dict[str, str]] | None) -> dict[str, str]:
    if not items:
        return data
    return {item["path"]: data[item["key"]] for item in items}


def container_path(root: Path, path: str) -> Path:
    return root / path.lstrip("/")


def mount(root: Path, mount_path: str, volume: Path, sub_path: str | None) -> None:
    """Make ``mount_path`` (inside ``root``) show ``volume`` as the runtime would."""
    target = container_path(root, mount_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if sub_path is None:
        target.symlink_to(volume, target_is_directory=True)  # inotify will not follow it
        return
    source = (volume / sub_path).resolve()
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copy2(source, target)
