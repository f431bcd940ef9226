"""Vivere's scheduled work, on the core scheduler.

* ``vivere.announce_expired_tickets`` (every 30 s): ``ticket.expired`` on the
  mentor channel, once per ticket and opening.
* ``vivere.publish_due_announcements`` (every 30 s): announcements whose time
  has come and that no dated job published (missed, or moved).
* ``vivere.publish_announcement:<id>`` (dated, scheduled by the organiser API
  for a future announcement): publishes that one at its time.

Each reads ``now`` from ``ctx.state(Clock)``, like the handlers.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from ngshare_vivere import announcements, tickets
from ngshare_vivere.clock import Clock
from ngshare_vivere.config import Vivere

if TYPE_CHECKING:
    from ngshare.plugin_api import ServerContext

#: How often the interval jobs run (seconds).
SWEEP_SECONDS = 30


def _moment(ctx: ServerContext) -> tickets.Moment:
    settings = ctx.state(Vivere)
    now = ctx.state(Clock).now()
    return tickets.Moment(now, timedelta(seconds=settings.ticket_expiry_seconds))


async def announce_expired_tickets(ctx: ServerContext) -> None:
    n = await ctx.db.run(tickets.announce_expired_tickets, ctx.events, _moment(ctx))
    if n:
        ctx.log.info("vivere.announce_expired_tickets: %d ticket(s) expired", n)


async def publish_due_announcements(ctx: ServerContext) -> None:
    now = ctx.state(Clock).now()
    n = await ctx.db.run(announcements.publish_due, ctx.events, now, push=ctx.notifications)
    if n:
        ctx.log.info("vivere.publish_due_announcements: published %d announcement(s)", n)


async def publish_announcement(ctx: ServerContext, announcement_id: int) -> None:
    """The dated job of one future announcement (nothing if it went out already)."""
    now = ctx.state(Clock).now()
    n = await ctx.db.run(
        announcements.publish_due, ctx.events, now, announcement_id, push=ctx.notifications
    )
    if n:
        ctx.log.info("vivere.publish_announcement: published announcement %d", announcement_id)
