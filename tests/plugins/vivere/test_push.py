"""Announcements by Web Push: browsers subscribe through Vivere and get each announcement.

End to end on loopback: the core's Web Push provider sends to the push
service stand-in (:mod:`tests.standins.webpush`), which verifies the VAPID
JWT and decrypts every payload with the subscription's private key.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from ngshare_vivere import jobs, push
from ngshare_vivere.clock import Clock, iso
from ngshare_vivere.config import Vivere
from traitlets.config import Config

from ngshare.app import build, run_hooks
from tests.conftest import empty_all_tables
from tests.core.test_notifications import eventually
from tests.plugins.vivere.conftest import ORGANISER, empty_plugin_tables
from tests.standins.webpush import PushStandIn, listen

ROUTE = "announcements/push-subscription"


@pytest.fixture
def push_service(io_loop):
    standin = PushStandIn()
    server, _port = listen(standin)
    yield standin
    server.stop()


@pytest.fixture
def server(make_config, io_loop, clock, push_service, tmp_path):
    config = make_config(plugins=["vivere"])
    config.update_config(
        Config(
            {
                "NotificationService": {
                    "channels": {"webpush": "webpush"},
                    "poll_interval_seconds": 0.05,
                    "retry_base_seconds": 0.05,
                },
                "WebPushProvider": {
                    "vapid_subject": "mailto:organisers@example.org",
                    "vapid_key_file": str(tmp_path / "vapid.pem"),
                },
            }
        )
    )
    ctx, plugins = build(config)
    empty_plugin_tables(ctx.db.engine)
    empty_all_tables(ctx.db.engine)
    ctx.state(Vivere).organisers = [ORGANISER]
    io_loop.run_sync(lambda: run_hooks(ctx, plugins, "startup"))
    ctx.set_state(clock, Clock)
    push_service.vapid_public_key = ctx.notifications.vapid.public_key
    yield ctx
    io_loop.run_sync(lambda: run_hooks(ctx, plugins, "shutdown"))
    ctx.close()


async def announce(vv, message: str, **fields) -> dict:
    reply = await vv.call(
        "POST", "admin/announcements", user=ORGANISER, json_body={"message": message, **fields}
    )
    assert reply.status == 201, reply.body
    return reply.data


async def outbox(server) -> list[dict]:
    return await server.notifications.messages(plugin="vivere", limit=1000)


@pytest.mark.gen_test(timeout=30)
async def test_subscribed_browsers_get_each_announcement_once_decrypted(
    vv, server, clock, push_service
):
    for person in ("ada", "bob"):
        reply = await vv.call("POST", ROUTE, user=person, json_body=push_service.subscribe(person))
        assert reply.status == 201 and reply.data["plugin"] == "vivere", reply.body
    again = await vv.call("POST", ROUTE, user="ada", json_body=push_service.subscribe("ada"))
    assert again.status == 201  # the same browser again: still one address
    # a browser registered with the core only is not subscribed to announcements
    status = await vv.http.fetch(
        vv.base_url + "/api/notifications/webpush-subscriptions?user=carol",
        method="POST",
        body=json.dumps(push_service.subscribe("carol")),
        raise_error=False,
    )
    assert status.code == 201

    first = await announce(vv, "Doors open at 9")
    await eventually(lambda: len(push_service.received) == 2, what="two browsers reached")
    expected = {
        "title": push.TITLE,
        "body": "Doors open at 9",
        "data": {"type": "announcement", "announcement": first},
    }
    assert push_service.payloads("ada") == [expected]
    assert push_service.payloads("bob") == [expected]
    keys = sorted(m["idempotency_key"] for m in await outbox(server))
    assert all(k.startswith(f"vivere:announcement:{first['id']}#") for k in keys) and len(keys) == 2

    # moved to the future and due again: announced on the channel again, pushed only once
    await vv.call(
        "PATCH",
        f"admin/announcements/{first['id']}",
        user=ORGANISER,
        json_body={"time": iso(clock.now() + timedelta(minutes=5))},
    )
    clock.advance(minutes=6)
    await jobs.publish_due_announcements(server)
    await asyncio.sleep(0.3)  # several worker polls
    assert len(push_service.received) == 2 and len(await outbox(server)) == 2


@pytest.mark.gen_test(timeout=30)
async def test_a_browser_gone_is_dropped_and_an_unsubscribed_one_gets_nothing(
    vv, server, push_service
):
    for person in ("ada", "bob", "cy"):
        await vv.call("POST", ROUTE, user=person, json_body=push_service.subscribe(person))
    push_service.gone["bob"] = 410
    gone = await vv.call(
        "DELETE", ROUTE, user="cy", query={"endpoint": push_service.subscribe("cy")["endpoint"]}
    )
    assert (gone.status, gone.data) == (200, {"removed": 1})

    await announce(vv, "Lunch")
    await eventually(lambda: len(push_service.received) == 1, what="ada's browser reached")
    await eventually(
        lambda: _statuses(server, ["invalid", "sent"]), what="bob's message recorded invalid"
    )
    addresses = await server.db.run(server.notifications.addresses, "bob")
    assert addresses[0]["disabled_at"] is not None and "410" in addresses[0]["disabled_reason"]

    await announce(vv, "Dinner")
    await eventually(lambda: len(push_service.received) == 2, what="the second announcement")
    assert [p["body"] for p in push_service.payloads("ada")] == ["Lunch", "Dinner"]
    assert push_service.payloads("bob") == [] and push_service.payloads("cy") == []
    assert len(await outbox(server)) == 3  # ada twice, bob once (then disabled), cy never


async def _statuses(server, expected: list[str]) -> bool:
    return sorted(m["status"] for m in await outbox(server)) == expected


@pytest.mark.gen_test(timeout=30)
async def test_bad_subscriptions_are_400s_in_vivere_envelope(vv, server, push_service):
    good = push_service.subscribe("ada")
    for kwargs, message in [
        ({"body": b"not json", "headers": {"Content-Type": "text/plain"}}, "push subscription"),
        ({"json_body": {}}, "push subscription"),
        ({"json_body": {"endpoint": good["endpoint"]}}, "needs keys"),
        ({"json_body": {**good, "endpoint": "http://push.example.net/x"}}, "https"),
        ({"json_body": {**good, "keys": {**good["keys"], "auth": "AAAA"}}}, "16 bytes"),
    ]:
        reply = await vv.call("POST", ROUTE, user="ada", **kwargs)
        assert reply.error[0] == 400 and message in reply.error[1], (kwargs, reply.body)
    assert (await vv.call("POST", ROUTE, json_body=good)).status == 401
    assert (await vv.call("DELETE", ROUTE, user="ada")).error[0] == 400
    missing = await vv.call("DELETE", ROUTE, user="ada", query={"endpoint": good["endpoint"]})
    assert missing.error == (404, "This browser is not subscribed")
    assert await server.db.run(server.notifications.addresses, "ada") == []
