"""Live event channels, exercised with real clients over real sockets.

A tiny test plugin registers three channels at startup (as a real plugin
would): two anyone but ``mallory`` may read, and an admins-only one whose
check is asynchronous. WebSocket subscribers use Tornado's own client;
Server-Sent Events subscribers use a streaming HTTP client, and the tests
that need a misbehaving client (one that stops reading, or hangs up) use a
raw socket.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from datetime import datetime
from urllib.parse import urlencode

import pytest
from sqlalchemy import select
from tornado import websocket
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.iostream import IOStream, StreamClosedError
from traitlets.config import Config

from ngshare import events
from ngshare.app import build, run_hooks
from ngshare.auth import IdentityProvider
from ngshare.events import Channel
from ngshare.models import User
from ngshare.plugin import Plugin, PluginError
from tests.conftest import ADMIN, empty_all_tables
from tests.waiting import eventually

NEWS = "test.news"
ALERTS = "test.alerts"
SECRET = "com.example.secret"  # free-form names, as plugins choose them
BANNED = "mallory"
WS_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
ENVELOPE_KEYS = {"channel", "event", "data", "id", "time"}


def anyone_but_mallory(identity, ctx):
    return identity.name != BANNED


async def admins_only(identity, ctx):
    await asyncio.sleep(0)  # a check that needs I/O may be async
    return identity.is_admin


async def register_at_startup(ctx):
    ctx.events.register("eventtest", Channel(SECRET, admins_only))


def event_test_plugin():
    """Channels declared on the Plugin, and one registered by its startup hook."""
    return Plugin(
        name="eventtest",
        channels=[
            Channel(NEWS, anyone_but_mallory, "news for all"),
            Channel(ALERTS, anyone_but_mallory),
        ],
        startup=register_at_startup,
    )


@pytest.fixture
def server(make_config, io_loop):
    ctx, plugins = build(make_config())
    empty_all_tables(ctx.db.engine)
    plugins = [*plugins, event_test_plugin()]
    ctx.plugins = plugins
    io_loop.run_sync(lambda: run_hooks(ctx, plugins, "startup"))
    yield ctx
    io_loop.run_sync(lambda: run_hooks(ctx, plugins, "shutdown"))
    ctx.close()


@pytest.fixture
def bus(server, http_server):
    """The running server's event bus (and the server listening, for real clients)."""
    return server.events


# -- clients ----------------------------------------------------------------------


def query(channels, user, **params):
    pairs = [("channel", c) for c in channels]
    if user is not None:
        pairs.append(("user", user))
    return urlencode(pairs + list(params.items()))


def ws_url(base_url, *channels, user="kevin", **params):
    return base_url.replace("http", "ws", 1) + "/api/events/ws?" + query(channels, user, **params)


def sse_url(base_url, *channels, user="kevin", **params):
    return base_url + "/api/events/sse?" + query(channels, user, **params)


async def ws_connect(url, headers=None):
    return await websocket.websocket_connect(HTTPRequest(url, headers=headers or {}))


async def ws_next(conn, timeout=5.0):
    message = await asyncio.wait_for(conn.read_message(), timeout)
    assert message is not None, f"closed: {conn.close_code} {conn.close_reason}"
    return json.loads(message)


async def ws_refusal(http_client, url, headers=None):
    """Ask for an upgrade with a plain HTTP client: the refusal's status and JSON body."""
    upgrade = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Key": WS_KEY,
        "Sec-WebSocket-Version": "13",
        **(headers or {}),
    }
    url = "http" + url.removeprefix("ws") if url.startswith("ws") else url
    r = await http_client.fetch(url, headers=upgrade, raise_error=False)
    assert r.headers["Content-Type"].startswith("application/json"), r.body
    return r.code, json.loads(r.body)


