"""The log provider: records what would have gone out, sends nothing.

It is the default of every channel under ``vngshare``, so that a developer
sees each message in the server's log and in the outbox (``{prefix}notifications``,
``ngshare notifications list``) as ``sent`` by provider ``log``.
"""

from __future__ import annotations

import logging

from traitlets import Integer

from ngshare.notifications.addresses import CHANNELS
from ngshare.notifications.providers.base import Outcome, Outgoing, Provider

log = logging.getLogger("ngshare.notifications.log")


class LogProvider(Provider):
    """Logs each message (channel, address, subject, the start of the body) at INFO."""

    name = "log"
    channels = CHANNELS

    max_batch = Integer(500, help="Most messages handed to one send() call.").tag(config=True)
    body_chars = Integer(500, help="How much of a body the log line shows.").tag(config=True)

    async def send(self, batch: list[Outgoing]) -> list[Outcome]:
        """Log each message; every one counts as delivered, with id ``log-<message id>``."""
        for m in batch:
            body = m.body if len(m.body) <= self.body_chars else m.body[: self.body_chars] + "…"
            log.info(
                "notification %d (not sent: log provider) %s to %s%s: %s",
                m.id,
                m.channel,
                m.to,
                f" subject {m.subject!r}" if m.subject else "",
                body,
            )
        return [Outcome.delivered(f"log-{m.id}") for m in batch]
