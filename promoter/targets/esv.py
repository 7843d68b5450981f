"""An environment's ESV values on its AIC tenant: which are used, push what changed.

``esvs:`` in promoter.yaml maps a placeholder name to ``None`` (declared: the tenant holds
it, promoter does not set it), a literal (an ESV variable) or ``{"$purpose": ...}`` (an ESV
secret whose value is read from the env's store). A variable is put when its value
differs; a secret is created, or given a new version (the tenant keeps the latest version
when the value is unchanged, so an unchanged secret adds nothing). Values are never shown:
output names the ESV id and "changed" or the new version number.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from promoter.compile.secretstore import SecretLookupError, SecretStore
from promoter.errors import RefusedError
from promoter.model.placeholders import kind, normalise_esv, placeholders
from promoter.project.types import Environment, esv_id
from promoter.targets.aic import AicClient
from promoter.targets.aic_session import EsvState
from promoter.targets.esv_record import PushRecord, Source
from promoter.untrusted import sent_strings


@dataclass(slots=True)
class Pushed:
    changed: list[str] = field(default_factory=list)  # "variable esv-x", "secret esv-y v3"
    states: dict[str, EsvState] = field(default_factory=dict)  # ESV id -> state after the push
    versions: dict[str, str] = field(default_factory=dict)  # secret id -> version before


def used_esvs(config: Any) -> set[str]:
    """ESV ids the configuration's placeholders name."""
    return {
        esv_id(name)
        for text in sent_strings(config)
        for name, _ in placeholders(text)
        if kind(normalise_esv(name)) == "esv"
    }


def secret_values(env: Environment) -> dict[str, str]:
    """ESV id -> the store's value for every ESV secret of ``env`` (for pushing and masking)."""
    return read_secrets(env)[0]


def read_secrets(env: Environment) -> tuple[dict[str, str], dict[str, Source]]:
    """``secret_values(env)``, and where each value was read (for the push record)."""
    store = SecretStore(env.store)
    values: dict[str, str] = {}
    sources: dict[str, Source] = {}
    for name, value in env.esvs.items():
        if not isinstance(value, dict):
            continue
        spec = value.get("$purpose") or {}
        purpose, pointer = str(spec.get("name")), spec.get("jsonPointer")
        try:
            found, secret = store.lookup(purpose, pointer)
        except SecretLookupError as exc:
            raise RefusedError(
                f"{env.name}: the value of ESV secret {name} cannot be read: {exc}",
                hint=exc.hint,
            ) from None
        esv = esv_id(name)
        values[esv] = found
        where = json.dumps([str(env.store.directory), env.store.format, purpose, pointer])
        sources[esv] = Source(f"{where} {secret.stamp}", secret.changed_ns, time.time_ns())
    return values, sources


def push(
    client: AicClient,
    env: Environment,
    config: Any,
    secrets: Mapping[str, str],
    record: PushRecord | None = None,
) -> Pushed:
    """Set ``env``'s ESV values that differ on its tenant; read the state of those in use.

    ``secrets`` is ``secret_values(env)`` as the caller read it (once: what it proves or
    masks is what is pushed, even if the store changes meanwhile). With a ``record``
    (``esv_record``), a secret whose active version holds the store's value is not given
    another, and each pushed one is recorded.
    """
    result = Pushed()
    client.remember(*secrets.values())
    for name, value in env.esvs.items():
        esv = esv_id(name)
        if isinstance(value, str):
            state = client.variable(esv)
            if state.exists and state.value == value:
                result.states[esv] = state
                continue
            client.put_variable(esv, value, create=not state.exists)
            result.changed.append(f"variable {esv}")
            result.states[esv] = EsvState(esv, "variable", True, False, value)
        elif isinstance(value, dict):
            state = client.secret(esv)
            if record is not None and record.holds(state):
                result.states[esv] = state
                continue
            before = state
            if not state.exists:
                client.create_secret(esv, secrets[esv])
                result.changed.append(f"secret {esv} (created)")
                state = EsvState(esv, "secret", True, False, active_version="1")
            else:
                version = client.new_secret_version(esv, secrets[esv])
                if version and version != state.active_version:
                    result.changed.append(f"secret {esv} v{version}")
                    result.versions[esv] = state.active_version or ""
                    state = EsvState(esv, "secret", True, False, active_version=version)
            if record is not None:  # a new version changed lastChangeDate: read it again
                record.note(before if state is before else client.secret(esv))
            result.states[esv] = state
    for esv in sorted(used_esvs(config) - set(result.states)):
        state = client.variable(esv)
        result.states[esv] = state if state.exists else client.secret(esv)
    return result


def in_use(pushed: Pushed, config: Any) -> list[EsvState]:
    used = used_esvs(config)
    return [s for esv, s in pushed.states.items() if esv in used]
