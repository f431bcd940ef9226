"""Ekatra: courses delivered to learners day by day over SMS and WhatsApp, as the
ngshare plugin ``ekatra`` (mounted at ``{prefix}ekatra/``).

It rebuilds the Ekatra backend (Flask + APScheduler + Twilio) on ngshare's core
services: accounts are core local accounts, tokens core tokens, messages go
through the core notifications service (its outbox, retries and idempotency
keys), and the day-by-day schedule runs as the ``ekatra.send_due`` job on the
shared scheduler, with its state in Ekatra's own tables. See ``docs/ekatra.md``.
"""

from __future__ import annotations

from pathlib import Path

from ngshare_ekatra import jobs
from ngshare_ekatra.clock import Clock
from ngshare_ekatra.config import Ekatra
from ngshare_ekatra.handlers import handlers
from ngshare_ekatra.models import EkatraBase
from ngshare_ekatra.openapi import PATHS
from ngshare_ekatra.replies import set_subscribed

from ngshare.plugin_api import InvalidRecipient, Job, Plugin, ServerContext

__version__ = "1.0.0"


async def startup(ctx: ServerContext) -> None:
    """Install the clock every rule reads (tests install their own first)."""
    if not ctx.has_state(Clock):
        ctx.set_state(Clock())


async def unsubscribe_dead_number(ctx: ServerContext, recipient: InvalidRecipient) -> None:
    """Twilio says a number is dead: its learners are unsubscribed, so nothing more is tried."""
    if recipient.channel not in ("sms", "whatsapp"):
        return
    phone = recipient.address.removeprefix("whatsapp:")
    n = await ctx.db.run(set_subscribed, phone, False)
    ctx.log.info("ekatra: unsubscribed %d learner(s) of a dead number: %s", n, recipient.reason)


plugin = Plugin(
    name="ekatra",
    version=__version__,
    description="Ekatra: courses delivered day by day over SMS and WhatsApp.",
    handlers=handlers,
    metadata=EkatraBase.metadata,
    migrations=str(Path(__file__).parent / "migrations" / "versions"),
    config=Ekatra,
    startup=startup,
    jobs=[
        Job("ekatra.send_due", jobs.send_due, "interval", {"seconds": jobs.SEND_INTERVAL_SECONDS}),
    ],
    openapi=PATHS,
    invalid_recipient=unsubscribe_dead_number,
)
