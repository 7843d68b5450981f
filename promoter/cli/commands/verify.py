"""``promoter verify ENV --to ADDRESS``: send a test email and record the success."""

from __future__ import annotations

from pathlib import Path

from promoter.check.compiler import Compiled, Compiler
from promoter.check.report import print_findings
from promoter.errors import InputError, RefusedError
from promoter.findings import CONFIG_RULE
from promoter.mail.graph import send_graph
from promoter.mail.message import Message
from promoter.mail.smtp import send_smtp
from promoter.model.email import MsGraphConfig, SmtpConfig
from promoter.project.load import load_project
from promoter.project.types import AicTarget, IdmTarget
from promoter.promotion import ledger
from promoter.targets.aic import AicClient
from promoter.targets.idm import IdmClient


def run_verify(
    root: Path, env: str, *, to: str, via: str, subject: str | None, ca_file: Path | None
) -> int:
    check_address(to)
    compiled = Compiler(load_project(root)).compile(env)
    print_findings(compiled.findings)
    config = sendable(compiled)
    sender = config.from_
    if not sender:
        raise RefusedError(f"{env} has no 'from' address to send from", hint="set from:")
    message = Message(
        sender=sender,
        to=to,
        subject=subject or f"promoter test email ({env})",
        body=f"Test email from `promoter verify {env}`.\nConfiguration sha256: {compiled.sha256}\n",
    )
    summary = _send(compiled, config, message, via=via, ca_file=ca_file)
    ledger.record(
        root,
        action="verify",
        env=env,
        result="verified",
        output_sha256=compiled.sha256,
        detail={"via": via, "to_domain": to.rsplit("@", 1)[-1]},
    )
    print(f"verified {env}: {summary} (output sha256 {compiled.sha256})")
    return 0


def check_address(to: str) -> None:
    """Refuse what cannot be a recipient before anything is sent (UTF-8 local parts are fine)."""
    local, at, domain = to.rpartition("@")
    labels = domain.split(".")
    if (
        not at
        or not local
        or "@" in local.strip('"').replace("\\@", "")
        or any(ch.isspace() or not ch.isprintable() for ch in to)
        or not all(labels)
        or any(label.startswith("-") or label.endswith("-") for label in labels)
    ):
        shown = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in to)
        raise InputError(
            f"--to {shown}: not an email address",
            hint="write the recipient as local@domain, e.g. me@example.com",
        )


def sendable(compiled: Compiled) -> SmtpConfig | MsGraphConfig:
    unusable = [f for f in compiled.findings if f.rule in (CONFIG_RULE, "EMAIL009") and f.blocking]
    if compiled.resolved is None or unusable:
        raise RefusedError(f"{compiled.env.name}: the configuration cannot be used to send")
    config: SmtpConfig | MsGraphConfig = compiled.resolved_config()
    return config


def _send(
    compiled: Compiled,
    config: SmtpConfig | MsGraphConfig,
    message: Message,
    *,
    via: str,
    ca_file: Path | None,
) -> str:

    if via == "idm":
        target = compiled.env.target
        send = {
            "from": message.sender,
            "to": message.to,
            "subject": message.subject,
            "type": "text/plain",
            "body": message.body,
        }
        if isinstance(target, AicTarget):
            with AicClient(target, label=f"{compiled.env.name}'s tenant") as aic:
                aic.send(send)
            return f"sent through {target.url}/openidm/external/email"
        if not isinstance(target, IdmTarget):
            raise InputError(f"--via idm needs an IDM target for {compiled.env.name}")

        IdmClient(target).send(send)
        return f"sent through {target.url}/external/email"
    if isinstance(config, SmtpConfig):
        return send_smtp(config, message, ca_file=ca_file)
    return send_graph(config, message, ca_file=ca_file)
