"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives.

It can refuse chosen recipients with a chosen reply (``550`` for a mailbox that
does not exist, ``450`` for "try later"), require STARTTLS and a login, and
answer with a self-signed certificate made for it (:func:`self_signed`).
"""

from __future__ import annotations

import socket
import ssl
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.standins import tls


@dataclass
class Received:
    """One SMTP transaction the stand-in accepted."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    login: str | None


@dataclass
class SmtpStandIn:
    """The handler aiosmtpd calls; also what the tests read and script."""

    received: list[Received] = field(default_factory=list)
    #: recipient -> reply to RCPT TO, e.g. "550 5.1.1 No such user"
    refuse: dict[str, str] = field(default_factory=dict)
    credentials: tuple[str, str] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        reply = self.refuse.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        auth = getattr(session, "auth_data", None)
        login = auth.decode() if isinstance(auth, bytes) else None
        with self.lock:
            self.received.append(
                Received(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    message_from_bytes(
                        envelope.original_content or envelope.content, policy=policy.default
                    ),
                    login,
                )
            )
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword) and self.credentials is not None:
            if (auth_data.login.decode(), auth_data.password.decode()) == self.credentials:
                return AuthResult(success=True, auth_data=auth_data.login)
        return AuthResult(success=False, handled=False)

    def recipients(self) -> list[str]:
        with self.lock:
            return [r for m in self.received for r in m.rcpt_tos]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, written to ``folder``: (cert, key)."""
    return tls.self_signed(folder, "smtp")


def start_smtp(
    *,
    tls_files: tuple[Path, Path] | None = None,
    credentials: tuple[str, str] | None = None,
    implicit_tls: bool = False,
) -> tuple[SmtpStandIn, Controller]:
    """Start the stand-in on a free loopback port (its own thread); stop with ``controller.stop()``.

    With ``tls_files`` it offers STARTTLS and requires it, or, with
    ``implicit_tls``, speaks TLS from the first byte (SMTPS, port 465's way);
    with ``credentials`` it requires that login (over TLS).
    """
    handler = SmtpStandIn(credentials=credentials)
    kwargs: dict = {}
    if tls_files is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(tls_files[0]), str(tls_files[1]))
        if implicit_tls:
            # aiosmtpd only counts STARTTLS as TLS; the whole connection is TLS here
            kwargs.update(ssl_context=context, auth_require_tls=False)
        else:
            kwargs.update(tls_context=context, require_starttls=True)
    if credentials is not None:
        kwargs.update(authenticator=handler.authenticate, auth_required=True)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    return handler, controller
