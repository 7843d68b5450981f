"""The AIC half of ``promote``: a pair of tenants promoted by AIC's own promotion."""

from __future__ import annotations

import sys

from promoter.check.compiler import Compiled
from promoter.check.report import plural, print_findings
from promoter.cli.commands.promote_io import WriteOptions, confirm, print_json, refused, to_stderr
from promoter.files import git
from promoter.project.types import AicTarget, Project
from promoter.promotion import aic as aic_promotion
from promoter.promotion.aic_stages import check_pair, email016, lower_tenant
from promoter.promotion.ledger import current_user
from promoter.promotion.prepare import PinChange, rendered_path
from promoter.promotion.write import write_change
from promoter.targets.aic import AicClient


def aic_promoted(project: Project, env: str) -> bool:

    return lower_tenant(project, project.env(env)) is not None


def aic_pair(project: Project, source: Compiled, change: PinChange) -> bool:
    """An AIC-to-AIC promotion: EMAIL016 joins DST's findings (the flow is promotion/aic.py's)."""
    if not isinstance(change.env.target, AicTarget):
        return False

    if check_pair(project, source.env.name, change.env.name) is None:
        return False
    change.compiled.findings += email016(source, change.compiled, project)
    return True


def finish_aic(
    project: Project, source: Compiled | None, change: PinChange, title: str, options: WriteOptions
) -> int | None:
    """Promotion or rollback of an immutable AIC tenant: AIC's own flow, then pin and ledger.

    None when the run touches no tenant (neither --apply nor --dry-run): the repo only.
    """

    compiled, env = change.compiled, change.env
    action = "promote" if source is not None else "rollback"
    if not (options.apply or options.dry_run):
        return None
    as_json = options.fmt == "json"
    # With --format json, stdout carries one JSON document; progress goes to stderr.
    say = to_stderr if as_json else print
    assert isinstance(env.target, AicTarget)
    with AicClient(env.target, label=f"{env.name}'s tenant") as tenant:
        immutable = tenant.immutable()
    if not immutable or env.target.direct_configuration:
        # the tenant, not its place in order, decides; its config is written directly (a
        # deliver, or a Direct Configuration session), so EMAIL016 does not apply
        if not immutable:
            say(f"{env.name}'s tenant says it is mutable: delivered directly, not by AIC promotion")
        else:
            dry = " (none opened by a dry run)" if options.dry_run else ""
            say(
                f"{env.name}'s tenant says it is immutable: written through a Direct "
                f"Configuration session{dry}"
            )
        compiled.findings = [f for f in compiled.findings if f.rule != "EMAIL016"]
        return None
    say(f"{env.name}'s tenant says it is immutable: AIC's promotion carries the change")
    print_findings(compiled.findings)
    if change.refused:
        return refused(change, action, as_json=as_json)
    if not as_json:
        print(f"{title}: {plural(len(change.changes), 'change')} to {env.name}'s output")
        sys.stdout.write(change.diff_text())
    if options.apply and not options.dry_run and not options.yes and not confirm(env.name):
        print("cancelled, nothing written", file=sys.stderr)
        return 1
    try:
        if source is None:
            outcome = aic_promotion.rollback(project, env, out=say, dry_run=options.dry_run)
        else:
            flow = aic_promotion.Flow(
                project,
                source,
                compiled,
                allow_other_changes=options.allow_other_changes,
                out=say,
                description=options.description,
                ticket=options.ticket,
                promoter=git.user_name(project.root) or current_user(),
            )
            outcome = flow.run(dry_run=options.dry_run)
    except aic_promotion.DryRunRefused as refusal:
        print_findings(refusal.findings)
        print(f"refused: {title}: {refusal.message}; unlocked, nothing promoted", file=sys.stderr)
        if as_json:
            print_json(change, action, "refused", extra_findings=refusal.findings)
        return 1
    if options.dry_run:
        if as_json:
            print_json(change, action, "dry-run", aic=outcome.detail()["aic"])
        else:
            print(f"dry run, nothing written (output sha256 {compiled.sha256})")
        return 0
    entry = write_change(
        project,
        change,
        action=action,
        apply=False,
        commit=options.commit,
        result=outcome.result,
        detail=outcome.detail(),
    )
    out = project.display(rendered_path(project, env))
    if as_json:
        print_json(change, action, entry.result, output=out, aic=outcome.detail()["aic"])
        return 0
    verb = "promoted" if action == "promote" else "rolled back"
    pin = (entry.pin_sha256 or "")[:12]
    print(f"{verb} {title} through AIC: sha256 {compiled.sha256}, pin {pin} ({entry.result})")
    return 0