class SSEStream:
    """A streaming HTTP client that hands back Server-Sent Events frames as they arrive."""

    def __init__(self, http_client, url, headers=None):
        self.chunks: asyncio.Queue[bytes] = asyncio.Queue()
        self.buffer = b""
        self.status_line = ""
        self.headers: dict[str, str] = {}
        self.response = asyncio.ensure_future(
            http_client.fetch(
                HTTPRequest(
                    url,
                    headers=headers or {},
                    streaming_callback=self.chunks.put_nowait,
                    header_callback=self._header,
                    request_timeout=60,
                ),
                raise_error=False,
            )
        )
        # a stream still open when its test ends is cut at teardown: expected, not an error
        self.response.add_done_callback(lambda f: f.cancelled() or f.exception())

    def _header(self, line: str) -> None:
        if line.startswith("HTTP/"):
            self.status_line = line.strip()
        elif ":" in line:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()

    async def frame(self, timeout=5.0) -> dict[str, str]:
        while b"\n\n" not in self.buffer:
            self.buffer += await asyncio.wait_for(self.chunks.get(), timeout)
        raw, self.buffer = self.buffer.split(b"\n\n", 1)
        fields: dict[str, str] = {}
        for line in raw.decode().split("\n"):
            name, _, value = line.partition(":")
            fields[name or "comment"] = value.removeprefix(" ")
        return fields

    async def event(self, timeout=5.0) -> dict:
        """The next event (keep-alive comments skipped), its data decoded."""
        while "comment" in (fields := await self.frame(timeout)):
            pass
        return {**fields, "data": json.loads(fields["data"])}

    async def opened(self) -> None:
        assert await self.frame() == {"comment": "connected"}
        assert self.status_line.startswith("HTTP/1.1 200"), self.status_line


