"""Promotion gates: rules that turn a validated configuration into findings.

Each rule is a function whose docstring gives its id and reason; ``SEVERITY``
says how severe it is at each tier (None: not reported). Waivers from
promoter.yaml mark a finding waived until they expire.
"""

from __future__ import annotations

from datetime import date

from promoter.findings import Finding, severity_of
from promoter.gates.aic import email001_built_in_smtp, email017_secret_in_aic_config
from promoter.gates.base import GateInput, Locate, Rule
from promoter.gates.secrets import (
    email002_plaintext_secret,
    email002_secret_property,
    email009_unresolved,
    email015_auth_without_credentials,
)
from promoter.gates.service import (
    email007_international,
    email008_https,
    email010_no_from,
    email018_graph_sender,
)
from promoter.gates.transport import (
    email003_no_tls,
    email004_weak_protocol,
    email005_debug,
    email006_port_25,
    email011_timeout_disabled,
    email012_tls_port_mismatch,
    email014_smtps_only,
)
from promoter.gates.waivers import apply_waivers
from promoter.project.types import Waiver


def run_gates(
    gate: GateInput, locate: Locate, waivers: tuple[Waiver, ...] = (), today: date | None = None
) -> list[Finding]:
    findings = []
    for rule in RULES:
        for hit in rule(gate):
            severity = severity_of(hit.check, gate.tier)
            if hit.store_missing and gate.store_optional:
                severity = "warn"
            if severity is None:
                continue
            pointer, location = locate(hit.pointer)
            rule_id = hit.check.split("/")[0]
            findings.append(
                Finding(rule_id, severity, gate.env, pointer, location, hit.message, hit.hint)
            )
    return apply_waivers(findings, waivers, today or date.today())


RULES: tuple[Rule, ...] = (
    email001_built_in_smtp,
    email002_plaintext_secret,
    email002_secret_property,
    email003_no_tls,
    email004_weak_protocol,
    email005_debug,
    email006_port_25,
    email007_international,
    email008_https,
    email009_unresolved,
    email010_no_from,
    email011_timeout_disabled,
    email012_tls_port_mismatch,
    email014_smtps_only,
    email015_auth_without_credentials,
    email017_secret_in_aic_config,
    email018_graph_sender,
)
