"""An SMTP stand-in on aiosmtpd: STARTTLS, AUTH (PLAIN/LOGIN), SMTPUTF8, recorded mail."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.certs import Tls


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes
    smtputf8: bool
    login: str | None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class SmtpStandin:
    """``with SmtpStandin(tls, users={"u": "p"}) as smtp: smtp.port ...``"""

    def __init__(
        self,
        tls: Tls | None = None,
        *,
        users: dict[str, str] | None = None,
        starttls: bool = True,
        refuse: frozenset[str] = frozenset(),
        refuse_senders: frozenset[str] = frozenset(),
    ) -> None:
        self.users = {user: {password} for user, password in (users or {}).items()}
        self.refuse = refuse
        self.refuse_senders = refuse_senders  # domains whose senders the relay refuses
        self._messages: list[Received] = []
        self._lock = threading.Lock()
        self.host = "127.0.0.1"
        self.port = free_port()
        kwargs: dict[str, Any] = {
            "authenticator": self._authenticate,
            "enable_SMTPUTF8": True,
            "auth_require_tls": bool(tls and starttls),
        }
        if tls is not None and starttls:
            kwargs.update(tls_context=tls.server_context(), require_starttls=True)
        self._controller = Controller(self, hostname=self.host, port=self.port, **kwargs)

    def set_password(self, user: str, password: str) -> None:
        with self._lock:
            self.users[user] = {password}

    def add_password(self, user: str, password: str) -> None:
        """Accept another password (a rotation's overlap window)."""
        with self._lock:
            self.users.setdefault(user, set()).add(password)

    def revoke_password(self, user: str, password: str) -> None:
        with self._lock:
            self.users.get(user, set()).discard(password)

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword):
            user, password = data.login.decode(), data.password.decode()
            with self._lock:
                if password in self.users.get(user, set()):
                    return AuthResult(success=True, auth_data=user)
        return AuthResult(success=False, handled=False)

    async def handle_MAIL(
        self,
        server: Any,
        session: Any,
        envelope: Any,
        address: str,  # noqa: N802
        options: list[str],
    ) -> str:
        if address.rsplit("@", 1)[-1].lower() in self.refuse_senders:
            return "550 5.7.1 Sender address rejected: not owned by the authenticated user"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self,
        server: Any,
        session: Any,
        envelope: Any,
        address: str,  # noqa: N802
        options: list[str],
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        login = session.auth_data if isinstance(session.auth_data, str) else None
        message = Received(
            envelope.mail_from,
            tuple(envelope.rcpt_tos),
            envelope.original_content or envelope.content,
            "SMTPUTF8" in (envelope.mail_options or []),
            login,
        )
        with self._lock:
            self._messages.append(message)
        return "250 Message accepted"

    def messages(self) -> list[Received]:
        with self._lock:
            return list(self._messages)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages()) >= count:
                return self.messages()
            time.sleep(0.02)
        raise AssertionError(f"expected {count} message(s), got {len(self.messages())}")

    def __enter__(self) -> SmtpStandin:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()