async def raw_connect(port: int, request: str, rcvbuf: int | None = None) -> tuple[IOStream, str]:
    """A bare TCP client: send ``request``, read the response head, then read only on demand."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    stream = IOStream(sock)
    await stream.connect(("127.0.0.1", port))
    await stream.write(request.encode())
    head = await asyncio.wait_for(stream.read_until(b"\r\n\r\n"), 5)
    return stream, head.decode()


def raw_request(kind: str, port: int, channel: str, user: str) -> str:
    path = f"/api/events/{kind}?" + query([channel], user)
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    if kind == "ws":
        lines += [
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {WS_KEY}",
            "Sec-WebSocket-Version: 13",
        ]
    return "\r\n".join(lines) + "\r\n\r\n"


async def read_to_eof(stream: IOStream, timeout=10.0) -> int:
    """Drain a connection the server has closed; how many bytes were still in flight."""
    total = 0
    deadline = time.monotonic() + timeout
    with pytest.raises(StreamClosedError):
        while time.monotonic() < deadline:
            total += len(await asyncio.wait_for(stream.read_bytes(1 << 20, partial=True), 5))
    return total


# -- delivery -----------------------------------------------------------------------


@pytest.mark.gen_test
async def test_a_websocket_subscriber_receives_published_events(bus, base_url):
    conn = await ws_connect(ws_url(base_url, NEWS))
    first = bus.publish(NEWS, "story", {"title": "Héllo", "n": 1})
    second = bus.publish(NEWS, "story", {"title": "again", "n": 2})

    m1, m2 = await ws_next(conn), await ws_next(conn)
    assert m1 == {
        "channel": NEWS,
        "event": "story",
        "data": {"title": "Héllo", "n": 1},
        "id": first.id,
        "time": first.time,
    }
    assert (m2["id"], m2["data"]) == (second.id, {"title": "again", "n": 2})
    assert m2["id"] == m1["id"] + 1
    assert m1["time"].endswith("Z") and datetime.fromisoformat(m1["time"][:-1])
    conn.close()


@pytest.mark.gen_test
async def test_a_server_sent_events_subscriber_receives_published_events(
    bus, http_client, base_url
):
    stream = SSEStream(http_client, sse_url(base_url, NEWS))
    await stream.opened()
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert "no-cache" in stream.headers["cache-control"]

    published = bus.publish(NEWS, "story", {"title": "Héllo"})
    frame = await stream.frame()
    assert frame["id"] == str(published.id)
    assert frame["event"] == "story"
    envelope = json.loads(frame["data"])
    assert set(envelope) == ENVELOPE_KEYS
    assert envelope["data"] == {"title": "Héllo"} and envelope["channel"] == NEWS


@pytest.mark.gen_test
async def test_one_connection_listens_to_several_channels(bus, http_client, base_url):
    conn = await ws_connect(ws_url(base_url, NEWS, ALERTS, NEWS))  # a repeat is harmless
    stream = SSEStream(http_client, sse_url(base_url, NEWS, ALERTS))
    await stream.opened()
    assert bus.subscriber_count(NEWS) == bus.subscriber_count(ALERTS) == 2

    bus.publish(NEWS, "a", {})
    bus.publish(SECRET, "not-subscribed", {})
    bus.publish(ALERTS, "b", {})
    bus.publish(NEWS, "c", {})

    over_ws = [await ws_next(conn) for _ in range(3)]
    over_sse = [(await stream.event())["data"] for _ in range(3)]
    for received in (over_ws, over_sse):
        assert [(m["channel"], m["event"]) for m in received] == [
            (NEWS, "a"),
            (ALERTS, "b"),
            (NEWS, "c"),
        ]
    conn.close()


@pytest.mark.gen_test
async def test_fan_out_shares_one_serialised_event(bus):
    a, b = bus.subscribe([NEWS]), bus.subscribe([NEWS, ALERTS])
    published = bus.publish(NEWS, "story", {"n": 1})
    (got_a,), (got_b,) = await a.next_batch(), await b.next_batch()
    assert got_a is published and got_b is published  # built once, shared by all
    assert json.loads(published.wire)["data"] == published.data == {"n": 1}
    assert published.sse.endswith(b"data: " + published.wire + b"\n\n")
    a.close()
    b.close()
    assert bus.subscriber_count() == 0


@pytest.mark.gen_test
async def test_in_process_subscribers_can_iterate(bus):
    subscription = bus.subscribe([ALERTS])
    received = []

    async def listen():
        async for event in subscription:
            received.append(event.data["n"])

    listener = asyncio.ensure_future(listen())
    for n in range(3):
        bus.publish(ALERTS, "tick", {"n": n})
    await eventually(lambda: len(received) == 3)
    subscription.close()
    await asyncio.wait_for(listener, 1)  # iteration ends when the subscription does
    assert received == [0, 1, 2]


# -- publishing after commit ------------------------------------------------------


def user_names(server):
    return set(server.db.run_sync(lambda s: list(s.scalars(select(User.name)))))


@pytest.mark.gen_test
async def test_publish_after_commit_waits_for_the_commit(server, bus, base_url):
    conn = await ws_connect(ws_url(base_url, NEWS))
    release = threading.Event()

    def add_user(session):
        session.add(User(name="eve"))
        session.flush()
        bus.publish_after_commit(session, NEWS, "user.added", {"name": "eve"})
        assert release.wait(5)  # hold the transaction open

    work = asyncio.ensure_future(server.db.run(add_user))
    reading = conn.read_message()
    done, _ = await asyncio.wait([reading], timeout=0.3)
    assert not done, "an event was delivered before its transaction committed"

    release.set()
    await work
    assert bus.last_id >= bus.first_id  # already published when db.run returned
    message = json.loads(await asyncio.wait_for(reading, 5))
    assert (message["event"], message["data"]) == ("user.added", {"name": "eve"})
    assert "eve" in user_names(server)  # what the event announces is visible
    conn.close()


@pytest.mark.gen_test
async def test_a_rolled_back_transaction_publishes_nothing(server, bus, base_url):
    conn = await ws_connect(ws_url(base_url, NEWS))

    def add_user_then_fail(session):
        session.add(User(name="ghost"))
        bus.publish_after_commit(session, NEWS, "user.added", {"name": "ghost"})
        raise ValueError("refused")

    with pytest.raises(ValueError):
        await server.db.run(add_user_then_fail)
    bus.publish(NEWS, "marker", {})

    assert (await ws_next(conn))["event"] == "marker"  # nothing came before it
    assert "ghost" not in user_names(server)
    conn.close()


@pytest.mark.gen_test
async def test_savepoints_that_roll_back_drop_their_events(server, bus, base_url):
    conn = await ws_connect(ws_url(base_url, NEWS))

    def work(session):
        bus.publish_after_commit(session, NEWS, "outer", {})
        try:
            with session.begin_nested():
                bus.publish_after_commit(session, NEWS, "in-rolled-back-savepoint", {})
                raise RuntimeError
        except RuntimeError:
            pass
        with session.begin_nested():
            bus.publish_after_commit(session, NEWS, "in-released-savepoint", {})

    def released_savepoint_then_outer_rollback(session):
        with session.begin_nested():
            bus.publish_after_commit(session, NEWS, "released-but-outer-rolled-back", {})
        raise ValueError

    await server.db.run(work)
    with pytest.raises(ValueError):
        await server.db.run(released_savepoint_then_outer_rollback)
    bus.publish(NEWS, "marker", {})

    received = [(await ws_next(conn))["event"] for _ in range(3)]
    assert received == ["outer", "in-released-savepoint", "marker"]
    conn.close()


@pytest.mark.gen_test
async def test_a_session_closed_without_commit_forgets_its_events(server, bus):
    subscription = bus.subscribe([NEWS])

    def abandon_then_commit_later():
        session = server.db.session()
        session.begin()
        bus.publish_after_commit(session, NEWS, "abandoned", {})
        session.close()  # no commit
        session.begin()
        bus.publish_after_commit(session, NEWS, "committed", {})
        session.commit()
        session.close()

    await asyncio.get_running_loop().run_in_executor(None, abandon_then_commit_later)
    batch = await asyncio.wait_for(subscription.next_batch(), 5)
    assert [e.name for e in batch] == ["committed"]
    subscription.close()


# -- refusals -----------------------------------------------------------------------


@pytest.mark.gen_test
async def test_anonymous_subscribers_get_a_json_401(http_client, base_url):
    r = await http_client.fetch(sse_url(base_url, NEWS, user=None), raise_error=False)
    assert r.code == 401
    assert json.loads(r.body) == {"success": False, "message": "Authentication required"}

    url = ws_url(base_url, NEWS, user=None)
    assert await ws_refusal(http_client, url) == (
        401,
        {"success": False, "message": "Authentication required"},
    )
    with pytest.raises(HTTPClientError) as refused:
        await ws_connect(url)
    assert refused.value.code == 401


@pytest.mark.gen_test
async def test_an_unknown_channel_is_a_json_404(http_client, base_url, bus):
    r = await http_client.fetch(sse_url(base_url, NEWS, "no.such"), raise_error=False)
    assert (r.code, json.loads(r.body)) == (
        404,
        {"success": False, "message": "Unknown channel: no.such"},
    )
    assert await ws_refusal(http_client, ws_url(base_url, "no.such")) == (
        404,
        {"success": False, "message": "Unknown channel: no.such"},
    )
    assert bus.subscriber_count() == 0


@pytest.mark.gen_test
@pytest.mark.parametrize(
    ("user", "channels"),
    [
        (BANNED, [NEWS]),  # a plain check
        ("kevin", [ALERTS, SECRET]),  # an async one: one forbidden channel refuses them all
    ],
)
async def test_a_channel_the_caller_may_not_read_is_a_json_403(
    http_client, base_url, bus, user, channels
):
    expected = {
        "success": False,
        "message": f"Permission denied: cannot read channel {channels[-1]}",
    }
    r = await http_client.fetch(sse_url(base_url, *channels, user=user), raise_error=False)
    assert (r.code, json.loads(r.body)) == (403, expected)
    assert await ws_refusal(http_client, ws_url(base_url, *channels, user=user)) == (
        403,
        expected,
    )
    assert bus.subscriber_count() == 0


@pytest.mark.gen_test
async def test_an_admin_may_read_the_admin_channel(bus, base_url):
    conn = await ws_connect(ws_url(base_url, SECRET, user=ADMIN))
    bus.publish(SECRET, "classified", {"level": 3})
    assert (await ws_next(conn))["data"] == {"level": 3}
    conn.close()


@pytest.mark.gen_test
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "Name at least one channel: ?channel=NAME"),
        ({"channel": NEWS, "last_event_id": "yesterday"}, "Last-Event-ID must be an integer"),
    ],
)
async def test_bad_subscription_requests_are_a_json_400(http_client, base_url, params, message):
    q = urlencode({"user": "kevin", **params})
    r = await http_client.fetch(base_url + "/api/events/sse?" + q, raise_error=False)
    assert (r.code, json.loads(r.body)) == (400, {"success": False, "message": message})
    code, body = await ws_refusal(http_client, base_url + "/api/events/ws?" + q)
    assert (code, body) == (400, {"success": False, "message": message})


@pytest.mark.gen_test
async def test_a_plain_get_of_the_websocket_url_is_a_json_400(http_client, base_url):
    r = await http_client.fetch(base_url + "/api/events/ws?channel=x&user=kevin", raise_error=False)
    assert r.code == 400
    assert json.loads(r.body)["message"].startswith("This URL speaks WebSocket only")


# -- channels and publishing rules -------------------------------------------------


def test_a_channel_name_is_refused_when_another_plugin_has_it(bus):
    with pytest.raises(PluginError) as refused:
        bus.register("rival", Channel(NEWS, anyone_but_mallory))
    message = str(refused.value)
    assert "'rival'" in message and "'eventtest'" in message and NEWS in message
    assert bus.channels[NEWS][0] == "eventtest"  # the first owner keeps it


@pytest.mark.parametrize("name", ["", "has space", "line\nbreak"])
def test_malformed_channel_names_are_refused(bus, name):
    with pytest.raises(PluginError, match="rival"):
        bus.register("rival", Channel(name, anyone_but_mallory))


@pytest.mark.gen_test
async def test_publishing_refuses_what_subscribers_could_not_use(bus):
    with pytest.raises(LookupError, match="no.such"):
        bus.publish("no.such", "x", {})
    with pytest.raises(ValueError, match="reserved"):
        bus.publish(NEWS, "ngshare.gap", {})
    with pytest.raises(ValueError, match="one line"):
        bus.publish(NEWS, "two\nlines", {})
    with pytest.raises(TypeError, match="dict"):
        bus.publish(NEWS, "x", ["not", "an", "object"])
    with pytest.raises(TypeError):
        bus.publish(NEWS, "x", {"when": datetime.now()})
    with pytest.raises(RuntimeError, match="publish_after_commit"):
        await asyncio.get_running_loop().run_in_executor(None, bus.publish, NEWS, "x", {})
    assert bus.last_id == bus.first_id - 1  # nothing was published


@pytest.mark.gen_test
async def test_publish_after_commit_refuses_an_unknown_channel_inside_the_transaction(server, bus):
    def add_user_and_announce(session):
        session.add(User(name="oops"))
        bus.publish_after_commit(session, "no.such", "user.added", {})

    with pytest.raises(LookupError):
        await server.db.run(add_user_and_announce)
    assert "oops" not in user_names(server)  # the mistake rolled the transaction back


@pytest.mark.gen_test
async def test_the_bus_is_configured_like_the_rest_of_the_server(make_config):
    config = make_config()
    config.update_config(Config({"EventBus": {"max_queued_events": 3, "ws_ping_seconds": 0.0}}))
    bus = events.EventBus(parent=config)  # as start(ctx) makes it
    assert (bus.max_queued_events, bus.ws_ping_seconds) == (3, 0.0)
    assert bus.sse_keepalive_seconds == 25.0  # the default


# -- resuming -----------------------------------------------------------------------


@pytest.mark.gen_test
async def test_last_event_id_replays_what_the_client_missed(bus, http_client, base_url):
    ids = {}
    for name, channel in [
        ("n1", NEWS),
        ("a1", ALERTS),
        ("n2", NEWS),
        ("s1", SECRET),
        ("a2", ALERTS),
    ]:
        ids[name] = bus.publish(channel, name, {}).id

    stream = SSEStream(
        http_client, sse_url(base_url, NEWS, ALERTS), headers={"Last-Event-ID": str(ids["a1"])}
    )
    await stream.opened()
    replayed = [await stream.event() for _ in range(2)]
    assert [(e["event"], e["id"]) for e in replayed] == [
        ("n2", str(ids["n2"])),
        ("a2", str(ids["a2"])),
    ]
    bus.publish(NEWS, "live", {})
    assert (await stream.event())["event"] == "live"

    conn = await ws_connect(ws_url(base_url, NEWS, last_event_id=ids["n1"]))
    assert [(await ws_next(conn))["event"] for _ in range(2)] == ["n2", "live"]
    conn.close()


@pytest.mark.gen_test
async def test_a_client_that_missed_more_than_is_kept_is_told_of_the_gap(bus, base_url):
    bus.replay_buffer_size = 3  # applies to channels' histories created from now on
    ids = [bus.publish(ALERTS, f"e{n}", {}).id for n in range(6)]

    conn = await ws_connect(ws_url(base_url, ALERTS, last_event_id=ids[0]))
    gap = await ws_next(conn)
    assert (gap["channel"], gap["event"], gap["id"]) == (ALERTS, "ngshare.gap", None)
    assert gap["data"] == {"after": ids[0]}
    assert [(await ws_next(conn))["event"] for _ in range(3)] == ["e3", "e4", "e5"]
    conn.close()

    conn = await ws_connect(ws_url(base_url, ALERTS, last_event_id=ids[2]))  # nothing lost
    assert (await ws_next(conn))["event"] == "e3"
    conn.close()

    conn = await ws_connect(ws_url(base_url, ALERTS, last_event_id=5))  # another server's id
    assert (await ws_next(conn))["event"] == "ngshare.gap"
    bus.publish(ALERTS, "next", {})
    assert (await ws_next(conn))["event"] == "next"  # no stale replay
    conn.close()


# -- liveness -----------------------------------------------------------------------


@pytest.mark.gen_test
async def test_idle_sse_streams_get_keep_alive_comments(bus, http_client, base_url):
    bus.sse_keepalive_seconds = 0.1
    stream = SSEStream(http_client, sse_url(base_url, NEWS))
    await stream.opened()
    assert await stream.frame(timeout=2) == {"comment": "keep-alive"}
    assert await stream.frame(timeout=2) == {"comment": "keep-alive"}


@pytest.mark.gen_test
async def test_the_server_pings_websocket_clients(bus, http_port):
    bus.ws_ping_seconds = 0.1
    stream, head = await raw_connect(http_port, raw_request("ws", http_port, NEWS, "kevin"))
    assert head.startswith("HTTP/1.1 101")
    frame = await asyncio.wait_for(stream.read_bytes(2), 2)
    assert frame[0] == 0x89  # FIN + ping
    stream.close()


@pytest.mark.gen_test
@pytest.mark.parametrize("kind", ["ws", "sse"])
async def test_a_client_that_hangs_up_is_unsubscribed(bus, http_port, kind):
    stream, head = await raw_connect(http_port, raw_request(kind, http_port, NEWS, "kevin"))
    assert head.split()[1] == ("101" if kind == "ws" else "200")
    await eventually(lambda: bus.subscriber_count(NEWS) == 1)
    stream.close()
    await eventually(lambda: bus.subscriber_count(NEWS) == 0)
    assert not bus._all  # no connection left for shutdown to wait on


@pytest.mark.gen_test(timeout=60)
@pytest.mark.parametrize("kind", ["ws", "sse"])
async def test_a_subscriber_that_stops_reading_is_disconnected(bus, base_url, http_port, kind):
    bus.max_queued_events = 8
    fast = await ws_connect(ws_url(base_url, NEWS, user="fast"))
    slow, head = await raw_connect(
        http_port, raw_request(kind, http_port, NEWS, "slow"), rcvbuf=4096
    )  # ... and never reads again
    assert head.split()[1] == ("101" if kind == "ws" else "200")
    await eventually(lambda: bus.subscriber_count(NEWS) == 2)

    pad = "x" * 65536
    published = 0
    while bus.subscriber_count(NEWS) == 2 and published < 2000:
        bus.publish(NEWS, "bulk", {"n": published, "pad": pad})
        published += 1
        await asyncio.sleep(0.001)

    assert bus.subscriber_count(NEWS) == 1, "the slow subscriber was never dropped"
    assert await read_to_eof(slow) > 0  # the server hung up on it
    # the fast subscriber was not held back and missed nothing
    received = [(await ws_next(fast))["data"]["n"] for _ in range(published)]
    assert received == list(range(published))
    fast.close()


# -- shutdown -----------------------------------------------------------------------


@pytest.mark.gen_test
async def test_shutdown_delivers_what_is_queued_then_closes_every_connection(
    server, bus, http_client, base_url
):
    conn = await ws_connect(ws_url(base_url, NEWS))
    stream = SSEStream(http_client, sse_url(base_url, NEWS))
    await stream.opened()
    bus.publish(NEWS, "last-words", {})

    started = time.monotonic()
    await events.stop(server)
    assert time.monotonic() - started < 2
    assert bus.subscriber_count() == 0 and not bus._all

    assert (await ws_next(conn))["event"] == "last-words"
    assert await asyncio.wait_for(conn.read_message(), 5) is None
    assert (conn.close_code, conn.close_reason) == (1001, "server shutting down")

    assert (await stream.event())["event"] == "last-words"
    response = await asyncio.wait_for(stream.response, 5)
    assert response.code == 200  # the stream ended normally

    assert bus.publish(NEWS, "too-late", {}) is None
    r = await http_client.fetch(sse_url(base_url, NEWS), raise_error=False)
    assert (r.code, json.loads(r.body)["message"]) == (503, "The server is shutting down")
    assert (await ws_refusal(http_client, ws_url(base_url, NEWS)))[0] == 503


# -- origins ------------------------------------------------------------------------


class CookieOrTokenIdentity(IdentityProvider):
    """Like the hub's: a token in Authorization, else a (browser) cookie."""

    async def identify(self, handler):
        token = handler.request.headers.get("Authorization", "").partition(" ")[2]
        if token:
            handler._token_authenticated = True  # the flag HubIdentity sets
            return self.make_identity(token)
        name = handler.get_cookie("who")
        return self.make_identity(name) if name else None


