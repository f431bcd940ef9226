"""The event bus's ``postgres`` backend in one process, on the test run's database.

Across real replica processes: tests/events_replicas/. Here: the start-up
refusal on SQLite, delivery through the listener on the run's PostgreSQL
schema (NOTIFY channels are per schema, so parallel test workers do not hear
each other), replay and gap notices from the table, and pruning.
"""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta

import pytest
import sqlalchemy as sa
from traitlets.config import Config

from ngshare.app import build, run_hooks
from ngshare.events import Channel
from ngshare.events.models import EventRecord
from ngshare.events.postgres import notify_channel_for, prune
from ngshare.lifecycle import StartupError
from ngshare.models import utcnow
from ngshare.plugin import Plugin
from tests.conftest import empty_all_tables

NEWS = "test.pgnews"
ON_POSTGRES = os.environ.get("NGSHARE_TEST_DB", "sqlite") == "postgresql"
needs_postgres = pytest.mark.skipif(not ON_POSTGRES, reason="the postgres backend needs PostgreSQL")


def news_plugin() -> Plugin:
    return Plugin(name="pgnews", channels=[Channel(NEWS, lambda identity, ctx: True)])


def postgres_backend(make_config, **bus):
    config = make_config()
    config.update_config(Config({"EventBus": {"backend": "postgres", **bus}}))
    return config


@pytest.fixture
def pg_server(make_config, io_loop):
    ctx, plugins = build(postgres_backend(make_config))
    empty_all_tables(ctx.db.engine)
    plugins = [*plugins, news_plugin()]
    ctx.plugins = plugins
    io_loop.run_sync(lambda: run_hooks(ctx, plugins, "startup"))
    yield ctx
    io_loop.run_sync(lambda: run_hooks(ctx, plugins, "shutdown"))
    ctx.close()


def publish(session, bus, n):
    bus.publish_after_commit(session, NEWS, "item", {"n": n})


@pytest.mark.skipif(ON_POSTGRES, reason="the refusal is for SQLite")
def test_the_postgres_backend_is_refused_on_sqlite(make_config, io_loop):
    ctx, plugins = build(postgres_backend(make_config))
    try:
        with pytest.raises(StartupError, match="needs a PostgreSQL database"):
            io_loop.run_sync(lambda: run_hooks(ctx, plugins, "startup"))
    finally:
        ctx.close()


@needs_postgres
@pytest.mark.gen_test
async def test_committed_events_come_back_through_the_listener_in_order(pg_server):
    bus = pg_server.events
    assert bus.relay is not None
    schema = await pg_server.db.run(lambda s: s.scalar(sa.text("SELECT current_schema()")))
    assert bus.relay.notify_channel == notify_channel_for(schema) != "ngshare_events"
    sub = bus.subscribe([NEWS])
    for n in range(5):
        await pg_server.db.run(publish, bus, n)
    got = []
    while len(got) < 5:
        batch = await asyncio.wait_for(sub.next_batch(), 10)
        got += batch
    assert [e.data["n"] for e in got] == list(range(5))
    ids = [e.id for e in got]
    assert ids == sorted(ids) and bus.relay.watermark == ids[-1]
    # publish() from the IOLoop goes through the table too, after the ones before it
    assert bus.publish(NEWS, "direct", {"n": 5}) is None
    assert bus.publish(NEWS, "direct", {"n": 6}) is None
    late = []
    while len(late) < 2:
        late += await asyncio.wait_for(sub.next_batch(), 10)
    assert [e.data["n"] for e in late] == [5, 6] and late[0].id > ids[-1]


@needs_postgres
@pytest.mark.gen_test
async def test_replay_reads_the_table_and_pruned_events_give_a_gap(pg_server):
    bus = pg_server.events
    sub = bus.subscribe([NEWS])
    for n in range(4):
        await pg_server.db.run(publish, bus, n)
    seen = []
    while len(seen) < 4:
        seen += await asyncio.wait_for(sub.next_batch(), 10)
    sub.close()

    resumed = await bus.subscribe_from([NEWS], seen[1].id)
    assert [e.id for e in await resumed.next_batch(1)] == [seen[2].id, seen[3].id]
    resumed.close()

    def age_first_three(session):
        session.execute(
            sa.update(EventRecord)
            .where(EventRecord.id <= seen[2].id)
            .values(created=utcnow() - timedelta(hours=2))
        )

    await pg_server.db.run(age_first_three)
    assert await pg_server.db.run(prune, 3600) == 3
    assert await pg_server.db.run(prune, 3600) == 0
    gapped = await bus.subscribe_from([NEWS], seen[0].id)
    batch = await gapped.next_batch(1)
    assert batch[0].name == "ngshare.gap" and batch[0].id is None
    assert [e.id for e in batch[1:]] == [seen[3].id]  # what is still kept follows the notice
    gapped.close()


def test_the_notify_payload_is_the_wire_json_with_the_database_id():
    """The id goes between the two parts, even when the data holds an ``"id":0,`` of its own."""
    from ngshare.events.bus import _make_event, _Pending
    from ngshare.events.postgres import wire_parts

    pending = _Pending(NEWS, "item", '{"id":0,"nested":{"id":0,"x":"\\"id\\":0,"}}')
    head, tail = wire_parts(pending, "2026-12-06T12:00:00.000Z")
    expected = _make_event(NEWS, "item", 12345, pending.data_json, "2026-12-06T12:00:00.000Z")
    assert head + b"12345" + tail == expected.wire


@needs_postgres
def test_every_replica_prunes_old_events_on_its_own(make_config, io_loop):
    """With retention_seconds=5 the relay prunes about every second (bounded wait: 10 s)."""
    ctx, plugins = build(postgres_backend(make_config, retention_seconds=5.0))
    empty_all_tables(ctx.db.engine)
    plugins = [*plugins, news_plugin()]
    ctx.plugins = plugins
    io_loop.run_sync(lambda: run_hooks(ctx, plugins, "startup"))
    try:

        async def scenario():
            for n in range(3):
                await ctx.db.run(publish, ctx.events, n)

            def age_two(session):
                oldest = session.scalars(
                    sa.select(EventRecord.id).order_by(EventRecord.id).limit(2)
                ).all()
                session.execute(
                    sa.update(EventRecord)
                    .where(EventRecord.id.in_(oldest))
                    .values(created=utcnow() - timedelta(hours=1))
                )

            await ctx.db.run(age_two)
            deadline = asyncio.get_running_loop().time() + 10
            while asyncio.get_running_loop().time() < deadline:
                left = await ctx.db.run(lambda s: s.scalars(sa.select(EventRecord.data)).all())
                if len(left) == 1:
                    return left
                await asyncio.sleep(0.2)
            return left

        left = io_loop.run_sync(scenario, timeout=30)
        assert left == ['{"n":2}']
    finally:
        io_loop.run_sync(lambda: run_hooks(ctx, plugins, "shutdown"))
        ctx.close()
