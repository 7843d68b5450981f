"""Which environments AIC promotes between, and EMAIL016: what a promotion cannot carry."""

from __future__ import annotations

from datetime import date

from promoter.check.compiler import Compiled
from promoter.compile.diff import diff
from promoter.errors import InputError
from promoter.findings import Finding, severity_of
from promoter.gates.waivers import apply_waivers
from promoter.project.types import AicTarget, Environment, Project


def lower_tenant(project: Project, env: Environment) -> Environment | None:
    """The env whose tenant AIC promotes into ``env``'s, when both are AIC targets."""
    if not isinstance(env.target, AicTarget) or env.name not in project.stages:
        return None
    at = project.stages[env.name]
    if at == 0:
        return None
    lower = project.env(project.order[at - 1])
    return lower if isinstance(lower.target, AicTarget) else None


def immutable_hint(project: Project, env: Environment) -> str:
    """What to do instead of a direct deliver to ``env``'s immutable tenant."""
    lower = lower_tenant(project, env)
    promote = f"promoter promote {lower.name} {env.name} --apply" if lower else "AIC promotion"
    return f"{promote}, or directConfiguration: true on {env.name}'s target"


def email016(
    source: Compiled, dest: Compiled, project: Project, today: date | None = None
) -> list[Finding]:
    """EMAIL016: AIC promotion copies the lower tenant's config; only ESVs differ per tenant."""

    severity = severity_of("EMAIL016", dest.env.tier)
    if severity is None or source.output is None or dest.output is None:
        return []
    changes = diff(source.output, dest.output, secret_pointers=set(), locate=dest.merged.loc)
    findings = [
        Finding(
            "EMAIL016",
            severity,
            dest.env.name,
            change.pointer,
            change.location,
            f"{change.pointer} differs from {source.env.name}'s: AIC promotion copies "
            f"{source.env.name}'s config to {dest.env.name} unchanged",
            f"make it an ESV: &{{esv.email.{_esv_suffix(change.pointer)}}} in the shared "
            f"config, with its value per environment under esvs: in promoter.yaml",
        )
        for change in changes
    ]
    return apply_waivers(findings, project.waivers, today or date.today())


def _esv_suffix(pointer: str) -> str:
    words = [p for p in pointer.strip("/").split("/") if p and p != "auth"] or ["value"]
    text = ".".join(words)
    return "".join(f".{c.lower()}" if c.isupper() else c for c in text).strip(".")


def check_pair(project: Project, src: str, dst: str) -> Environment | None:
    """The lower env when ``dst`` is promoted by AIC; refuse a chain AIC cannot promote."""
    env = project.env(dst)
    if not isinstance(env.target, AicTarget):
        return None
    lower = lower_tenant(project, env)
    if lower is None and project.stages.get(dst, 0) > 0:
        source = project.env(src)
        if not isinstance(source.target, AicTarget):
            raise InputError(
                f"{dst}'s AIC tenant is promoted by AIC from {src}'s tenant, "
                f"but {src} has no aic target",
                hint=f"give {src} target: {{aic: https://<its tenant>, serviceAccount: ...}}",
            )
    return lower
