"""``promoter verify ENV --to ADDRESS --templates``: send ENV's email templates through its target.

The seed's setup ends with "verify that your email templates work with the external
provider": each enabled template (or each ``--template NAME``) goes through the target's
own ``sendTemplate`` action, so the provider, the From the template carries and its
rendering are all proven, not only the credentials.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from promoter.check.compiler import Compiled, Compiler
from promoter.check.report import print_findings
from promoter.cli.commands.verify import check_address, sendable
from promoter.errors import InputError, RefusedError
from promoter.model.shapes import address_of
from promoter.project.load import load_project
from promoter.project.types import AicTarget, IdmTarget
from promoter.promotion import ledger
from promoter.targets.aic import AicClient
from promoter.targets.idm import IdmClient
from promoter.targets.templates import EmailTemplate, SendAnswer, shown

VIA = "templates"  # the ledger's ``detail.via`` for a templates verification


def run_verify_templates(root: Path, env: str, *, to: str, names: Sequence[str]) -> int:
    check_address(to)
    compiled = Compiler(load_project(root)).compile(env)
    print_findings(compiled.findings)
    provider_from = sendable(compiled).from_ or ""
    target = compiled.env.target
    if isinstance(target, AicTarget):
        with AicClient(target, label=f"{env}'s tenant") as aic:
            answers = _send_all(aic, compiled, to, names, provider_from)
        where = f"{target.url}/openidm/external/email"
    elif isinstance(target, IdmTarget):
        with IdmClient(target) as idm:  # one connection for the listing and every send
            answers = _send_all(idm, compiled, to, names, provider_from)
        where = f"{target.url}/external/email"
    else:
        raise InputError(
            f"--templates needs an IDM or AIC target for {env}",
            hint="templates live on the target: add target: {idm: URL} or {aic: URL}",
        )
    refused = [name for name, answer in answers if answer is None or not answer.accepted]
    if refused:
        raise RefusedError(
            f"{env}: {len(refused)} of {len(answers)} email templates not accepted "
            f"through {where}: {', '.join(shown(n) for n in refused)}"
        )
    ledger.record(
        root,
        action="verify",
        env=env,
        result="verified",
        output_sha256=compiled.sha256,
        detail={
            "via": VIA,
            "templates": [shown(name) for name, _ in answers],
            "to_domain": to.rsplit("@", 1)[-1],
        },
    )
    print(
        f"verified {env}: {len(answers)} email templates accepted through {where} "
        f"(output sha256 {compiled.sha256})"
    )
    return 0


def _send_all(
    client: IdmClient | AicClient,
    compiled: Compiled,
    to: str,
    names: Sequence[str],
    provider_from: str,
) -> list[tuple[str, SendAnswer | None]]:
    """Send each chosen template, one line each; None for a named template that is missing."""
    held = {t.name: t for t in client.list_templates()}
    chosen: list[str] = list(dict.fromkeys(names)) or [t.name for t in held.values() if t.enabled]
    if not chosen:
        raise RefusedError(
            f"{compiled.env.name}'s target holds no enabled email template",
            hint="enable one, or name it with --template NAME",
        )
    answers: list[tuple[str, SendAnswer | None]] = []
    for name in chosen:
        template = held.get(name)
        if template is None:
            print(f"{shown(name)}: missing: the target holds no emailTemplate/{shown(name)}")
            answers.append((name, None))
            continue
        sender = template.sender or provider_from
        answer = client.send_template(name, to, secrets=compiled.secret_values())
        verdict = "accepted" if answer.accepted else f"refused ({answer.reason})"
        print(f"{shown(name)}: {verdict}, from {shown(sender) or '(none)'}")
        _warn_misaligned(template, sender, provider_from)
        answers.append((name, answer))
    return answers


def _warn_misaligned(template: EmailTemplate, sender: str, provider_from: str) -> None:
    """A From on another domain than the provider's fails SPF/DKIM/DMARC alignment."""
    own, provider = _domain(sender), _domain(provider_from)
    if own and provider and own != provider:
        print(
            f"warn: {shown(template.name)}: From domain {shown(own)} differs from the "
            f"provider's {shown(provider)}: SPF/DKIM/DMARC alignment may fail "
            f"(hint: send from {shown(provider)}, or authorise {shown(own)} at the provider)"
        )


def _domain(sender: str) -> str:
    address = address_of(sender)
    return address.rsplit("@", 1)[1].lower() if "@" in address else ""
