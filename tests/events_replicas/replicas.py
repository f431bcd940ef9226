"""Several real ``vngshare`` processes on one PostgreSQL database, and clients for them.

Used by the tests in this folder and by ``benchmarks/events_replicas.py``:

- :func:`replica_database`: a database and a login role of its own, created
  on the local PostgreSQL and dropped afterwards (the role can be refused new
  connections to hold a replica's listener off);
- :func:`running_replicas`: N servers with Vivere and ``EventBus.backend =
  'postgres'``, started one after the other (the first migrates), stopped by PID;
- :class:`SseClient`, :class:`WsClient`: subscribers that parse what arrives;
- :func:`announce`, :func:`create_event`: publish through a replica's HTTP API.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa
from tornado import websocket
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from tests.servers import running_server

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ANNOUNCEMENTS = "com.vivere.announcement"
SCHEDULE = "com.vivere.events"
ORGANISER = "root"  # an ngshare admin, hence a Vivere organiser
LISTENER = "ngshare-events"  # the listener connection's application_name


class ReplicaDatabase:
    """A database owned by a role of its own: ``url`` for the servers, ``admin`` to inspect it."""

    def __init__(self, admin_url: str) -> None:
        self.name = f"events_replicas_{uuid.uuid4().hex[:10]}"
        self.admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        admin = self.admin.url
        self.url = str(
            admin.set(username=self.name, database=self.name).render_as_string(hide_password=False)
        )
        self.engine = sa.create_engine(self.url)

    def create(self) -> None:
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'CREATE ROLE "{self.name}" LOGIN'))
            conn.execute(sa.text(f'CREATE DATABASE "{self.name}" OWNER "{self.name}"'))

    def drop(self) -> None:
        self.engine.dispose()
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            conn.execute(sa.text(f'DROP ROLE IF EXISTS "{self.name}"'))
        self.admin.dispose()

    def allow_login(self, allowed: bool) -> None:
        """Refuse (or allow again) new connections of the servers' role."""
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'ALTER ROLE "{self.name}" {"LOGIN" if allowed else "NOLOGIN"}'))

    def listener_pids(self) -> list[int]:
        with self.admin.connect() as conn:
            return list(
                conn.execute(
                    sa.text(
                        "SELECT pid FROM pg_stat_activity"
                        " WHERE datname = :db AND application_name = :app ORDER BY pid"
                    ),
                    {"db": self.name, "app": LISTENER},
                ).scalars()
            )

    def kill_listeners(self) -> list[int]:
        """``pg_terminate_backend`` every replica's listener connection."""
        pids = self.listener_pids()
        with self.admin.connect() as conn:
            for pid in pids:
                conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        return pids

    def event_rows(self) -> list[tuple[int, str, str]]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.text("SELECT id, channel, name FROM events ORDER BY id")))

    def newest_event_id(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.text("SELECT coalesce(max(id), 0) FROM events")).scalar_one()


@contextmanager
def replica_database(admin_url: str = PG_ADMIN_URL) -> Iterator[ReplicaDatabase]:
    db = ReplicaDatabase(admin_url)
    db.create()
    try:
        yield db
    finally:
        db.drop()


@contextmanager
def running_replicas(
    db_url: str, count: int, data_root: Path, *extra: str, backend: str = "postgres"
) -> Iterator[list[str]]:
    """``count`` servers on ``db_url``; yields their base URLs (``http://127.0.0.1:PORT``)."""
    with ExitStack() as stack:
        bases = []
        for n in range(count):
            data_dir = data_root / f"replica{n}"
            data_dir.mkdir(parents=True, exist_ok=True)
            bases.append(
                stack.enter_context(
                    running_server(
                        data_dir,
                        f"--database={db_url}",
                        "--plugins=vivere",
                        f"--EventBus.backend={backend}",
                        *extra,
                    )
                )
            )
        yield bases


def _query(channels: list[str], user: str, last_event_id: int | None) -> str:
    params = [("channel", c) for c in channels] + [("user", user)]
    if last_event_id is not None:
        params.append(("last_event_id", str(last_event_id)))
    return urlencode(params)


