"""Live channels across replicas: the ``postgres`` backend of the event bus.

With ``c.EventBus.backend = 'postgres'`` every event is a row of the
``events`` table (:mod:`ngshare.events.models`), written in the transaction
whose commit it announces, and a ``NOTIFY`` sent by that same transaction.
Every replica ``LISTEN``\\ s on one dedicated psycopg connection and hands
the events to its own subscribers; the publishing replica hears its own
events the same way, so every replica delivers the same events in the same
order.

Why this is enough for order and for resuming:

* A transaction that publishes takes one advisory lock (per database schema)
  just before its commit, then inserts its rows: ids come from the table's
  sequence while the lock is held, so ids increase in commit order, and
  PostgreSQL delivers notifications in commit order. A listener that has
  delivered id N has therefore seen every committed event below N.
* NOTIFY is transactional: a rolled-back transaction notifies nobody and
  leaves no row.
* A payload larger than NOTIFY allows (8000 bytes) is sent as the bare id;
  the listeners read the row.
* A lost listener connection reconnects (with back-off), LISTENs again and
  then reads the rows after the last id it delivered (after taking the
  publishing lock, so a commit in flight is visible); notifications that
  arrive meanwhile for ids already delivered are skipped: nothing is missed
  or repeated.
* Replay after reconnect (Last-Event-ID) reads the table, so it works on any
  replica; rows older than ``EventBus.retention_seconds`` are pruned.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from ngshare.events.models import EventRecord
from ngshare.models import utcnow

if TYPE_CHECKING:
    from ngshare.db import Database
    from ngshare.events.bus import Event, EventBus, _Pending

#: NOTIFY refuses payloads of 8000 bytes or more; larger events go as their id.
MAX_NOTIFY_BYTES = 7999
#: Rows read at a time when catching up after a reconnect.
CATCH_UP_BATCH = 1000
#: The listener's connection, as ``pg_stat_activity.application_name`` shows it.
LISTENER_APPLICATION_NAME = "ngshare-events"

_table = EventRecord.__table__


#: Lock, insert, NOTIFY: the event's wire JSON (its id put between ``head`` and
#: ``tail``) when it fits, else the bare id. The insert reads from ``locked``, so
#: its id is drawn from the sequence only once the lock is held.
_WRITE = text(
    """
    WITH locked AS (SELECT pg_advisory_xact_lock(:key)),
    added AS (
        INSERT INTO events (channel, name, data, created)
        SELECT :channel, :name, :data, :created FROM locked
        RETURNING id
    )
    SELECT pg_notify(
        CAST(:notify AS text),
        CASE WHEN CAST(:whole AS boolean)
            THEN CAST(:head AS text) || id::text || CAST(:tail AS text)
            ELSE id::text
        END
    )
    FROM added
    """
)


def wire_parts(pending: _Pending, time: str) -> tuple[bytes, bytes]:
    """The event's wire JSON before and after its id (which only the database knows)."""
    from ngshare.events.bus import _make_event

    head, _, tail = _make_event(
        pending.channel, pending.name, 0, pending.data_json, time
    ).wire.rpartition(b'"id":0,')
    return head + b'"id":', b"," + tail


def notify_channel_for(schema: str) -> str:
    """The NOTIFY channel of one database schema (NOTIFY is database-wide, tables are not)."""
    if schema == "public":
        return "ngshare_events"
    return "ngshare_events_" + hashlib.sha256(schema.encode()).hexdigest()[:16]


def wire_time(created: datetime) -> str:
    """A stored naive-UTC time as the wire's ``time`` (ISO 8601, milliseconds, ``Z``)."""
    return created.isoformat(timespec="milliseconds") + "Z"


