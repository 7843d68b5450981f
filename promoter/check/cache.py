"""A cache of ``promoter check`` results, so an unchanged repo checks in milliseconds.

A pre-commit hook runs ``check`` on every commit, and most commits do not touch
the email configuration. The cache stores one run's output and exit code with
a digest of everything that run read: promoter.yaml, base, pins and overlays
(their bytes), the names in environments/, and each secret store's files
(name, size, inode and times only, never their content or a hash of it), plus
the arguments, today's date (waivers expire) and promoter's own code. Any
change misses. Only the standard library is imported here.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from promoter.files.safeopen import read_file, read_local_text
from promoter.files.yamlfile import MAX_FILE_BYTES
from promoter.untrusted import json_text

CACHE_FILE = Path("build") / ".promoter" / "check-cache.json"
_VERSION = 1


@dataclass(frozen=True, slots=True)
class Replay:
    out: str
    err: str
    code: int


def lookup(root: Path, argv_key: Sequence[str]) -> Replay | None:
    if os.environ.get("PROMOTER_NO_CACHE"):
        return None
    try:
        entry = json_text(read_local_text(root / CACHE_FILE))
        if entry.get("version") != _VERSION or entry.get("argv") != list(argv_key):
            return None
        if entry["digest"] != digest(root, argv_key, entry["files"], entry["stores"]):
            return None
        return Replay(entry["out"], entry["err"], int(entry["code"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store(
    root: Path,
    argv_key: Sequence[str],
    files: Iterable[Path],
    stores: Iterable[Path],
    replay: Replay,
) -> None:
    if os.environ.get("PROMOTER_NO_CACHE"):
        return
    file_list = sorted({str(p) for p in files})
    store_list = sorted({str(p) for p in stores})
    entry = {
        "version": _VERSION,
        "argv": list(argv_key),
        "files": file_list,
        "stores": store_list,
        "digest": digest(root, argv_key, file_list, store_list),
        "out": replay.out,
        "err": replay.err,
        "code": replay.code,
    }
    path = root / CACHE_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(entry), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written is only slower


def digest(root: Path, argv_key: Sequence[str], files: Sequence[str], stores: Sequence[str]) -> str:

    h = hashlib.sha256()
    for part in (*argv_key, date.today().isoformat(), _code_stamp()):
        _feed(h, part)

    for name in ("promoter.yaml", *files):
        _feed(h, name)
        try:  # never wait on a FIFO or read a device: the run itself reports them
            h.update(read_file(root / name, MAX_FILE_BYTES))
        except OSError as exc:
            _feed(h, f"unreadable:{exc.errno}")
    _feed_listing(h, root / "environments")
    for directory in stores:
        _feed_listing(h, root / directory, deep=True)
    return h.hexdigest()


def _feed(h: hashlib._Hash, text: str) -> None:
    h.update(text.encode("utf-8", "surrogateescape") + b"\0")


def _feed_listing(h: hashlib._Hash, directory: Path, *, deep: bool = False) -> None:
    """Names in ``directory``; with ``deep``, each file's stat and link target too."""
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError as exc:
        _feed(h, f"{directory}:absent:{exc.errno}")
        return
    for entry in entries:
        _feed(h, entry.name)
        if not deep:
            continue
        try:
            st = entry.stat(follow_symlinks=True)
            _feed(h, f"{st.st_size}:{st.st_ino}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_mode}")
            if entry.is_symlink():
                _feed(h, os.readlink(entry.path))
            if entry.is_dir(follow_symlinks=False) and not entry.name.startswith(".."):
                _feed_listing(h, Path(entry.path), deep=True)
        except OSError as exc:
            _feed(h, f"stat-failed:{exc.errno}")


def _code_stamp() -> str:
    """Changes whenever promoter's own code does."""
    package = Path(__file__).resolve().parents[1]  # all of promoter/, not only check/
    parts = []
    for path in sorted(package.rglob("*.py")):
        st = path.stat()
        parts.append(f"{path.relative_to(package).as_posix()}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)
