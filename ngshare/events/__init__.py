"""Live events: an in-process pub/sub bus and its WebSocket and Server-Sent Events channels.

Plugins declare **channels** and publish **events** on them; browsers and apps
subscribe over ``{prefix}events/ws`` or ``{prefix}events/sse``::

    from ngshare.events import Channel

    def mentors_only(identity, ctx):      # or ``async def``
        return identity.name in ctx.state["vivere.mentors"]

    plugin = Plugin(name="vivere", channels=[Channel("com.vivere.mentorchannel", mentors_only)])
    # (registered by the bus at start-up; names known only at run time can be
    # registered from the plugin's startup hook: ctx.events.register("vivere", Channel(...)))

    # in a handler: the event goes out only if (and once) the transaction commits
    def assign(session, ...):
        ...
        ctx.events.publish_after_commit(session, "com.vivere.mentorchannel",
                                        "mentor.assigned", {"mentor": name})

    await ctx.db.run(assign, ...)   # when this returns, the event has been published

The package: :mod:`~ngshare.events.bus` (channels, events, subscriptions; why
it is built this way), :mod:`~ngshare.events.commit_hooks` (publish after
commit), :mod:`~ngshare.events.handlers` (WebSocket and SSE endpoints),
:mod:`~ngshare.events.postgres` and :mod:`~ngshare.events.models` (the
``postgres`` backend: events across replicas through LISTEN/NOTIFY),
:mod:`~ngshare.events.openapi`; here, the ``events`` core service
(:data:`service`, see ``ngshare.app.CORE_SERVICES``) and its hooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ngshare.events.bus import (
    CLOSED_BY_CLIENT,
    GAP_EVENT,
    MAX_NAME_LENGTH,
    RESERVED_PREFIX,
    SHUTDOWN,
    TOO_SLOW,
    Channel,
    Event,
    EventBus,
    ReadCheck,
    Subscription,
)
from ngshare.events.handlers import (
    ERR_AUTH,
    ERR_CROSS_ORIGIN,
    ERR_LAST_ID,
    ERR_NO_CHANNEL,
    ERR_NOT_UPGRADE,
    ERR_SHUTTING_DOWN,
    EventSocketHandler,
    EventStreamHandler,
)
from ngshare.events.models import EventRecord  # the events table, declared on CoreBase
from ngshare.events.openapi import openapi_paths
from ngshare.plugin import Plugin

if TYPE_CHECKING:
    from ngshare.context import ServerContext


async def start(ctx: ServerContext) -> None:
    """Create the bus, register the plugins' declared ``channels``, start its backend.

    It runs before the plugins' startup hooks, so those may publish, or
    register channels whose names are only known at run time.
    """
    bus = EventBus(ctx=ctx, parent=ctx.config)
    for plugin in [*ctx.services, *ctx.plugins]:
        for channel in getattr(plugin, "channels", None) or ():
            bus.register(plugin.name, channel)
    ctx.events = bus
    await bus.start_relay()


async def stop(ctx: ServerContext) -> None:
    """Close every subscriber connection cleanly (WebSocket 1001, SSE stream end)."""
    if ctx.events is not None:
        await ctx.events.close()


service = Plugin(
    name="events",
    mount="",
    description="Live channels: publish after commit, subscribe over WebSocket or SSE.",
    handlers=[("events/ws", EventSocketHandler), ("events/sse", EventStreamHandler)],
    startup=start,
    shutdown=stop,
    openapi=openapi_paths(),
)

__all__ = [
    "CLOSED_BY_CLIENT",
    "ERR_AUTH",
    "ERR_CROSS_ORIGIN",
    "ERR_LAST_ID",
    "ERR_NOT_UPGRADE",
    "ERR_NO_CHANNEL",
    "ERR_SHUTTING_DOWN",
    "GAP_EVENT",
    "MAX_NAME_LENGTH",
    "RESERVED_PREFIX",
    "SHUTDOWN",
    "TOO_SLOW",
    "Channel",
    "Event",
    "EventBus",
    "EventRecord",
    "EventSocketHandler",
    "EventStreamHandler",
    "ReadCheck",
    "Subscription",
    "openapi_paths",
    "service",
    "start",
    "stop",
]