def listener_conninfo(url: Any) -> str:
    """A libpq connection string for SQLAlchemy ``url``, with TCP keep-alives.

    Keep-alives make a silently dead server connection fail within about
    twenty seconds instead of leaving the listener waiting forever.
    """
    uri = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return make_conninfo(
        uri,
        application_name=LISTENER_APPLICATION_NAME,
        keepalives=1,
        keepalives_idle=10,
        keepalives_interval=5,
        keepalives_count=2,
    )


class PostgresRelay:
    """Writes events to the table and NOTIFYs; listens and delivers to this replica's bus."""

    def __init__(self, bus: EventBus, db: Database, log: logging.Logger | None = None) -> None:
        self.bus = bus
        self.db = db
        self.log = log or logging.getLogger(__name__)
        #: The newest event id handed to this replica's subscribers.
        self.watermark = 0
        #: How often the listener connection was (re)established.
        self.connections = 0
        self.notify_channel = "ngshare_events"
        self._lock_key = 0
        self._conninfo = listener_conninfo(db.engine.url)
        self._connected = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    # -- start and stop -----------------------------------------------------

    async def start(self, timeout: float = 30.0) -> None:
        """Start listening; returns once the first LISTEN is in place."""
        schema = await self.db.run(lambda s: s.scalar(text("SELECT current_schema()")))
        self.notify_channel = notify_channel_for(schema or "public")
        digest = hashlib.sha256(b"ngshare.events:" + self.notify_channel.encode()).digest()
        self._lock_key = int.from_bytes(digest[:8], "big", signed=True)
        self._tasks = [asyncio.ensure_future(self._listen())]
        if self.bus.retention_seconds > 0:
            self._tasks.append(asyncio.ensure_future(self._prune_periodically()))
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
        except asyncio.TimeoutError:
            await self.stop()
            raise RuntimeError(
                f"events: could not LISTEN on PostgreSQL within {timeout:.0f} s"
            ) from None

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - stopping anyway
                pass
        self._tasks = []

    # -- writing (on the committing thread) ---------------------------------

    def write(self, session: Session, pendings: Sequence[_Pending]) -> None:
        """Insert ``pendings`` and NOTIFY, inside ``session``'s committing transaction.

        One statement per event (:data:`_WRITE`). The advisory lock is held
        until that commit ends, so rows get their ids in commit order.
        """
        for pending in pendings:
            created = utcnow()
            head, tail = wire_parts(pending, wire_time(created))
            session.execute(
                _WRITE,
                {
                    "key": self._lock_key,
                    "channel": pending.channel,
                    "name": pending.name,
                    "data": pending.data_json,
                    "created": created,
                    "notify": self.notify_channel,
                    "whole": len(head) + len(tail) + 20 <= MAX_NOTIFY_BYTES,
                    "head": head.decode(),
                    "tail": tail.decode(),
                },
            )

    # -- listening (on the IOLoop) ------------------------------------------

    async def _listen(self) -> None:
        delay = 0.1
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
                async with conn:
                    listen = sql.SQL("LISTEN {}").format(sql.Identifier(self.notify_channel))
                    await conn.execute(listen)
                    await self._catch_up(first=self.connections == 0)
                    self.connections += 1
                    self._connected.set()
                    delay = 0.1
                    async for note in conn.notifies():
                        await self._on_notify(note.payload)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - the listener must outlive any failure
                self.log.warning("events: listener connection lost (%s); reconnecting", e)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _catch_up(self, first: bool) -> None:
        """After LISTEN: start from the newest id, or deliver what was missed.

        The reads wait for the publishing lock: a transaction that queued its
        NOTIFY before this LISTEN but had not finished committing may not be
        heard, so the read must not run before that commit is visible.
        """
        if first:
            newest = await self.db.run(self._locked, _newest_id)
            self.watermark = max(self.watermark, newest or 0)
            return
        while True:
            rows = await self.db.run(
                self._locked, _rows_after, self.watermark, None, CATCH_UP_BATCH
            )
            for row in rows:
                self._deliver(_row_event(row))
            if len(rows) < CATCH_UP_BATCH:
                return

    def _locked(self, session: Session, read: Any, *args: Any) -> Any:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": self._lock_key})
        return read(session, *args)

    async def _on_notify(self, payload: str) -> None:
        if payload.startswith("{"):
            event = _wire_event(payload.encode())
            if event.id is not None and event.id > self.watermark:
                self._deliver(event)
            return
        event_id = int(payload)
        if event_id > self.watermark:
            for row in await self.db.run(_rows_after, self.watermark, event_id, None):
                self._deliver(_row_event(row))

    def _deliver(self, event: Event) -> None:
        if event.id is None or event.id <= self.watermark:
            return
        self.watermark = event.id
        self.bus._fan_out(event)

    # -- replay and retention -----------------------------------------------

    async def replay(
        self, channels: Sequence[str], last_id: int, limit: int
    ) -> tuple[list[Event], bool, bool]:
        """Events on ``channels`` after ``last_id`` up to what this replica has delivered.

        Returns ``(events, gap, foreign)``: ``gap`` when some of them are no
        longer kept (or more than ``limit`` were missed: nothing is replayed
        then); ``foreign`` when ``last_id`` was never issued by this database.
        """
        upto = self.watermark

        def read(session: Session) -> tuple[int | None, int | None, list[Any]]:
            lowest, newest = session.execute(
                select(func.min(_table.c.id), func.max(_table.c.id))
            ).one()
            rows = session.execute(
                select(_table)
                .where(_table.c.channel.in_(channels), _table.c.id > last_id, _table.c.id <= upto)
                .order_by(_table.c.id)
                .limit(limit + 1)
            ).all()
            return lowest, newest, rows

        lowest, newest, rows = await self.db.run(read)
        if last_id > max(newest or 0, upto):
            return [], True, True
        gap = lowest is None or lowest > last_id + 1
        if len(rows) > limit:
            return [], True, False
        return [_row_event(row) for row in rows], gap, False

    async def _prune_periodically(self) -> None:
        interval = min(max(self.bus.retention_seconds / 10, 1.0), 60.0)
        while True:
            await asyncio.sleep(interval)
            try:
                removed = await self.db.run(prune, self.bus.retention_seconds)
                if removed:
                    self.log.debug("events: pruned %d old events", removed)
            except Exception as e:  # noqa: BLE001 - try again next time
                self.log.warning("events: pruning failed: %s", e)


