"""``promote dev staging`` between AIC tenants: AIC's own promotion, gated and recorded.

AIC's staging and production tenants are immutable: their static config changes only by
AIC's promotion, which the upper tenant pulls from the lower one; what differs per tenant
lives in ESVs. The flow, for ``promote SRC DST --apply`` (both gated by the caller):

1. EMAIL016: DST's compiled config (placeholders unresolved) must equal SRC's.
2. SRC's tenant must hold what SRC compiles to (else AIC would promote something else).
3. DST's ESV values that changed are pushed (variables; secrets as new versions).
4. SRC's provisional report lists no change: no promotion (no lock); ESVs may still
   have changed, which step 6 loads.
5. On DST's tenant: check the lock state, lock, dry run, read its report (missing ESVs and
   encrypted secrets refuse; changes outside the email provider refuse unless
   ``--allow-other-changes``), promote, poll to the end, read the report; unlock, also
   after a failure.
6. Restart DST's tenant only when an ESV its config uses is not loaded; wait until ready.
7. Read DST's config back.

``--dry-run`` stops after AIC's dry run (ESVs are not pushed) and prints its report,
redacted. ``rollback DST --apply`` is AIC's rollback after its provisional-rollback report.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from promoter.check.compiler import Compiled
from promoter.check.report import print_findings
from promoter.errors import RefusedError, TargetError
from promoter.findings import Finding
from promoter.project.types import AicTarget, Environment, Project, esv_id
from promoter.promotion.aic_lock import Out, locked
from promoter.promotion.aic_report import changes, is_email_line, report_strings, report_text
from promoter.targets import esv as aic_values
from promoter.targets.aic import AicClient
from promoter.targets.deliver import read_back_mismatch
from promoter.targets.esv_record import PushRecord
from promoter.untrusted import scrub


@dataclass(slots=True)
class PromotionOutcome:
    """What the flow did: for the ledger (ids) and the summary line."""

    result: str = "applied"  # applied | unchanged | dry-run
    promotion_id: str | None = None
    report_id: str | None = None
    dry_run_report_id: str | None = None
    esvs_changed: list[str] = field(default_factory=list)
    restarted: bool = False
    requests: int = 0
    seconds: float = 0.0
    metadata: dict[str, str] = field(default_factory=dict)  # what AIC's promotion was told

    def detail(self) -> dict[str, Any]:
        aic: dict[str, Any] = {
            "promotionId": self.promotion_id,
            "reportId": self.report_id,
            "dryRunReportId": self.dry_run_report_id,
            "esvsChanged": self.esvs_changed,
            "restarted": self.restarted,
            "metadata": self.metadata or None,
        }
        return {"aic": {k: v for k, v in aic.items() if v not in (None, [])}}


@dataclass(slots=True)
class Flow:
    project: Project
    source: Compiled
    dest: Compiled
    allow_other_changes: bool = False
    out: Out = print
    secrets: list[str] = field(default_factory=list)
    description: str | None = None  # --description
    ticket: str | None = None  # --ticket
    promoter: str = ""  # the git user or $USER

    def client(self, env: Environment) -> AicClient:
        assert isinstance(env.target, AicTarget)
        return AicClient(env.target, label=f"{env.name}'s tenant", secrets=self.secrets)

    def run(self, *, dry_run: bool) -> PromotionOutcome:
        started = time.monotonic()
        src, dst = self.source.env, self.dest.env
        self.secrets += self.source.secret_values() + self.dest.secret_values()
        dst_secrets, sources = aic_values.read_secrets(dst)
        self.secrets += list(dst_secrets.values())
        assert isinstance(dst.target, AicTarget)
        record = PushRecord.load(self.project.root, dst.target.url, sources)
        outcome = PromotionOutcome(result="dry-run" if dry_run else "applied")
        outcome.metadata = self._metadata()
        with self.client(src) as lower, self.client(dst) as upper:
            try:
                self._check_lower(lower)
                pushed = aic_values.Pushed()
                if not dry_run:
                    try:
                        pushed = aic_values.push(upper, dst, self.dest.output, dst_secrets, record)
                    finally:
                        record.save()
                    outcome.esvs_changed = pushed.changed
                    for item in pushed.changed:
                        self.out(f"{dst.name}'s tenant: ESV {item}")
                promoting = dry_run or not self._nothing_to_promote(lower)
                if promoting:
                    self._promote(upper, outcome, dry_run=dry_run)
                else:
                    outcome.result = "applied" if pushed.changed else "unchanged"
                    self.out(f"{dst.name}'s tenant: nothing to promote from {src.name}")
                if not dry_run:
                    states = aic_values.in_use(pushed, self.dest.output)
                    outcome.restarted = upper.restart_if_needed(states)
                    if outcome.restarted:
                        self.out(f"{dst.name}'s tenant: restarted to load its ESVs; ready")
                    if promoting:  # else the provisional report said it holds dev's config
                        self._read_back(upper)
            finally:
                outcome.requests = lower.session.requests + upper.session.requests
        outcome.seconds = time.monotonic() - started
        return outcome

    def _check_lower(self, lower: AicClient) -> None:
        src = self.source.env
        assert self.source.output is not None
        held = lower.get_config()
        drift = read_back_mismatch(self.source.output, held, self.source.secret_pointers)
        if drift:
            raise RefusedError(
                f"{src.name}'s tenant does not hold what {src.name} compiles to (differs at "
                f"{', '.join(drift)}): AIC would promote something else",
                hint=f"promoter deliver {src.name}",
            )

    def _nothing_to_promote(self, lower: AicClient) -> bool:
        """The lower tenant's provisional report lists no change (no lock needed to ask)."""
        report = lower.provisional_report()
        return report is not None and not changes(report)  # none: let the dry run decide

    def _promote(self, upper: AicClient, outcome: PromotionOutcome, *, dry_run: bool) -> None:
        dst = self.dest.env.name
        with locked(upper, self.secrets, self.out, say=f"{dst}'s tenant: unlocked") as promotion:
            outcome.promotion_id = promotion
            self.out(f"{dst}'s tenant: locked for promotion {promotion}")
            status = upper.promote(dry_run=True, **self._metadata())
            report = upper.report()
            for key in ("missingESVs", "encryptedSecrets"):  # the status may hold them too
                extra = [
                    v
                    for v in report_strings(status.get(key))
                    if v not in report_strings(report.get(key))
                ]
                if extra:
                    report = {**report, key: report_strings(report.get(key)) + extra}
            outcome.dry_run_report_id = report_text(report.get("reportId"))
            self._print_report(report, "dry run")
            self._judge(report, dry_run=dry_run)
            if not dry_run:
                upper.promote(dry_run=False, **self._metadata())
                final = upper.report()
                outcome.report_id = report_text(final.get("reportId"))
                self.out(f"{dst}'s tenant: promotion {promotion} done, report {outcome.report_id}")

    def _metadata(self) -> dict[str, str]:
        """What AIC's promotion is told: why, by whom, the ticket (only when given)."""
        src, dst = self.source.env.name, self.dest.env.name
        meta = {
            "description": self.description or f"promoter: {src} -> {dst}",
            "promoter": self.promoter or "promoter",
        }
        return {**meta, "ticket": self.ticket} if self.ticket else meta

    def _judge(self, report: dict[str, Any], *, dry_run: bool) -> None:
        dst = self.dest.env
        ours = {esv_id(n) for n, v in dst.esvs.items() if v is not None}
        findings: list[Finding] = []
        for esv in report_strings(report.get("missingESVs")):
            if dry_run and esv in ours:
                continue  # --apply creates it before the dry run
            findings.append(
                Finding(
                    "EMAIL009",
                    "deny",
                    dst.name,
                    "",
                    None,
                    f"AIC's dry run: ESV {scrub(esv, self.secrets, limit=130)} is missing "
                    f"in {dst.name}'s tenant",
                    f"give it a value under esvs: in promoter.yaml for {dst.name}",
                )
            )
        encrypted = report_strings(report.get("encryptedSecrets")) + report_strings(
            report.get("previouslyIgnoredEncryptedSecrets")
        )
        for item in encrypted:
            findings.append(
                Finding(
                    "EMAIL017",
                    "deny",
                    dst.name,
                    "",
                    None,
                    f"AIC's dry run: {scrub(item, self.secrets, limit=130)} is encrypted with "
                    f"{self.source.env.name}'s keys, which {dst.name}'s tenant lacks",
                    "use an ESV secret (&{esv.email.password}) instead of a literal secret",
                )
            )
        others = [c for c in changes(report) if not is_email_line(c)]
        if findings:
            raise DryRunRefused(findings, "AIC's dry run found problems")
        if others and not self.allow_other_changes:
            listed = "; ".join(scrub(c, self.secrets, limit=80) for c in others[:5])
            more = f" and {len(others) - 5} more" if len(others) > 5 else ""
            raise RefusedError(
                f"{self.source.env.name}'s tenant holds changes outside the email provider, "
                f"which AIC would promote too: {listed}{more}",
                hint="promote them on purpose with --allow-other-changes",
            )

    def _print_report(self, report: dict[str, Any], what: str) -> None:
        listed = changes(report)
        name = self.dest.env.name
        self.out(
            f"{name}'s tenant: {what} report {report_text(report.get('reportId')) or '(no id)'}"
        )
        for line in listed or ["no configuration change"]:
            self.out(f"  {scrub(line, self.secrets, limit=160)}")

    def _read_back(self, upper: AicClient) -> None:
        assert self.dest.output is not None
        drift = read_back_mismatch(self.dest.output, upper.get_config(), self.dest.secret_pointers)
        if drift:
            raise TargetError(
                f"read back {upper.label}: after the promotion it differs at {', '.join(drift)}"
            )