@pytest.mark.gen_test
async def test_websocket_origins_are_checked_unless_a_token_was_presented(
    server, bus, http_client, base_url
):
    server.identity = CookieOrTokenIdentity()
    url = ws_url(base_url, NEWS, user=None)
    evil = {"Origin": "http://evil.example"}
    cookie = {"Cookie": "who=kevin"}

    code, body = await ws_refusal(http_client, url, {**cookie, **evil})
    assert (code, body["message"]) == (403, events.ERR_CROSS_ORIGIN)
    assert bus.subscriber_count() == 0

    same_origin = await ws_connect(url, {**cookie, "Origin": base_url})
    token_elsewhere = await ws_connect(url, {"Authorization": "token kevin", **evil})
    bus.publish(NEWS, "hello", {})
    assert (await ws_next(same_origin))["event"] == "hello"
    assert (await ws_next(token_elsewhere))["event"] == "hello"
    same_origin.close()
    token_elsewhere.close()


@pytest.mark.gen_test
async def test_dev_mode_names_are_not_tokens_for_cross_origin_pages(bus, http_client, base_url):
    evil = {"Origin": "http://evil.example"}
    code, _ = await ws_refusal(http_client, ws_url(base_url, NEWS), evil)
    assert code == 403
    bus.allowed_origins = ["http://evil.example"]  # ... unless configured
    conn = await ws_connect(ws_url(base_url, NEWS), evil)
    bus.publish(NEWS, "hello", {})
    assert (await ws_next(conn))["event"] == "hello"
    conn.close()


@pytest.mark.gen_test
async def test_a_core_api_token_works_from_any_origin(server, bus, http_client, base_url):
    issued = await server.tokens.issue("kevin", issuer="eventtest")
    url = ws_url(base_url, NEWS, user=None)
    headers = {"Authorization": f"Bearer {issued.secret}", "Origin": "http://app.example"}
    conn = await ws_connect(url, headers)  # the real identity stack: core token first
    bus.publish(NEWS, "hello", {})
    assert (await ws_next(conn))["event"] == "hello"
    conn.close()

    headers["Authorization"] = "Bearer not-a-real-token"
    assert (await ws_refusal(http_client, url, headers))[0] == 401
