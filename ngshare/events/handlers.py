"""The subscription endpoints: ``{prefix}events/sse`` and ``{prefix}events/ws``.

Identity is the same as for every request (``ctx.identity.identify``), and
each channel's ``can_read`` decides who may listen, once, at subscription.
Mounted by the ``events`` core service (:data:`ngshare.events.service`).
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tornado import websocket
from tornado.iostream import StreamClosedError

from ngshare.events.bus import SHUTDOWN, TOO_SLOW, EventBus, Subscription
from ngshare.web import ApiError, APIHandler, authenticated

if TYPE_CHECKING:
    from ngshare.auth import Identity
    from ngshare.context import ServerContext

ERR_AUTH = "Authentication required"
ERR_NO_CHANNEL = "Name at least one channel: ?channel=NAME"
ERR_SHUTTING_DOWN = "The server is shutting down"
ERR_LAST_ID = "Last-Event-ID must be an integer"
ERR_NOT_UPGRADE = "This URL speaks WebSocket only (Upgrade: websocket)"
ERR_CROSS_ORIGIN = "Cross-origin WebSocket refused: connect from this server's own pages"


def _requested_channels(handler: Any, bus: EventBus) -> list[str]:
    names = list(dict.fromkeys(handler.get_query_arguments("channel")))
    if not names or not all(names):
        raise ApiError(400, ERR_NO_CHANNEL)
    if len(names) > bus.max_channels_per_connection:
        raise ApiError(400, f"At most {bus.max_channels_per_connection} channels per connection")
    return names


async def _authorize(bus: EventBus, identity: Identity, names: list[str]) -> None:
    """404 for an unknown channel, 403 for one the caller may not read."""
    for name in names:
        if bus.get_channel(name) is None:
            raise ApiError(404, f"Unknown channel: {name}")
    for name in names:
        if not await bus.can_read(identity, name):
            raise ApiError(403, f"Permission denied: cannot read channel {name}")


def _last_event_id(value: str | None) -> int | None:
    if value is None or value.strip() == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ApiError(400, ERR_LAST_ID) from None


def _bus(ctx: ServerContext) -> EventBus:
    bus = ctx.events
    if bus is None or bus.closed:
        raise ApiError(503, ERR_SHUTTING_DOWN)
    return bus


class EventStreamHandler(APIHandler):
    """``GET {prefix}events/sse?channel=A&channel=B``: Server-Sent Events.

    Resumes after the ``Last-Event-ID`` header (sent by EventSource on
    reconnect) or a ``last_event_id`` query argument. Cross-origin pages
    cannot read it: no CORS headers are sent.
    """

    unauthenticated_message = ERR_AUTH
    _subscription: Subscription | None = None

    @authenticated
    async def get(self) -> None:
        bus = _bus(self.ctx)
        names = _requested_channels(self, bus)
        header = self.request.headers.get("Last-Event-ID")
        last_id = _last_event_id(header or self.get_query_argument("last_event_id", None))
        assert self.identity is not None
        await _authorize(bus, self.identity, names)
        sub = self._subscription = await bus.subscribe_from(names, last_id, connection=True)
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("Cache-Control", "no-cache, no-store")
        self.set_header("X-Accel-Buffering", "no")  # nginx: do not buffer the stream
        try:
            await self._pump(sub, bus.sse_keepalive_seconds or None)
        finally:
            sub.detach()

    async def _pump(self, sub: Subscription, keepalive: float | None) -> None:
        try:
            self.write(b": connected\n\n")
            await self.flush()
            while (batch := await sub.next_batch(keepalive)) is not None:
                self.write(b"".join(e.sse for e in batch) if batch else b": keep-alive\n\n")
                await self.flush()
        except StreamClosedError:
            sub.close()
            return
        if sub.closed_reason == TOO_SLOW:
            self.request.connection.close()  # type: ignore[attr-defined]
        elif sub.closed_reason == SHUTDOWN:
            try:
                await asyncio.wait_for(self.finish(), sub.bus.shutdown_grace_seconds)
            except (StreamClosedError, asyncio.TimeoutError):
                pass
            self.request.connection.close()  # type: ignore[attr-defined]

    def on_connection_close(self) -> None:
        super().on_connection_close()
        if self._subscription is not None:
            self._subscription.close()


class EventSocketHandler(websocket.WebSocketHandler):
    """``{prefix}events/ws?channel=A&channel=B``: events as WebSocket text messages.

    Refusals happen before the upgrade, as JSON (401, 403, 404, 400). The
    server pings every ``ws_ping_seconds``; messages from the client are
    ignored. ``last_event_id`` resumes like SSE's Last-Event-ID.
    """

    def initialize(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self._names: list[str] = []
        self._last_id: int | None = None
        self._subscription: Subscription | None = None
        self._pump_task: asyncio.Task | None = None
        self._closed_while_opening = False

    @property
    def ping_interval(self) -> float | None:
        bus = self.ctx.events
        return (bus.ws_ping_seconds or None) if bus is not None else None

    @property
    def max_message_size(self) -> int:
        return 4096  # clients have nothing to say; do not buffer much of it

    async def get(self, *args: Any, **kwargs: Any) -> None:
        if self.request.headers.get("Upgrade", "").lower() != "websocket":
            return self._refuse(400, ERR_NOT_UPGRADE)
        try:
            bus = _bus(self.ctx)
            identity = await self.ctx.identity.identify(self)  # type: ignore[arg-type]
            if identity is None:
                raise ApiError(401, ERR_AUTH)
            self._names = _requested_channels(self, bus)
            self._last_id = _last_event_id(self.get_query_argument("last_event_id", None))
            await _authorize(bus, identity, self._names)
        except ApiError as e:
            return self._refuse(e.status, e.message)
        if self._cross_origin_refused():
            return self._refuse(403, ERR_CROSS_ORIGIN)
        await super().get(*args, **kwargs)

    # It authenticates itself (above), before the upgrade: tell the route check so.
    get.ngshare_access = "authenticated"  # type: ignore[attr-defined]

    def check_origin(self, origin: str) -> bool:
        """Cookies are sent by any page: only same-origin (or listed) pages may use them.

        A token the client presents itself is proof enough, from any origin.
        """
        if getattr(self, "_token_authenticated", False):
            return True
        bus = self.ctx.events
        if bus is not None and origin in bus.allowed_origins:
            return True
        if urlsplit(origin).netloc.lower() == self.request.headers.get("Host", "").lower():
            return True
        return super().check_origin(origin)

    def _cross_origin_refused(self) -> bool:
        # Tornado refuses the same requests, with a text body; this answers in JSON.
        if self.request.headers.get("Sec-Fetch-Site") in ("same-origin", "none"):
            return False
        origin = self.request.headers.get("Origin")
        return origin is not None and not self.check_origin(origin)

    def _refuse(self, status: int, message: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps({"success": False, "message": message}))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps({"success": False, "message": "Internal Server Error"}))

    async def open(self, *args: Any, **kwargs: Any) -> None:
        bus = self.ctx.events
        sub = await bus.subscribe_from(self._names, self._last_id, connection=True)
        self._subscription = sub
        if self._closed_while_opening:
            sub.detach()
            return
        self._pump_task = asyncio.ensure_future(self._pump(self._subscription))

    async def _pump(self, sub: Subscription) -> None:
        try:
            while (batch := await sub.next_batch()) is not None:
                await asyncio.gather(*(self.write_message(e.wire) for e in batch))
        except (websocket.WebSocketClosedError, StreamClosedError):
            sub.close()
            return
        if sub.closed_reason == TOO_SLOW:
            # it is not reading: a close frame would wait behind the backlog
            connection = self.ws_connection
            if connection is not None and connection.stream is not None:
                connection.stream.close()
        elif sub.closed_reason == SHUTDOWN:
            self.close(1001, "server shutting down")

    def on_message(self, message: str | bytes) -> None:
        pass

    def on_close(self) -> None:
        if self._subscription is not None:
            self._subscription.detach()
        else:  # still reading the missed events (postgres backend)
            self._closed_while_opening = True
