"""The in-process pub/sub bus: channels, events, subscriptions and replay history.

Used by the WebSocket/SSE handlers (:mod:`ngshare.events.handlers`), by the
``events`` core service that creates the bus at start-up, and by plugins
through ``ctx.events``. Design notes:

* Database work runs on worker threads and may roll back, so the normal way
  to publish is :meth:`EventBus.publish_after_commit`: SQLAlchemy session
  events (:mod:`ngshare.events.commit_hooks`) hold the event until the
  outermost transaction commits (savepoints that roll back drop theirs) and
  hand it to the IOLoop thread with ``call_soon_threadsafe``. Clients never
  hear of changes they cannot see.
* Each event is serialised once (its JSON and its SSE frame are built when it
  is published) and shared by every subscriber; fan-out is a list append.
* Every subscriber has a bounded queue. A connection that cannot keep up is
  dropped rather than allowed to grow the server's memory; it reconnects and
  resumes from ``Last-Event-ID`` (a small per-channel replay buffer), or is
  told of a ``ngshare.gap`` when what it missed is no longer held.
* ``backend = 'postgres'`` (several replicas on one PostgreSQL database) swaps
  the hand-over for :mod:`ngshare.events.postgres`: the events are written
  in the committing transaction and come back, on every replica, through
  LISTEN/NOTIFY; replay reads the ``events`` table. The local path above is
  untouched by it.

Everything here runs on the IOLoop thread except :meth:`EventBus.publish_after_commit`
(and the SQLAlchemy listeners it relies on), which is safe on any thread.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from traitlets import CaselessStrEnum, Float, Integer, List, Unicode
from traitlets.config import LoggingConfigurable

from ngshare.events.commit_hooks import _PENDING_KEY, write_before_commit
from ngshare.plugin import PluginError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from ngshare.auth import Identity
    from ngshare.context import ServerContext
    from ngshare.events.postgres import PostgresRelay

#: Event names starting with this are the bus's own (e.g. ``ngshare.gap``).
RESERVED_PREFIX = "ngshare."
GAP_EVENT = "ngshare.gap"
MAX_NAME_LENGTH = 200

#: Why a subscription ended.
CLOSED_BY_CLIENT = "closed"
TOO_SLOW = "too slow"
SHUTDOWN = "shutdown"

ReadCheck = Callable[["Identity", "ServerContext"], "bool | Awaitable[bool]"]


@dataclass(frozen=True)
class Channel:
    """A named stream of events that a plugin publishes and clients may subscribe to.

    :arg name: free-form and unique on the server; prefix it with something of
        your own (``"com.vivere.mentorchannel"``, ``"exchange.course"``).
    :arg can_read: ``can_read(identity, ctx)``, plain or ``async``: may this
        caller subscribe? Asked once per connection.
    :arg description: one line for humans (docs, listings).
    """

    name: str
    can_read: ReadCheck
    description: str = ""


@dataclass(frozen=True, slots=True, eq=False)
class Event:
    """One published event, serialised once and shared by every subscriber.

    ``wire`` is the JSON object ``{"channel", "event", "data", "id", "time"}``
    (UTF-8), as WebSocket clients receive it; ``sse`` is the complete
    Server-Sent Events frame. ``id`` is ``None`` only for the bus's own
    ``ngshare.gap`` notices, which are not replayable.
    """

    channel: str
    name: str
    id: int | None
    time: str
    wire: bytes
    sse: bytes

    @property
    def data(self) -> dict[str, Any]:
        """The payload, decoded from :attr:`wire` (a fresh dict on each access)."""
        return json.loads(self.wire)["data"]


@dataclass(frozen=True, slots=True)
class _Pending:
    """A validated event whose id and time are given when it is emitted."""

    channel: str
    name: str
    data_json: str


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _make_event(
    channel: str, name: str, event_id: int | None, data_json: str, time: str | None = None
) -> Event:
    now = time or _utc_now()
    wire = (
        f'{{"channel":{json.dumps(channel, ensure_ascii=False)},'
        f'"event":{json.dumps(name, ensure_ascii=False)},"data":{data_json},'
        f'"id":{"null" if event_id is None else event_id},"time":"{now}"}}'
    ).encode()
    id_line = b"" if event_id is None else b"id: %d\n" % event_id
    sse = id_line + b"event: " + name.encode() + b"\ndata: " + wire + b"\n\n"
    return Event(channel=channel, name=name, id=event_id, time=now, wire=wire, sse=sse)


def event_from_wire(channel: str, name: str, event_id: int | None, time: str, wire: bytes) -> Event:
    """An :class:`Event` around its already serialised ``wire`` JSON (adds the SSE frame)."""
    id_line = b"" if event_id is None else b"id: %d\n" % event_id
    sse = id_line + b"event: " + name.encode() + b"\ndata: " + wire + b"\n\n"
    return Event(channel=channel, name=name, id=event_id, time=time, wire=wire, sse=sse)


class Subscription:
    """One listener's place on the bus: a bounded queue of events to deliver.

    Network handlers drain it with :meth:`next_batch`; in-process listeners
    may simply ``async for event in subscription``. It ends (``next_batch``
    returns ``None``) when closed: by its owner, by the bus for falling more
    than ``max_queued`` events behind, or at shutdown (after the queued events).
    """

    def __init__(
        self,
        bus: EventBus,
        channels: tuple[str, ...],
        max_queued: int,
        backlog: list[Event],
        connection: bool,
    ) -> None:
        self.bus = bus
        self.channels = channels
        self.max_queued = max_queued
        self.closed_reason: str | None = None
        self._queue: deque[Event] = deque(backlog)
        self._backlog = len(backlog)  # replayed events do not count against max_queued
        self._wakeup = asyncio.Event()
        self._connection = connection
        self._done: asyncio.Future[None] = bus._loop.create_future()
        #: Shared events up to this id were already seen by the client (postgres backend).
        self.skip_through = 0
        if backlog:
            self._wakeup.set()

    @property
    def queued(self) -> int:
        """Events waiting to be handed to the connection."""
        return len(self._queue)

    def _prepend(self, backlog: list[Event]) -> None:
        """Replayed events go before the live ones queued while they were read."""
        if not backlog or self.closed_reason is not None:
            return
        self._queue.extendleft(reversed(backlog))
        self._backlog += len(backlog)
        self._wakeup.set()

    def _offer(self, event: Event) -> None:
        if self.closed_reason is not None:
            return
        if len(self._queue) >= self.max_queued + self._backlog:
            self.bus.log.warning(
                "event subscriber on %s more than %d events behind: disconnected",
                ", ".join(self.channels),
                self.max_queued,
            )
            self.close(TOO_SLOW)
            return
        self._queue.append(event)
        self._wakeup.set()

    async def next_batch(self, timeout: float | None = None) -> list[Event] | None:
        """Everything queued, waiting for at least one event.

        Returns ``[]`` when ``timeout`` seconds pass with nothing to send (time
        for a keep-alive) and ``None`` once the subscription has ended.
        """
        if not self._queue:
            if self.closed_reason is not None:
                return None
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout)
            except asyncio.TimeoutError:
                return []
            if not self._queue:
                return None if self.closed_reason is not None else []
        batch = list(self._queue)
        self._queue.clear()
        self._backlog = 0
        return batch

    async def __aiter__(self) -> AsyncIterator[Event]:
        while (batch := await self.next_batch()) is not None:
            for event in batch:
                yield event

    def close(self, reason: str = CLOSED_BY_CLIENT) -> None:
        """Stop receiving events. At shutdown the queued ones are still delivered."""
        if self.closed_reason is not None:
            return
        self.closed_reason = reason
        self.bus._unsubscribe(self)
        if reason != SHUTDOWN:
            self._queue.clear()
        self._wakeup.set()
        if not self._connection:
            self.detach()

    def detach(self) -> None:
        """The owning connection has ended: the bus stops waiting for it at shutdown."""
        self.close()
        if not self._done.done():
            self._done.set_result(None)
        self.bus._all.discard(self)


class EventBus(LoggingConfigurable):
    """Registered channels, their subscribers and a short replay history.

    Configure it from ``ngshare_config.py`` as ``c.EventBus.<trait> = ...``.
    """

    max_queued_events = Integer(
        1000,
        help="""A subscriber more than this many events behind (queued behind the
        batch its connection is writing) is disconnected, so a slow client cannot
        grow the server's memory. It reconnects and resumes with Last-Event-ID.""",
    ).tag(config=True)

    replay_buffer_size = Integer(
        100,
        help="""Events kept per channel for clients that reconnect with
        Last-Event-ID (0: none). Fixed for a channel at its first event.""",
    ).tag(config=True)

    sse_keepalive_seconds = Float(
        25.0,
        help="""Idle Server-Sent Events streams get a comment line this often, so
        proxies do not close them and dead clients are noticed (0: never).""",
    ).tag(config=True)

    ws_ping_seconds = Float(
        25.0,
        help="WebSocket ping interval; a client that does not answer is disconnected (0: off).",
    ).tag(config=True)

    allowed_origins = List(
        Unicode(),
        help="""Origins (e.g. 'https://app.example.org') whose pages may open
        WebSockets authenticated by cookie or by the dev-mode `user` argument.
        Same-origin pages and token-authenticated clients are always allowed.""",
    ).tag(config=True)

    max_channels_per_connection = Integer(
        32, help="Most channels one connection may subscribe to."
    ).tag(config=True)

    shutdown_grace_seconds = Float(
        5.0, help="At shutdown, how long to wait for connections to close cleanly."
    ).tag(config=True)

    backend = CaselessStrEnum(
        ["local", "postgres"],
        default_value="local",
        help="""Where events travel. 'local': in this process only (the fastest;
        one server). 'postgres': through the database (PostgreSQL only), so
        subscribers on every replica sharing it get every event, in order, and
        can resume on any replica; events are kept in the `events` table for
        `retention_seconds`. Set 'postgres' on every replica when running
        several.""",
    ).tag(config=True)

    retention_seconds = Float(
        3600.0,
        help="""With backend 'postgres': how long events are kept for clients that
        reconnect with Last-Event-ID (older ones are pruned; 0: never pruned).""",
    ).tag(config=True)

    def __init__(self, ctx: ServerContext | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ctx = ctx
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._channels: dict[str, tuple[str, Channel]] = {}
        self._subscribers: dict[str, set[Subscription]] = {}
        self._all: set[Subscription] = set()
        self._history: dict[str, deque[Event]] = {}
        self._evicted: dict[str, int] = {}  # per channel: newest id no longer in history
        # Ids start at the clock (ms), so a restarted server's ids exceed the old
        # one's and a stale Last-Event-ID is recognised rather than misread.
        self.first_id = int(time.time() * 1000)
        self.last_id = self.first_id - 1
        self.closed = False
        #: The ``postgres`` backend, once started (:meth:`start_relay`).
        self.relay: PostgresRelay | None = None
        self._last_write: asyncio.Future | None = None

    async def start_relay(self) -> None:
        """With ``backend = 'postgres'``: start listening to the other replicas' events."""
        if self.backend != "postgres":
            return
        db = getattr(self.ctx, "db", None)
        if db is None or db.engine.dialect.name != "postgresql":
            raise PluginError(
                "events: EventBus.backend = 'postgres' needs a PostgreSQL database (NgShare.db_url)"
            )
        from ngshare.events.postgres import PostgresRelay

        write_before_commit()
        relay = PostgresRelay(self, db, self.log)
        await relay.start()
        self.relay = relay

    # -- channels -----------------------------------------------------------

    def register(self, plugin_name: str, channel: Channel) -> None:
        """Declare ``channel``, owned by ``plugin_name``; names are unique on the server."""
        name = channel.name
        if not isinstance(name, str) or not name or len(name) > MAX_NAME_LENGTH:
            raise PluginError(
                f"plugin {plugin_name!r}: channel name must be 1-{MAX_NAME_LENGTH} characters"
            )
        if any(c.isspace() or ord(c) < 32 for c in name):
            raise PluginError(
                f"plugin {plugin_name!r}: channel name {name!r} "
                "contains spaces or control characters"
            )
        if not callable(channel.can_read):
            raise PluginError(f"plugin {plugin_name!r}: channel {name!r}: can_read is not callable")
        if name in self._channels:
            owner = self._channels[name][0]
            raise PluginError(
                f"plugin {plugin_name!r} cannot register channel {name!r}: "
                f"plugin {owner!r} already registered it"
            )
        self._channels[name] = (plugin_name, channel)

    def get_channel(self, name: str) -> Channel | None:
        """The registered channel called ``name``, or ``None``."""
        entry = self._channels.get(name)
        return entry[1] if entry else None

    @property
    def channels(self) -> dict[str, tuple[str, Channel]]:
        """Every registered channel: ``name -> (plugin name, Channel)``."""
        return dict(self._channels)

    async def can_read(self, identity: Identity, name: str) -> bool:
        """Whether ``identity`` may subscribe to channel ``name`` (unknown: no)."""
        channel = self.get_channel(name)
        if channel is None:
            return False
        allowed = channel.can_read(identity, self.ctx)  # type: ignore[arg-type]
        if inspect.isawaitable(allowed):
            allowed = await allowed
        return bool(allowed)

    # -- publishing ---------------------------------------------------------

    def publish(self, channel: str, event: str, data: dict[str, Any]) -> Event | None:
        """Publish now, from the IOLoop thread; returns the event (``None`` once closed).

        With the ``postgres`` backend the event is written in a transaction of
        its own, after those of earlier calls, and ``None`` is returned.

        Handlers whose database work runs on worker threads use
        :meth:`publish_after_commit` instead.
        """
        if threading.get_ident() != self._loop_thread:
            raise RuntimeError(
                "EventBus.publish must be called on the IOLoop thread; "
                "from database code use publish_after_commit(session, ...)"
            )
        pending = self._prepare(channel, event, data)
        if self.relay is not None:
            self._write_soon(pending)
            return None
        return self._emit(pending)

    def _write_soon(self, pending: _Pending) -> None:
        """postgres backend: write in a transaction of its own, after the previous ones."""
        relay = self.relay
        assert relay is not None and self.ctx is not None
        previous = self._last_write

        async def write() -> None:
            if previous is not None:
                await asyncio.wait([previous])
            try:
                await self.ctx.db.run(relay.write, [pending])
            except Exception:
                self.log.exception("event %s on %s not published", pending.name, pending.channel)

        self._last_write = asyncio.ensure_future(write())

    def publish_after_commit(
        self, session: Session, channel: str, event: str, data: dict[str, Any]
    ) -> None:
        """Publish once ``session``'s transaction commits; never if it rolls back.

        Safe on any thread. ``data`` is serialised now (so a bad payload fails
        inside the transaction, and later changes to the dict are not sent).
        An event published inside a savepoint is dropped if that savepoint
        rolls back. Events reach subscribers in the order they were published,
        before ``await ctx.db.run(...)`` returns to the handler; with the
        ``postgres`` backend, in commit order, once the listener hears them.
        """
        pending = self._prepare(channel, event, data)
        txn = session.get_nested_transaction() or session.get_transaction()
        session.info.setdefault(_PENDING_KEY, []).append((self, txn, pending))

    def _prepare(self, channel: str, event: str, data: dict[str, Any]) -> _Pending:
        if channel not in self._channels:
            raise LookupError(f"no channel {channel!r} is registered; register it at startup")
        if not isinstance(event, str) or not event or len(event) > MAX_NAME_LENGTH:
            raise ValueError(f"event name must be a string of 1-{MAX_NAME_LENGTH} characters")
        if "\n" in event or "\r" in event:
            raise ValueError(f"event name {event!r} must be one line")
        if event.startswith(RESERVED_PREFIX):
            raise ValueError(f"event names starting with {RESERVED_PREFIX!r} are reserved")
        if not isinstance(data, dict):
            raise TypeError(f"event data must be a dict (a JSON object), not {type(data).__name__}")
        data_json = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return _Pending(channel, event, data_json)

    def _write_before_commit(self, session: Session, pendings: list[_Pending]) -> None:
        """postgres backend: the rows and NOTIFYs go into the committing transaction."""
        if self.relay is not None:
            self.relay.write(session, pendings)

    def _hand_over(self, pendings: list[_Pending]) -> None:
        """From a committing thread to the IOLoop; never raises into the commit."""
        if self.relay is not None:
            return  # written before the commit; the listener delivers them
        try:
            self._loop.call_soon_threadsafe(self._emit_all, pendings)
        except RuntimeError:  # the loop is closed: the server has stopped
            self.log.debug("event loop closed: %d committed events not published", len(pendings))

    def _emit_all(self, pendings: list[_Pending]) -> None:
        for pending in pendings:
            self._emit(pending)

    def _emit(self, pending: _Pending) -> Event | None:
        if self.closed:
            self.log.debug("event bus closed: %s on %s dropped", pending.name, pending.channel)
            return None
        self.last_id += 1
        event = _make_event(pending.channel, pending.name, self.last_id, pending.data_json)
        history = self._history.get(pending.channel)
        if history is None:
            history = self._history[pending.channel] = deque(maxlen=self.replay_buffer_size)
        if history.maxlen == 0:
            self._evicted[pending.channel] = event.id
        else:
            if len(history) == history.maxlen:
                self._evicted[pending.channel] = history[0].id
            history.append(event)
        for subscription in tuple(self._subscribers.get(pending.channel, ())):
            subscription._offer(event)
        return event

    def _fan_out(self, event: Event) -> None:
        """postgres backend: an event from the listener, to this replica's subscribers."""
        for subscription in tuple(self._subscribers.get(event.channel, ())):
            if event.id is not None and event.id <= subscription.skip_through:
                continue
            subscription._offer(event)

    # -- subscribing --------------------------------------------------------

    async def subscribe_from(
        self,
        channels: Iterable[str],
        last_event_id: int | None = None,
        *,
        connection: bool = False,
    ) -> Subscription:
        """:meth:`subscribe`, replaying from the ``events`` table with the postgres backend.

        The subscription is registered first, so live events queue while the
        missed ones are read; the replayed ones then go in front of them.
        """
        relay = self.relay
        if relay is None or last_event_id is None:
            return self.subscribe(channels, last_event_id, connection=connection)
        sub = self.subscribe(channels, None, connection=connection)
        try:
            missed, gap, foreign = await relay.replay(
                sub.channels, last_event_id, self.max_queued_events
            )
        except BaseException:
            sub.detach()  # the connection never gets it: do not wait for it at shutdown
            raise
        if not foreign:
            sub.skip_through = last_event_id  # this replica may not have delivered it yet
        notices = []
        if gap:
            data = json.dumps({"after": last_event_id})
            notices = [_make_event(name, GAP_EVENT, None, data) for name in sub.channels]
        sub._prepend(notices + missed)
        return sub

    def subscribe(
        self,
        channels: Iterable[str],
        last_event_id: int | None = None,
        *,
        connection: bool = False,
    ) -> Subscription:
        """Listen to ``channels`` (no permission check: handlers do that).

        With ``last_event_id`` the newer events still held are queued first;
        a channel whose missed events are no longer all held gets an
        ``ngshare.gap`` event instead, so the client knows to reload.
        ``connection=True`` means a network connection owns the subscription
        and calls :meth:`Subscription.detach` when it ends; shutdown waits for that.
        A subscription made after :meth:`close` is already ended.
        """
        names = tuple(dict.fromkeys(channels))
        for name in names:
            if name not in self._channels:
                raise LookupError(f"no channel {name!r} is registered")
        backlog = [] if last_event_id is None else self._replay(names, last_event_id)
        sub = Subscription(self, names, self.max_queued_events, backlog, connection)
        if self.closed:
            sub.close(SHUTDOWN)
            return sub
        self._all.add(sub)
        for name in names:
            self._subscribers.setdefault(name, set()).add(sub)
        return sub

    def _replay(self, names: tuple[str, ...], last_id: int) -> list[Event]:
        foreign = not (self.first_id - 1 <= last_id <= self.last_id)
        gaps: list[Event] = []
        held: list[Event] = []
        for name in names:
            history = self._history.get(name, ())
            if foreign or last_id < self._evicted.get(name, 0):
                data = json.dumps({"after": last_id})
                gaps.append(_make_event(name, GAP_EVENT, None, data))
            if not foreign:
                held.extend(e for e in history if e.id is not None and e.id > last_id)
        held.sort(key=lambda e: e.id or 0)
        return gaps + held

    def _unsubscribe(self, sub: Subscription) -> None:
        for name in sub.channels:
            subscribers = self._subscribers.get(name)
            if subscribers is not None:
                subscribers.discard(sub)
                if not subscribers:
                    del self._subscribers[name]

    def subscriber_count(self, channel: str | None = None) -> int:
        """Live subscriptions, on one channel or in all."""
        if channel is None:
            return len({s for subs in self._subscribers.values() for s in subs})
        return len(self._subscribers.get(channel, ()))

    async def close(self) -> None:
        """Deliver what is queued, end every subscription and wait for connections to close."""
        if not self.closed:
            self.closed = True
            if self.relay is not None:
                await self.relay.stop()
            for sub in list(self._all):
                sub.close(SHUTDOWN)
        waiting = [sub._done for sub in self._all if not sub._done.done()]
        if waiting:
            _, late = await asyncio.wait(waiting, timeout=self.shutdown_grace_seconds)
            if late:
                self.log.warning("%d event connections did not close in time", len(late))