def prune(session: Session, retention_seconds: float) -> int:
    """Delete the events older than ``retention_seconds``: always a prefix of the ids.

    Deleting by id (everything up to the newest old row) keeps the table
    gap-free at its start, which is what :meth:`PostgresRelay.replay` relies
    on to tell a client that events it missed are gone.
    """
    cutoff = utcnow() - timedelta(seconds=retention_seconds)
    newest_old = session.scalar(select(func.max(_table.c.id)).where(_table.c.created < cutoff))
    if newest_old is None:
        return 0
    return session.execute(delete(_table).where(_table.c.id <= newest_old)).rowcount


def _newest_id(session: Session) -> int | None:
    return session.scalar(select(func.max(_table.c.id)))


def _rows_after(session: Session, after: int, upto: int | None, limit: int | None) -> list[Any]:
    query = select(_table).where(_table.c.id > after).order_by(_table.c.id)
    if upto is not None:
        query = query.where(_table.c.id <= upto)
    if limit is not None:
        query = query.limit(limit)
    return list(session.execute(query).all())


def _row_event(row: Any) -> Event:
    from ngshare.events.bus import _make_event

    return _make_event(row.channel, row.name, row.id, row.data, wire_time(row.created))


def _wire_event(wire: bytes) -> Event:
    """An event from its wire JSON (a NOTIFY payload): the bytes are sent as they are."""
    from ngshare.events.bus import event_from_wire

    fields = json.loads(wire)
    return event_from_wire(fields["channel"], fields["event"], fields["id"], fields["time"], wire)
