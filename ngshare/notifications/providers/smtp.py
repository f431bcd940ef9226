"""E-mail over SMTP (implicit TLS, STARTTLS or plain; optional login), with the standard library.

``smtplib`` runs on this provider's own worker threads (``concurrency`` of
them, one connection each), so no dependency is added and the IOLoop never
waits on a mail server. A batch goes over one connection and one login;
messages with the same subject and content go out as one mail to up to
``max_recipients_per_mail`` recipients (each in the envelope only, the ``To:``
header says ``undisclosed-recipients``), so a course announcement to 300
students is 6 SMTP transactions, not 300.

Outcomes, per recipient: accepted -> delivered (the ``Message-ID``); refused
with 4xx -> retry; refused with 550/551/553 (no such mailbox) -> invalid; other
5xx -> failed. A connection or login that fails retries the messages not yet
handed over; messages the server already accepted stay delivered.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from traitlets import Bool, Enum, Integer, Unicode

from ngshare.notifications.providers.base import Outcome, Outgoing, Provider

#: Reply codes meaning "no such mailbox / not ours": the address is dead.
INVALID_MAILBOX_CODES = frozenset({550, 551, 553})


class SmtpProvider(Provider):
    """``email`` through one SMTP server (a relay, SendGrid's or SES's SMTP endpoint)."""

    name = "smtp"
    channels = ("email",)

    host = Unicode("", help="The SMTP server.").tag(config=True)
    port = Integer(0, help="Its port; 0: 465 for security='tls', else 587 (25 for 'none').").tag(
        config=True
    )
    security = Enum(
        ["starttls", "tls", "none"],
        "starttls",
        help="'starttls' (upgrade after connecting), 'tls' (implicit TLS), 'none' (local relays).",
    ).tag(config=True)
    username = Unicode("", help="Login name; empty: no login.").tag(config=True)
    password = Unicode("", help="Login password.").tag(config=True)
    sender = Unicode("", help="The From: address, e.g. 'Course Bot <noreply@example.org>'.").tag(
        config=True
    )
    ca_file = Unicode("", help="CA bundle to verify the server with; default: the system's.").tag(
        config=True
    )
    verify_certificate = Bool(True, help="Verify the server's TLS certificate and name.").tag(
        config=True
    )
    max_recipients_per_mail = Integer(
        50, help="Recipients of one SMTP transaction when messages are identical."
    ).tag(config=True)
    max_batch = Integer(100, help="Messages handed to one connection.").tag(config=True)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._threads: ThreadPoolExecutor | None = None

    def check(self) -> None:
        """A host and a sender must be set."""
        if not self.host:
            raise ValueError("set c.SmtpProvider.host")
        if not self.sender:
            raise ValueError("set c.SmtpProvider.sender")

    async def start(self) -> None:
        """The worker threads smtplib runs on."""
        self._threads = ThreadPoolExecutor(
            max_workers=max(1, self.concurrency), thread_name_prefix="ngshare-smtp"
        )

    async def close(self) -> None:
        """Let the threads finish what they are sending."""
        if self._threads is not None:
            self._threads.shutdown(wait=True)
            self._threads = None

    async def send(self, batch: list[Outgoing]) -> list[Outcome]:
        """The batch over one connection, on a worker thread."""
        if self._threads is None:
            await self.start()
        return await asyncio.get_running_loop().run_in_executor(
            self._threads, self._send_batch, batch
        )

    # -- on a worker thread --------------------------------------------------------

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_file or None)
        if not self.verify_certificate:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _connect(self) -> smtplib.SMTP:
        timeout = self.timeout_seconds
        if self.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port or 465, timeout=timeout, context=self._tls_context()
            )
        else:
            port = self.port or (587 if self.security == "starttls" else 25)
            smtp = smtplib.SMTP(self.host, port, timeout=timeout)
        try:
            smtp.ehlo()
            if self.security == "starttls":
                smtp.starttls(context=self._tls_context())
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _groups(self, batch: list[Outgoing]) -> list[list[int]]:
        """Indexes of ``batch`` that can share one mail, in order of first appearance."""
        groups: dict[tuple, list[list[int]]] = {}
        order: list[list[int]] = []
        for i, m in enumerate(batch):
            key = (m.subject, m.body, m.data.get("html"), m.data.get("reply_to"))
            chunks = groups.setdefault(key, [])
            if not chunks or len(chunks[-1]) >= self.max_recipients_per_mail:
                chunks.append([])
                order.append(chunks[-1])
            chunks[-1].append(i)
        return order

    def _mail(self, first: Outgoing, recipients: list[str]) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = recipients[0] if len(recipients) == 1 else "undisclosed-recipients:;"
        mail["Subject"] = first.subject or ""
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        domain = self.sender.rpartition("@")[2].rstrip(">").strip() or None
        mail["Message-ID"] = make_msgid(domain=domain)
        if first.data.get("reply_to"):
            mail["Reply-To"] = str(first.data["reply_to"])
        mail.set_content(first.body)
        if first.data.get("html"):
            mail.add_alternative(str(first.data["html"]), subtype="html")
        return mail

    def _send_batch(self, batch: list[Outgoing]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(batch)
        try:
            smtp = self._connect()
        except (OSError, smtplib.SMTPException) as e:
            return [Outcome.retry(f"SMTP connection failed: {_describe(e)}")] * len(batch)
        try:
            for group in self._groups(batch):
                recipients = [batch[i].to for i in group]
                mail = self._mail(batch[group[0]], recipients)
                try:
                    refused = smtp.send_message(mail, to_addrs=recipients)
                except smtplib.SMTPRecipientsRefused as e:
                    refused = e.recipients
                except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as e:
                    for i in group:
                        outcomes[i] = _by_code(e.smtp_code, _describe(e))
                    continue
                except (OSError, smtplib.SMTPException) as e:
                    # the connection is gone: what is not yet handed over is retried
                    for j, outcome in enumerate(outcomes):
                        if outcome is None:
                            outcomes[j] = Outcome.retry(f"SMTP failed: {_describe(e)}")
                    return outcomes  # type: ignore[return-value]
                for i in group:
                    answer = refused.get(batch[i].to)
                    if answer is None:
                        outcomes[i] = Outcome.delivered(mail["Message-ID"])
                    else:
                        code, text = answer
                        message = f"SMTP {code}: {text.decode(errors='replace')}"
                        outcomes[i] = _by_code(code, message)
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
        return outcomes  # type: ignore[return-value]


def _by_code(code: int, message: str) -> Outcome:
    if 400 <= code < 500:
        return Outcome.retry(message)
    if code in INVALID_MAILBOX_CODES:
        return Outcome.invalid(message)
    return Outcome.failed(message)


def _describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error
        if isinstance(text, bytes):
            text = text.decode(errors="replace")
        return f"{error.smtp_code} {text}"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
