"""Live channels across three replicas on one PostgreSQL database (backend `postgres`).

Real ``vngshare`` processes with Vivere, real subscribers (SSE on a socket,
WebSocket with Tornado's client), events published through the replicas'
HTTP API on Vivere's announcement and schedule channels.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from traitlets.config import Config

from ngshare.app import build, run_hooks
from ngshare.config import VNgShare
from ngshare.events.postgres import MAX_NOTIFY_BYTES
from tests.events_replicas.replicas import (
    ANNOUNCEMENTS,
    SCHEDULE,
    SseClient,
    WsClient,
    announce,
    create_event,
)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 120))


def messages(events):
    return [e["data"]["message"] for e in events]


async def receive(client, count):
    return [await client.next() for _ in range(count)]


def test_sse_subscriber_on_a_receives_what_b_and_c_publish_in_order(replicas, replica_db):
    a, b, c = replicas

    async def scenario():
        sub = await SseClient.connect(a, [ANNOUNCEMENTS])
        sent = []
        for n in range(6):
            sent.append(f"sse {n}")
            await announce(b if n % 2 == 0 else c, sent[-1])
        got = await receive(sub, 6)
        quiet = await sub.nothing_within(0.5)
        sub.close()
        return sent, got, quiet

    sent, got, quiet = run(scenario())
    assert messages(got) == sent
    assert {e["event"] for e in got} == {"announcement.created"}
    ids = [e["id"] for e in got]
    assert ids == sorted(ids) and len(set(ids)) == 6
    assert [e["sse_id"] for e in got] == ids
    assert quiet, "an event arrived twice"
    stored = [row[0] for row in replica_db.event_rows() if row[1] == ANNOUNCEMENTS]
    assert ids == stored[-6:]


def test_websocket_subscribers_on_every_replica_get_one_order(replicas, replica_db):
    """Concurrent publishers on B and C: every replica delivers the same ids in the same order."""
    a, b, c = replicas

    async def scenario():
        start = replica_db.newest_event_id()  # resume from here: nothing can slip by
        ws_a = await WsClient.connect(a, [ANNOUNCEMENTS], last_event_id=start)
        ws_b = await WsClient.connect(b, [ANNOUNCEMENTS], last_event_id=start)
        sse_c = await SseClient.connect(c, [ANNOUNCEMENTS], last_event_id=start)
        sent = [f"ws {n}" for n in range(12)]
        await asyncio.gather(*(announce(b if n % 2 else c, m) for n, m in enumerate(sent)))
        got = [await receive(client, 12) for client in (ws_a, ws_b, sse_c)]
        quiet = await ws_a.nothing_within(0.5)
        for client in (ws_a, ws_b, sse_c):
            client.close()
        return sent, got, quiet

    sent, (on_a, on_b, on_c), quiet = run(scenario())
    assert sorted(messages(on_a)) == sorted(sent)
    ids = [e["id"] for e in on_a]
    assert ids == sorted(ids) and len(set(ids)) == 12
    assert [e["id"] for e in on_b] == ids
    assert [e["id"] for e in on_c] == ids
    assert messages(on_b) == messages(on_a) == messages(on_c)
    assert quiet
    # the order delivered is the database's (commit) order
    stored = [row[0] for row in replica_db.event_rows() if row[1] == ANNOUNCEMENTS]
    assert ids == stored[-12:]


def test_a_payload_too_big_for_notify_crosses(replicas):
    a, b, c = replicas
    description = "é" * 3000 + "x" * 3000  # 9000 bytes in UTF-8

    async def scenario():
        sse_a = await SseClient.connect(a, [SCHEDULE])
        ws_c = await WsClient.connect(c, [SCHEDULE])
        await asyncio.sleep(0.2)  # the WebSocket subscribes just after its handshake
        small = await create_event(b, "small", "short")
        big = await create_event(b, "big", description)
        after = await create_event(c, "after", "short again")
        got = [await receive(client, 3) for client in (sse_a, ws_c)]
        sse_a.close()
        ws_c.close()
        return [small, big, after], got

    created, got = run(scenario())
    for events in got:
        assert [e["event"] for e in events] == ["event.created"] * 3
        assert [e["data"] for e in events] == created
        assert events[1]["data"]["long_description"] == description
        assert len(json.dumps(events[1], ensure_ascii=False).encode()) > MAX_NOTIFY_BYTES
        ids = [e["id"] for e in events]
        assert ids == sorted(ids)


def test_reconnecting_to_another_replica_replays_what_was_missed(replicas):
    a, b, c = replicas

    async def scenario():
        first = await SseClient.connect(a, [ANNOUNCEMENTS])
        await announce(b, "seen")
        seen = await first.next()
        first.close()
        await announce(c, "missed 1")
        await announce(a, "missed 2")
        # back on another replica, as a load balancer may send it
        again = await SseClient.connect(c, [ANNOUNCEMENTS], last_event_id=seen["id"])
        replayed = await receive(again, 2)
        await announce(b, "live")
        live = await again.next()
        quiet = await again.nothing_within(0.5)
        again.close()
        # a WebSocket resumes the same way (last_event_id), on a third replica
        ws = await WsClient.connect(b, [ANNOUNCEMENTS], last_event_id=seen["id"])
        ws_replayed = await receive(ws, 3)
        ws.close()
        return seen, replayed, live, quiet, ws_replayed

    seen, replayed, live, quiet, ws_replayed = run(scenario())
    assert seen["data"]["message"] == "seen"
    assert messages(replayed) == ["missed 1", "missed 2"]
    assert [e["sse_id"] for e in replayed] == [e["id"] for e in replayed]
    assert seen["id"] < replayed[0]["id"] < replayed[1]["id"] < live["id"]
    assert live["data"]["message"] == "live"
    assert quiet, "a replayed event came again live"
    assert messages(ws_replayed) == ["missed 1", "missed 2", "live"]


def test_an_id_this_database_never_issued_gets_a_gap_notice(replicas, replica_db):
    a = replicas[0]

    async def scenario():
        sub = await SseClient.connect(
            a, [ANNOUNCEMENTS], last_event_id=replica_db.newest_event_id() + 10**9
        )
        notice = await sub.next()
        sub.close()
        return notice

    notice = run(scenario())
    assert notice["event"] == "ngshare.gap" and notice["id"] is None


def test_a_killed_listener_reconnects_and_delivers_what_it_missed_once(replicas, replica_db):
    a, b, c = replicas
    before = replica_db.listener_pids()
    assert len(before) == 3  # one listener per replica

    async def scenario():
        sub = await SseClient.connect(a, [ANNOUNCEMENTS])
        replica_db.allow_login(False)  # the listeners cannot come back yet
        try:
            assert sorted(replica_db.kill_listeners()) == before
            for n in range(3):
                await announce(b, f"while down {n}")  # B's pool connections are still open
            silent = await sub.nothing_within(1.0)
        finally:
            replica_db.allow_login(True)
        caught_up = await receive(sub, 3)
        await announce(c, "after")
        after = await sub.next()
        quiet = await sub.nothing_within(1.0)
        sub.close()
        return silent, caught_up, after, quiet

    silent, caught_up, after, quiet = run(scenario())
    assert silent, "delivered without a listener?"
    assert messages(caught_up) == [f"while down {n}" for n in range(3)]
    ids = [e["id"] for e in caught_up] + [after["id"]]
    assert ids == sorted(ids)
    assert after["data"]["message"] == "after"
    assert quiet, "an event was delivered twice"
    deadline = time.monotonic() + 15
    while len(now := replica_db.listener_pids()) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(now) == 3 and not set(now) & set(before)


def test_a_rolled_back_transaction_publishes_nothing(replicas, replica_db, tmp_path):
    """A fourth (in-process) replica publishes from transactions that roll back, then commits."""
    a = replicas[0]

    def rolled_back(session, bus):
        bus.publish_after_commit(session, ANNOUNCEMENTS, "test.rolled-back", {"n": 1})
        raise RuntimeError("rolled back")

    def savepoint_then_commit(session, bus):
        try:
            with session.begin_nested():
                bus.publish_after_commit(session, ANNOUNCEMENTS, "test.rolled-back", {"n": 2})
                raise ValueError("savepoint undone")
        except ValueError:
            pass
        bus.publish_after_commit(session, ANNOUNCEMENTS, "test.committed", {"n": 3})

    async def scenario():
        config = VNgShare(
            config=Config({"EventBus": {"backend": "postgres"}}),
            db_url=replica_db.url,
            storage_path=str(tmp_path / "files"),
            data_dir=str(tmp_path / "data"),
            admins=["root"],
            config_file="",
            plugins=["vivere"],
        )
        ctx, plugins = build(config)
        await run_hooks(ctx, plugins, "startup")
        try:
            assert ctx.events.relay is not None
            sub = await SseClient.connect(a, [ANNOUNCEMENTS])
            newest = replica_db.newest_event_id()
            with pytest.raises(RuntimeError):
                await ctx.db.run(rolled_back, ctx.events)
            await ctx.db.run(savepoint_then_commit, ctx.events)
            got = await sub.next()
            quiet = await sub.nothing_within(0.5)
            sub.close()
        finally:
            await run_hooks(ctx, plugins, "shutdown")
            ctx.close()
        return newest, got, quiet

    newest, got, quiet = run(scenario())
    assert (got["event"], got["data"]) == ("test.committed", {"n": 3})
    assert quiet
    rows = [row for row in replica_db.event_rows() if row[0] > newest]
    assert [(row[1], row[2]) for row in rows] == [(ANNOUNCEMENTS, "test.committed")]
