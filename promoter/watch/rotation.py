"""``promoter watch ENV`` on an AIC target: a rotated store value becomes a new ESV secret version.

AIC's config holds no ``$purpose``: the env's ``esvs:`` map ESV names to literals (variables)
or ``{$purpose: ...}`` references into the env's store (secrets). On each re-check:

1. read the ESV values (the store's for secrets, promoter.yaml's for variables); skip when
   they are what was last proven (a keyed digest in memory, never the values themselves);
2. push what differs: a changed variable is put, a changed secret gets a new version (the
   tenant deduplicates an unchanged one); the previous version stays ENABLED;
3. restart the tenant when an ESV the config uses is not loaded, and wait until ready;
4. send a test email through the tenant (``--verify-to``): it proves the loaded values;
5. only then disable the versions the rotation superseded.

A test email that fails undoes the rotation: the previous versions were never disabled, the
last proven value of each changed secret comes back as a newer version (AIC only ever runs
its newest version; the latest one cannot be disabled), the refused version is disabled,
a changed variable gets its last proven value back, the tenant restarts, and a second test
email checks the restored state. The refused values are not tried again until the store (or
promoter.yaml, after SIGHUP) holds other values. Values live in memory only; output names
ESV ids and version numbers, never a value or a token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from promoter.errors import PromoterError, TargetError
from promoter.project.types import AicTarget, Environment
from promoter.targets import esv as aic_values
from promoter.targets.aic import AicClient
from promoter.watch.options import check_recipient
from promoter.watch.outcome import ReloadOutcome
from promoter.watch.prune import prune
from promoter.watch.values import Values, read_values

if TYPE_CHECKING:
    from promoter.check.compiler import Compiled
    from promoter.targets.aic_session import EsvState

Log = Callable[..., None]


@dataclass
class Rotation:
    """What one watcher remembers of its tenant between re-checks (memory only)."""

    env: str
    verify_to: str
    log: Log
    proven: str | None = None  # digest of the values last proven (or found loaded)
    refused: str | None = None  # digest of values a test email refused, undone
    unsettled: bool = False  # an undo whose restart or check has not finished
    good: Values | None = None  # the values last proven: what an undo restores
    # secret id -> versions superseded since the last proof, still ENABLED
    superseded: dict[str, list[str]] = field(default_factory=dict)
    # secret id -> its active version at the last proof (esvVersions never deletes it)
    proven_versions: dict[str, str] = field(default_factory=dict)

    def reload(self, compiled: Compiled) -> ReloadOutcome:

        env = compiled.env
        assert isinstance(env.target, AicTarget)
        try:
            check_recipient(env.target, self.verify_to, env.name)  # a SIGHUP made it AIC
            values = read_values(env)
        except PromoterError as exc:
            return ReloadOutcome("refused", f"kept last known good: {exc}", exc.exit_code)
        digest = values.digest()
        if digest == self.proven:
            return ReloadOutcome("unchanged", "no change")
        if digest == self.refused and not self.unsettled:
            return ReloadOutcome(
                "unchanged",
                "no change since the refused rotation (the tenant keeps the last known good "
                "values)",
            )

        label = f"{env.name}'s tenant"
        with AicClient(env.target, label=label, secrets=values.all()) as client:
            if self.good is not None:
                client.remember(*self.good.all())
            try:
                if digest == self.refused:
                    return self._settle(client, compiled)
                return self._rotate(client, compiled, values, digest)
            except TargetError as exc:
                return ReloadOutcome("delivery-failed", f"kept last known good: {exc}", 3)
            except PromoterError as exc:  # e.g. the service-account key variable is unset
                return ReloadOutcome("refused", f"kept last known good: {exc}", exc.exit_code)

    def _rotate(
        self, client: AicClient, compiled: Compiled, values: Values, digest: str
    ) -> ReloadOutcome:

        env, config = compiled.env, compiled.output
        pushed = aic_values.push(client, env, config, values.secrets)
        for esv, before in pushed.versions.items():
            if before:
                self.superseded.setdefault(esv, [])
                if before not in self.superseded[esv]:
                    self.superseded[esv].append(before)
        for change in pushed.changed:
            self.log("info", "rotation", f"pushed {change}", step="push")
        in_use = aic_values.in_use(pushed, config)
        if not pushed.changed and all(s.loaded or not s.exists for s in in_use):
            if not self.superseded:
                self._proven(values, digest)
                return ReloadOutcome(
                    "success", f"the tenant holds {_held(pushed.states)}: no change"
                )
        restarted = self._restart(client, in_use)
        try:
            self._test_email(client, env.name, "rotation")
        except TargetError as exc:
            return self._undo(client, compiled, values, digest, pushed.states, exc)
        disabled = self._disable_superseded(client)
        deleted = self._prune(client, env, values, pushed)
        self._proven(values, digest)
        parts = [
            f"rotated {', '.join(pushed.changed)}" if pushed.changed else "loaded pending ESVs",
            "restarted the tenant" if restarted else "no restart needed",
            f"test email through the tenant accepted ({_domain(self.verify_to)})",
            f"disabled {', '.join(disabled)}" if disabled else "no previous version to disable",
            *([f"deleted {', '.join(deleted)} (esvVersions)"] if deleted else []),
        ]
        return ReloadOutcome("success", "; ".join(parts))

    def _restart(self, client: AicClient, states: Iterable[EsvState]) -> bool:
        pending = [s.id for s in states if s.exists and not s.loaded]
        if not pending:
            return False
        self.log("info", "rotation", f"restarting to load {', '.join(pending)}", step="restart")
        client.restart_if_needed(states)
        self.log("info", "rotation", "the tenant is ready", step="ready")
        return True

    def _test_email(self, client: AicClient, env: str, why: str) -> None:
        client.send(
            {
                "to": self.verify_to,
                "subject": f"promoter {why} test ({env})",
                "type": "text/plain",
                "body": f"Test email from `promoter watch {env}`: the tenant sends with the "
                f"ESV values it loaded ({why}).\n",
            }
        )
        self.log(
            "info", "rotation", f"test email accepted ({_domain(self.verify_to)})", step="verify"
        )

    def _disable_superseded(self, client: AicClient) -> list[str]:
        """Disable what the proven rotation superseded; a version that refuses stays enabled."""
        disabled: list[str] = []
        for esv, versions in sorted(self.superseded.items()):
            for version in versions:
                try:
                    client.set_version_status(esv, version, "DISABLED")
                except TargetError as exc:  # destroyed or disabled by hand: nothing to undo
                    self.log("error", "rotation", f"left {esv} v{version}: {exc}", step="disable")
                    continue
                disabled.append(f"{esv} v{version}")
                self.log("info", "rotation", f"disabled {esv} v{version}", step="disable")
        self.superseded = {}
        return disabled

    def _prune(
        self, client: AicClient, env: Environment, values: Values, pushed: aic_values.Pushed
    ) -> list[str]:
        """``esvVersions: N``: versions beyond the newest N go, once the rotation is proven."""
        assert isinstance(env.target, AicTarget)
        keep = env.target.esv_versions
        before = dict(self.proven_versions)
        for esv, state in pushed.states.items():
            if state.kind == "secret" and state.active_version:
                self.proven_versions[esv] = state.active_version
        if keep is None:
            return []
        protected = {
            esv: [v for v in (before.get(esv), pushed.versions.get(esv)) if v]
            for esv in values.secrets
        }
        deleted, failed = prune(client, values.secrets, keep, protected)
        for item in deleted:
            self.log("info", "rotation", f"deleted {item} (esvVersions: {keep})", step="prune")
        for item in failed:
            self.log("error", "rotation", f"could not delete {item}; left", step="prune")
        return deleted

    def _settle(self, client: AicClient, compiled: Compiled) -> ReloadOutcome:
        """Finish an undo that stopped before the restart or its test email."""

        assert self.good is not None
        self._restart(client, self._states(client, compiled, self.good))
        self._test_email(client, compiled.env.name, "undo")
        self.unsettled = False
        return ReloadOutcome(
            "probe-failed",
            "kept last known good: the tenant runs the restored values (a test email with "
            "them was accepted); the refused values stay refused",
            1,
        )

    def _states(self, client: AicClient, compiled: Compiled, known: Values) -> list[EsvState]:

        used = sorted(aic_values.used_esvs(compiled.output))
        return [client.variable(e) if e in known.variables else client.secret(e) for e in used]

    def _proven(self, values: Values, digest: str) -> None:
        self.proven, self.refused, self.good = digest, None, values

    def _undo(
        self,
        client: AicClient,
        compiled: Compiled,
        values: Values,
        digest: str,
        states: Mapping[str, EsvState],
        failure: TargetError,
    ) -> ReloadOutcome:
        """The test email failed: bring back the last proven values; keep old versions enabled."""

        reason = f"the test email through the tenant failed ({failure})"
        self.log("error", "rotation", reason, step="verify")
        good = self.good
        if good is None:
            kept = _kept(self.superseded)
            return ReloadOutcome(
                "probe-failed",
                f"{reason}; no proven value to restore since the watcher started: the tenant "
                f"runs the new values{kept}; write working values to the store",
                1,
            )
        restored: list[str] = []
        for esv, value in sorted(good.secrets.items()):
            if values.secrets.get(esv) == value:
                continue
            failed = states[esv].active_version if esv in states else None
            version = client.new_secret_version(esv, value)
            restored.append(f"secret {esv} v{version} (the last proven value)")
            if failed and failed != version:
                client.set_version_status(esv, failed, "DISABLED")
                restored.append(f"disabled the refused {esv} v{failed}")
        for esv, text in sorted(good.variables.items()):
            if values.variables.get(esv) != text:
                client.put_variable(esv, text, create=False)
                restored.append(f"variable {esv} (the last proven value)")
        for item in restored:
            self.log("info", "rotation", f"undo: {item}", step="undo")
        self.refused, self.unsettled = digest, True
        self._restart(client, self._states(client, compiled, good))
        try:
            self._test_email(client, compiled.env.name, "undo")
            check = "a test email with the restored values was accepted"
        except TargetError as exc:
            check = f"a test email with the restored values failed too ({exc})"
        self.unsettled = False
        kept = _kept(self.superseded)
        return ReloadOutcome(
            "probe-failed",
            f"kept last known good: {reason}; restored {', '.join(restored) or 'nothing'}"
            f"{kept}; {check}",
            1,
        )


def _kept(superseded: Mapping[str, list[str]]) -> str:
    versions = [f"{esv} v{v}" for esv, vs in sorted(superseded.items()) for v in vs]
    return f"; still enabled: {', '.join(versions)}" if versions else ""


def _held(states: Mapping[str, Any]) -> str:
    parts = []
    for esv, state in sorted(states.items()):
        version = getattr(state, "active_version", None)
        parts.append(f"{esv} v{version}" if version else esv)
    return ", ".join(parts) or "no ESVs"


def _domain(address: str) -> str:
    return "to a mailbox at " + address.rsplit("@", 1)[-1]