class DryRunRefused(RefusedError):
    def __init__(self, findings: list[Finding], message: str) -> None:
        super().__init__(message)
        self.findings = findings


def rollback(
    project: Project, env: Environment, *, out: Out = print, dry_run: bool
) -> PromotionOutcome:
    """AIC's rollback of ``env``'s tenant: provisional report, lock, rollback, unlock."""
    assert isinstance(env.target, AicTarget)
    outcome = PromotionOutcome(result="dry-run" if dry_run else "applied")
    secrets = list(aic_values.secret_values(env).values())
    with AicClient(env.target, label=f"{env.name}'s tenant", secrets=secrets) as upper:
        report = upper.provisional_rollback()
        out(f"{env.name}'s tenant: provisional rollback report")
        for line in changes(report) or ["no configuration change"]:
            out(f"  {scrub(line, secrets, limit=160)}")
        if dry_run:
            return outcome
        with locked(upper, secrets, out) as promotion:
            outcome.promotion_id = promotion
            upper.rollback(description=f"promoter: rollback {env.name}")
            final = upper.report()
            outcome.report_id = report_text(final.get("reportId"))
            out(f"{env.name}'s tenant: rolled back, report {outcome.report_id}")
        outcome.requests = upper.session.requests
    return outcome


def print_refusal(findings: Iterable[Finding]) -> None:

    print_findings(list(findings))
