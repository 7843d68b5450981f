"""Compile one environment: load → merge → resolve → validate → gate → render."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from promoter.compile.overlay import SMTP_PROPERTIES, compose, read_back
from promoter.compile.references import Resolved, purposes, resolve
from promoter.compile.render import (
    canonical_json,
    defaulted_secrets,
    literal_secrets,
    output_pointer,
    replace_at,
    secret_properties,
    sha256_hex,
    to_idm,
)
from promoter.compile.secretstore import SecretStore
from promoter.errors import InputError, Location
from promoter.files.yamlfile import Doc, load_yaml
from promoter.findings import CONFIG_RULE, Finding
from promoter.gates.base import GateInput
from promoter.gates.run import run_gates
from promoter.gates.service import email008_target_http
from promoter.model.placeholders import concrete
from promoter.model.problem import Problem
from promoter.model.shapes import smtp_property_problems
from promoter.model.validate import email_adapter, validate_email
from promoter.pointer import escape
from promoter.project.pins import base_for
from promoter.project.types import PROJECT_FILE, AicTarget, Environment, Project


@dataclass(slots=True, repr=False)
class Compiled:
    env: Environment
    merged: Doc
    findings: list[Finding] = field(default_factory=list)
    text: str | None = None  # exactly what a target receives
    sha256: str | None = None  # of ``masked``, never of ``text``: safe to show and store
    secrets: tuple[Resolved, ...] = ()
    literals: dict[str, str] = field(default_factory=dict)  # plaintext secrets by pointer
    output: dict[str, Any] | None = None
    masks: dict[str, str] = field(default_factory=dict)  # pointer -> label, for display
    written: Any = None
    resolved: Any = None  # merged data with every reference resolved (for sending mail)

    def __repr__(self) -> str:  # the data holds secret values: never in a repr
        name, findings = self.env.name, self.findings
        return f"Compiled(env={name!r}, sha256={self.sha256!r}, findings={findings!r})"

    @property
    def holds_secrets(self) -> bool:
        """The output carries a secret value (a resolved reference or a literal)."""
        return bool(self.masks)

    @property
    def secret_pointers(self) -> set[str]:
        """Where secret values sit, whether the output resolves them or keeps references."""
        return {p for p, _ in purposes(self.merged.data)} | set(self.literals)

    def resolved_config(self) -> Any:
        """The model of the configuration with secret values in it (to send mail).

        Placeholders take the environment's declared values (or their defaults).
        """

        return email_adapter().validate_python(concrete(self.resolved, self.env.values))

    @property
    def masked(self) -> str | None:
        """The output with every secret value replaced by a label: safe to show."""
        if self.text is None:
            return None
        return canonical_json(to_idm(replace_at(self.written, self.masks)))

    @property
    def valid(self) -> bool:
        return self.text is not None

    @property
    def blocked(self) -> bool:
        return not self.valid or any(f.blocking for f in self.findings)

    def secret_values(self) -> list[str]:
        return [s.value for s in self.secrets] + list(self.literals.values())


class Compiler:
    """Compiles environments of one project; each file is read and parsed once."""

    def __init__(
        self, project: Project, *, store_optional: bool = False, today: date | None = None
    ) -> None:
        self.project = project
        self.store_optional = store_optional
        self.today = today or date.today()
        self._docs: dict[Path, Doc] = {}

    def load(self, path: Path) -> Doc:
        doc = self._docs.get(path)
        if doc is None:
            doc = self._docs[path] = load_yaml(path, self.project.display(path))
        return doc

    def loaded(self) -> list[Path]:
        """Every file parsed so far."""
        return list(self._docs)

    def base_path(self, env: Environment) -> Path | None:
        """The working base for the first stage, the pin for later ones."""

        return base_for(self.project, env)

    def compile(self, name: str, *, base: Path | Doc | None | bool = True) -> Compiled:
        """Compile ``name``; ``base`` overrides its base (a file, a parsed pin, or False: none)."""
        env = self.project.env(name)
        chosen = self.base_path(env) if base is True else base
        docs = []
        if isinstance(chosen, Doc):
            docs.append(chosen)
        elif isinstance(chosen, Path):
            docs.append(self.load(chosen))
        docs.append(self._overlay(env))
        return self.compile_doc(env, compose(docs))

    def _overlay(self, env: Environment) -> Doc:
        try:
            return self.load(env.overlay)
        except InputError as exc:
            named = (self.project.root / PROJECT_FILE).is_file()
            if not named or env.overlay.exists() or env.overlay.is_symlink():
                raise
            # e.g. a commit that deletes or renames the overlay: promoter.yaml decides
            # which environments exist, so this one has lost its settings, not ended
            raise InputError(
                exc.message,
                location=exc.location,
                hint=f"{PROJECT_FILE} names environment '{env.name}': restore its overlay, "
                f"or remove '{env.name}' from {PROJECT_FILE}",
            ) from None

    def compile_doc(self, env: Environment, merged: Doc) -> Compiled:

        result = Compiled(env=env, merged=merged)
        config, problems = validate_email(merged.data)
        if config is not None:
            problems = [
                Problem(f"/smtpProperties/{escape(key)}", message, hint)
                for key, message, hint in smtp_property_problems(config.smtpProperties)
            ]
        if problems:
            result.findings = [
                Finding(
                    CONFIG_RULE,
                    "deny",
                    env.name,
                    output_pointer(p.pointer, merged.data),
                    merged.loc(p.pointer),
                    p.message,
                    p.hint,
                )
                for p in problems
            ]
            return result
        store = SecretStore(env.store)
        resolution = resolve(
            merged.data, store, declared_esvs=env.esvs, declared_properties=env.properties
        )
        result.findings = self._gate(env, _as_idm_reads(config), merged, resolution.unresolved)
        if env.target_urls:
            result.findings += email008_target_http(
                env.name, env.tier, env.target_urls, self.project.waivers, self.today
            )
        result.secrets = tuple(resolution.resolved)
        written = resolution.data if env.render == "resolved" else merged.data
        result.output = to_idm(written)
        result.text = canonical_json(result.output)
        if env.render == "resolved":
            result.masks = {
                s.pointer: f"<secret {s.purpose}{_suffix(s)}>" for s in resolution.resolved
            }
        # A secret field's placeholder default is as plain as a literal: mask it the same way.
        result.literals = (
            defaulted_secrets(merged.data)
            | literal_secrets(merged.data)
            | secret_properties(merged.data)
        )
        result.masks.update({p: "<plaintext secret>" for p in result.literals})
        result.written = written
        result.resolved = resolution.data
        # The identity shown and stored (ledger, check, watcher log, test email) hashes the
        # masked output: a hash of the resolved one would let anyone with the repo test
        # password guesses offline. A rotated secret is noticed in memory (watch.py).
        result.sha256 = sha256_hex(result.masked or "")
        return result

    def _gate(self, env: Environment, config: Any, merged: Doc, unresolved: Any) -> list[Finding]:

        gate = GateInput(
            env=env.name,
            tier=env.tier,
            config=config,
            data=merged.data,
            unresolved=tuple(unresolved),
            store_optional=self.store_optional,
            values=env.values,
            aic=isinstance(env.target, AicTarget),
        )

        def locate(pointer: str) -> tuple[str, Location | None]:
            return output_pointer(pointer, merged.data), merged.loc(pointer)

        return run_gates(gate, locate, self.project.waivers, self.today)


def _as_idm_reads(config: Any) -> Any:
    """Gate smtpProperties as IDM reads the rendered ``key=value`` list, not as authored."""

    authored = config.smtpProperties
    rendered = read_back(to_idm({SMTP_PROPERTIES: authored})[SMTP_PROPERTIES])
    if rendered == authored:
        return config
    return config.model_copy(update={SMTP_PROPERTIES: rendered})


def _suffix(secret: Resolved) -> str:
    pointer = f"#{secret.json_pointer.lstrip('/')}" if secret.json_pointer else ""
    version = f" v{secret.version}" if secret.version is not None else ""
    return pointer + version
