"""A target as promoter.yaml writes it, checked and turned into the project's target values."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from promoter.errors import InputError, Location
from promoter.files.yamlfile import Doc
from promoter.hosts import is_loopback
from promoter.model.shapes import AicTargetKind, IdmTargetKind
from promoter.pointer import escape
from promoter.project.types import LEDGER_FILE, PROJECT_FILE, AicTarget, Environment, FileTarget
from promoter.untrusted import escape_control

if TYPE_CHECKING:
    from promoter.model.settings import (
        AicTargetSettings,
        EnvSettings,
        _AuthFields,
    )
    from promoter.project.auth import AuthSettings


def _target_urls(
    s: EnvSettings, doc: Doc, where: str
) -> tuple[tuple[str, str, Location | None], ...]:
    """Every URL the target sends a credential to, for EMAIL008: the IDM URL and any token
    endpoint named explicitly (an aic target's own URL must be https already, and its
    default token endpoint is under it)."""
    t = s.target
    urls: list[tuple[str, str, Location | None]] = []
    if isinstance(t, IdmTargetKind):
        urls.append(("idm", t.idm, doc.loc(f"{where}/idm")))
    elif not isinstance(t, AicTargetKind):
        return ()  # a file target sends nothing
    for key, auth in (("oauth2", t.oauth2), ("serviceAccount", t.serviceAccount)):
        endpoint = getattr(auth, "tokenEndpoint", None)
        if endpoint:
            urls.append((f"{key}.tokenEndpoint", endpoint, doc.loc(f"{where}/{key}/tokenEndpoint")))
    return tuple(urls)


def _aic_target(root: Path, t: AicTargetSettings, doc: Doc, where: str) -> AicTarget:

    url = t.aic.rstrip("/")
    parts = urlsplit(url)
    local = is_loopback(parts.hostname)
    if (parts.scheme != "https" and not (parts.scheme == "http" and local)) or parts.path:
        raise InputError(
            f"'{t.aic}' is not a tenant environment URL",
            location=doc.loc(f"{where}/aic"),
            hint="write https://<tenant-fqdn>, without /openidm or /am (http only for loopback)",
        )
    if t.usernameEnv or t.passwordEnv:
        raise InputError(
            "an aic target takes a token, not IDM's username and password headers",
            location=doc.loc(f"{where}/usernameEnv" if t.usernameEnv else f"{where}/passwordEnv"),
            hint="use serviceAccount: {idEnv: ..., keyEnv: ...}",
        )
    auth = _auth(root, t, doc, where, aic_url=url)
    assert auth is not None
    return AicTarget(
        url=url,
        auth=auth,
        ca_file=root / t.caFile if t.caFile else None,
        timeout=t.timeout,
        retries=t.retries,
        poll_interval=t.pollInterval,
        wait_timeout=t.waitTimeout,
        direct_configuration=t.directConfiguration,
        esv_versions=t.esvVersions,
    )


def _auth(
    root: Path, t: _AuthFields, doc: Doc, where: str, *, aic_url: str | None
) -> AuthSettings | None:
    """The one auth method a target names (none on an idm target: a later error says so)."""
    from promoter.project.auth import (
        AIC_SCOPES,
        BearerAuth,
        HeadersAuth,
        OAuth2Auth,
        ServiceAccountAuth,
    )  # lazy: off check's path

    chosen = [
        key
        for key, present in (
            ("bearerEnv", t.bearerEnv),
            ("usernameEnv", t.usernameEnv or t.passwordEnv),
            ("oauth2", t.oauth2),
            ("serviceAccount", t.serviceAccount),
        )
        if present
    ]
    if len(chosen) > 1:
        raise InputError(
            f"the target names more than one way to authenticate ({', '.join(chosen)})",
            location=doc.loc(f"{where}/{chosen[1]}"),
            hint="keep one of bearerEnv, usernameEnv/passwordEnv, oauth2, serviceAccount",
        )
    if not chosen:
        if aic_url is not None:
            raise InputError(
                "an aic target needs credentials",
                location=doc.loc(where),
                hint="add serviceAccount: {idEnv: AIC_SA_ID, keyEnv: AIC_SA_KEY}",
            )
        return None
    if t.bearerEnv:
        return BearerAuth(t.bearerEnv)
    if t.usernameEnv or t.passwordEnv:
        if not (t.usernameEnv and t.passwordEnv):
            return None  # the IDM client names what is missing
        return HeadersAuth(t.usernameEnv, t.passwordEnv)
    if t.oauth2:
        o = t.oauth2
        return OAuth2Auth(o.tokenEndpoint, o.clientIdEnv, o.clientSecretEnv, tuple(o.scope))
    sa = t.serviceAccount
    assert sa is not None
    if bool(sa.keyEnv) == bool(sa.keyFile):
        raise InputError(
            "serviceAccount needs exactly one of keyEnv and keyFile",
            location=doc.loc(f"{where}/serviceAccount"),
            hint="keyEnv: AIC_SA_KEY (the key.jwk's text) or keyFile: path/to/key.jwk",
        )
    endpoint = sa.tokenEndpoint or (f"{aic_url}/am/oauth2/access_token" if aic_url else None)
    if endpoint is None:
        raise InputError(
            "serviceAccount on an idm target needs tokenEndpoint",
            location=doc.loc(f"{where}/serviceAccount"),
            hint="tokenEndpoint: https://<am>/am/oauth2/access_token",
        )
    default_scope = AIC_SCOPES if aic_url else ("fr:idm:*",)
    return ServiceAccountAuth(
        token_endpoint=endpoint,
        id_env=sa.idEnv,
        key_env=sa.keyEnv,
        key_file=root / sa.keyFile if sa.keyFile else None,
        key_display=sa.keyFile,
        scope=tuple(sa.scope) if sa.scope else default_scope,
    )


def refuse_targets_on_inputs(
    root: Path, base: Path, environments: dict[str, Environment], doc: Doc
) -> None:
    """A file target may not be a file the project reads: deliver would overwrite it with
    JSON (and a second deliver its .bak too). Compared after resolving symlinks and '..'."""
    real = _RealPaths()
    files = {
        real(root / PROJECT_FILE): "the project file promoter.yaml",
        real(base): "the base",
        real(root / LEDGER_FILE): "the ledger",
    }
    directories = {
        real(root / "environments"): "under environments/, which holds the overlays and pins",
        real(root / "ledger"): "under ledger/, which holds the ledger and archived pins",
        real(root / "build" / ".promoter"): "under build/.promoter/, which holds promoter's "
        "own state (journal, lock, secret-pointer records)",
    }
    for env in environments.values():
        files[real(env.overlay)] = f"{env.name}'s overlay"
        directories[real(env.store.directory)] = f"in {env.name}'s secret store"
    for env in environments.values():
        if not isinstance(env.target, FileTarget):
            continue
        path = env.target.path
        # the .bak is renamed into the target's directory: its name there, not a link's target
        backup = os.path.join(real(path.parent), path.name + ".bak")
        which, what = "is", _input_at(real(path), files, directories)
        if what is None:
            which, what = "would keep its .bak as", _input_at(backup, files, directories)
        if what is not None:
            where = f"/environments/{escape(env.name)}/target/file"
            raise InputError(
                f"target file '{escape_control(env.target.display)}' {which} {what}: deliver "
                "would overwrite the project's own input",
                location=doc.loc(where) or doc.loc(f"/environments/{escape(env.name)}"),
                hint="write the output elsewhere, e.g. build/<env>/conf/external.email.json "
                "or IDM's conf/ directory",
            )


class _RealPaths:
    """``os.path.realpath`` with each directory resolved once: the overlays, stores and
    targets of a thousand environments share most of their parents. A directory looked
    into more than once is listed once (``scandir`` says which entries are links, with no
    call per entry), so a thousand overlays in environments/ cost one listing, not a
    thousand ``lstat`` calls."""

    def __init__(self) -> None:
        self._known: dict[str, str] = {}
        self._seen: set[str] = set()  # directories looked into once
        self._links: dict[str, frozenset[str]] = {}  # listed directory -> its link names

    def __call__(self, path: str | os.PathLike[str]) -> str:
        text = os.fspath(path)
        if ".." in text.split(os.sep):  # a link before ".." changes what ".." means
            return os.path.realpath(text)
        return self._resolve(os.path.abspath(text))

    def _resolve(self, path: str) -> str:
        known = self._known.get(path)
        if known is not None:
            return known
        parent, name = os.path.split(path)
        if not name:
            return path  # the filesystem's root
        real_parent = self._resolve(parent)
        joined = os.path.join(real_parent, name)
        found = os.path.realpath(joined) if self._is_link(real_parent, joined) else joined
        self._known[path] = found
        return found

    def _is_link(self, directory: str, path: str) -> bool:
        links = self._links.get(directory)
        if links is None and directory in self._seen:
            try:
                with os.scandir(directory) as entries:
                    links = frozenset(e.name for e in entries if e.is_symlink())
            except OSError:
                links = frozenset()
            self._links[directory] = links
        if links is not None:
            return os.path.basename(path) in links
        self._seen.add(directory)
        return os.path.islink(path)


def _input_at(path: str, files: dict[str, str], directories: dict[str, str]) -> str | None:
    """What ``path`` is to the project: one of its ``files``, or inside one of its
    ``directories`` (looked up by each ancestor: linear in the path's depth, not in the
    number of environments)."""
    if path in files:
        return files[path]
    end = len(path)
    while (end := path.rfind(os.sep, 0, end)) > 0:
        found = directories.get(path[:end])
        if found is not None:
            return found
    return None