class _Subscriber:
    """What both kinds of subscriber share; ``next`` is each kind's own."""

    async def next(self, timeout: float = 15.0) -> dict[str, Any]:
        raise NotImplementedError

    async def nothing_within(self, seconds: float) -> bool:
        try:
            await self.next(seconds)
        except asyncio.TimeoutError:
            return True
        return False


class SseClient(_Subscriber):
    """A Server-Sent Events subscriber on a plain socket (HTTP/1.0: no chunking)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(
        cls,
        base: str,
        channels: list[str],
        user: str = "alice",
        last_event_id: int | None = None,
    ) -> SseClient:
        """Returns once the server has registered the subscription (its ``: connected``)."""
        where = urlsplit(base)
        reader, writer = await asyncio.open_connection(where.hostname, where.port)
        header = "" if last_event_id is None else f"Last-Event-ID: {last_event_id}\r\n"
        writer.write(
            (
                f"GET /api/events/sse?{_query(channels, user, None)} HTTP/1.0\r\n"
                f"Host: {where.netloc}\r\n{header}\r\n"
            ).encode()
        )
        status = await asyncio.wait_for(reader.readline(), 10)
        if b" 200 " not in status:
            raise AssertionError(f"SSE refused: {status!r} {await reader.read(2000)!r}")
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        first = await asyncio.wait_for(reader.readuntil(b"\n\n"), 10)
        assert first == b": connected\n\n", first
        return cls(reader, writer)

    async def next(self, timeout: float = 15.0) -> dict[str, Any]:
        """The next event: its wire object (``channel, event, data, id, time``) plus ``sse_id``."""
        while True:
            frame = await asyncio.wait_for(self.reader.readuntil(b"\n\n"), timeout)
            fields: dict[str, str] = {}
            for line in frame.decode().splitlines():
                if line and not line.startswith(":"):
                    key, _, value = line.partition(": ")
                    fields[key] = value
            if "data" in fields:
                event = json.loads(fields["data"])
                event["sse_id"] = int(fields["id"]) if "id" in fields else None
                assert fields["event"] == event["event"]
                return event

    def close(self) -> None:
        self.writer.close()


class WsClient(_Subscriber):
    """A WebSocket subscriber (Tornado's client)."""

    def __init__(self, conn: websocket.WebSocketClientConnection) -> None:
        self.conn = conn

    @classmethod
    async def connect(
        cls,
        base: str,
        channels: list[str],
        user: str = "alice",
        last_event_id: int | None = None,
    ) -> WsClient:
        url = base.replace("http://", "ws://") + "/api/events/ws?"
        conn = await websocket.websocket_connect(url + _query(channels, user, last_event_id))
        return cls(conn)

    async def next(self, timeout: float = 15.0) -> dict[str, Any]:
        message = await asyncio.wait_for(self.conn.read_message(), timeout)
        if message is None:
            raise ConnectionError("WebSocket closed")
        return json.loads(message)

    def close(self) -> None:
        self.conn.close()


async def _post(base: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    request = HTTPRequest(
        f"{base}/api/vivere/{path}?user={ORGANISER}",
        method="POST",
        body=json.dumps(body),
        headers={"Content-Type": "application/json"},
    )
    response = await AsyncHTTPClient().fetch(request)
    assert response.code == 201, response.body
    return json.loads(response.body)["data"]


async def announce(base: str, message: str) -> dict[str, Any]:
    """An announcement, due now: ``announcement.created`` on :data:`ANNOUNCEMENTS`."""
    return await _post(base, "admin/announcements", {"message": message})


async def create_event(base: str, short: str, long_description: str) -> dict[str, Any]:
    """A schedule entry: ``event.created`` on :data:`SCHEDULE`."""
    body = {
        "short_description": short,
        "long_description": long_description,
        "start_time": "2030-03-18T09:00:00Z",
        "end_time": "2030-03-18T10:00:00Z",
    }
    return await _post(base, "admin/events", body)
