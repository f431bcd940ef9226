"""Live updates reach real WebSocket and Server-Sent Events clients, once, after the commit.

One WebSocket client (authenticated by a Vivere token in X-MenloHacks-Authorization)
and one SSE client (a dev user) subscribe to Vivere's three channels; the test
then does one of everything and checks that both clients receive exactly the
expected sequence of events, with the seed's objects as payloads.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from ngshare_vivere import channels, jobs
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from ngshare.twilio_signature import compute_signature
from tests.core.test_events import SSEStream
from tests.plugins.vivere import images
from tests.plugins.vivere.conftest import ADMIN

ALL = [channels.MENTOR, channels.ANNOUNCEMENTS, channels.EVENTS]
MARKER = "test.marker"


def query(user=None):
    pairs = [("channel", c) for c in ALL]
    if user:
        pairs.append(("user", user))
    return urlencode(pairs)


async def ws_client(base_url, token):
    url = base_url.replace("http", "ws", 1) + "/api/events/ws?" + query()
    request = HTTPRequest(url, headers={"X-MenloHacks-Authorization": token})
    return await websocket_connect(request)


async def ws_until_marker(conn):
    received = []
    while True:
        message = await asyncio.wait_for(conn.read_message(), 10)
        assert message is not None, "closed"
        event = json.loads(message)
        if event["event"] == MARKER:
            return received
        received.append(event)


async def sse_until_marker(stream):
    received = []
    while True:
        frame = await stream.event(timeout=10)
        if frame["event"] == MARKER:
            return received
        received.append(frame["data"])


def iso(value) -> str:
    return value.isoformat(timespec="milliseconds") + "Z"


@pytest.mark.gen_test(timeout=60)
async def test_every_kind_of_change_is_delivered_live_once(
    vv, server, clock, settings, accounts, http_client, base_url
):
    token = await accounts.token("watcher")
    ws = await ws_client(base_url, token)
    sse = SSEStream(http_client, base_url + "/api/events/sse?" + query(user="watcher"))
    await sse.opened()

    async def ticket_action(action, ticket_id, user):
        path = f"mentorship/{action}"
        reply = await vv.call("POST", path, user=user, json_body={"id": ticket_id})
        assert reply.status == 200, reply.body
        return reply.data

    # -- the mentor channel
    created = await vv.call(
        "POST",
        "mentorship/create",
        user="mia",
        json_body={"description": "help", "location": "Gym", "contact": "mia@example.org"},
    )
    ticket = created.data["id"]
    await ticket_action("claim", ticket, "max")
    await ticket_action("reopen", ticket, "max")
    await ticket_action("close", ticket, "mia")
    lonely = (
        await vv.call(
            "POST",
            "mentorship/create",
            user="lee",
            json_body={"description": "nobody comes", "location": "Hall", "contact": "lee"},
        )
    ).data["id"]
    clock.advance(seconds=settings.ticket_expiry_seconds)
    await jobs.announce_expired_tickets(server)
    await jobs.announce_expired_tickets(server)  # exactly once

    # -- the announcement channel
    now = await vv.call("POST", "admin/announcements", user=ADMIN, json_body={"message": "now"})
    due = clock.now() + timedelta(minutes=5)
    later = await vv.call(
        "POST", "admin/announcements", user=ADMIN, json_body={"message": "later", "time": iso(due)}
    )
    await jobs.publish_due_announcements(server)  # not yet due: nothing
    clock.set(due)
    await jobs.publish_due_announcements(server)
    await jobs.publish_announcement(server, announcement_id=int(later.data["id"]))  # once
    await vv.call(
        "PATCH",
        f"admin/announcements/{now.data['id']}",
        user=ADMIN,
        json_body={"message": "now (edited)"},
    )
    await vv.call("DELETE", f"admin/announcements/{now.data['id']}", user=ADMIN)
    settings.twilio_auth_token = "tok"
    settings.organiser_phone_numbers = ["+16505550100"]
    sms = {"From": "+16505550100", "Body": "by text", "MessageSid": "SM1"}
    signature = compute_signature("tok", vv.root + "sms/announcement", list(sms.items()))
    texted = await vv.call(
        "POST",
        "sms/announcement",
        body=urlencode(sms),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    )
    assert texted.status == 200

    # -- the events channel
    loc = (await vv.call("POST", "admin/locations", user=ADMIN, json_body={"name": "Gym"})).data
    await vv.call("PUT", f"admin/locations/{loc['id']}/map", user=ADMIN, body=images.png())
    event = (
        await vv.call(
            "POST",
            "admin/events",
            user=ADMIN,
            json_body={
                "short_description": "Opening",
                "start_time": "2030-01-01T09:00:00Z",
                "end_time": "2030-01-01T10:00:00Z",
                "location_id": loc["id"],
            },
        )
    ).data
    await vv.call(
        "PATCH", f"admin/events/{event['id']}", user=ADMIN, json_body={"long_description": "Hi"}
    )
    await vv.call("DELETE", f"admin/events/{event['id']}", user=ADMIN)
    await vv.call("DELETE", f"admin/locations/{loc['id']}", user=ADMIN)
    await vv.call(
        "PATCH", "admin/times", user=ADMIN, json_body={"hacking_start_time": "2030-01-01T09:00:00Z"}
    )

    server.events.publish(channels.MENTOR, MARKER, {})
    over_ws = await ws_until_marker(ws)
    over_sse = await sse_until_marker(sse)
    ws.close()

    assert over_ws == over_sse  # the same envelopes, in the same order
    assert [(e["channel"], e["event"]) for e in over_ws] == [
        (channels.MENTOR, "ticket.created"),
        (channels.MENTOR, "ticket.claimed"),
        (channels.MENTOR, "ticket.reopened"),
        (channels.MENTOR, "ticket.closed"),
        (channels.MENTOR, "ticket.created"),
        (channels.MENTOR, "ticket.expired"),
        (channels.ANNOUNCEMENTS, "announcement.created"),
        (channels.ANNOUNCEMENTS, "announcement.created"),
        (channels.ANNOUNCEMENTS, "announcement.updated"),
        (channels.ANNOUNCEMENTS, "announcement.deleted"),
        (channels.ANNOUNCEMENTS, "announcement.created"),
        (channels.EVENTS, "location.created"),
        (channels.EVENTS, "location.updated"),
        (channels.EVENTS, "event.created"),
        (channels.EVENTS, "event.updated"),
        (channels.EVENTS, "event.deleted"),
        (channels.EVENTS, "location.deleted"),
        (channels.EVENTS, "times.updated"),
    ]
    data = [e["data"] for e in over_ws]
    # tickets: the seed's MentorTicket, with no viewer (per-user fields false)
    assert data[0] == {**created.data, "is_mine": False}
    assert data[1]["claimed"] is True and data[1]["claimed_by_me"] is False
    assert data[3]["time_complete"] is not None
    assert (data[5]["id"], data[5]["expired"]) == (lonely, True)
    # announcements
    assert [d["message"] for d in data[6:11]] == [
        "now",
        "later",
        "now (edited)",
        "now (edited)",
        "by text",
    ]
    assert data[7] == later.data
    # the schedule
    assert data[12]["map"].endswith(f"/api/vivere/location/image/{loc['id']}")
    assert data[13]["location"]["name"] == "Gym"
    assert data[14]["long_description"] == "Hi"
    assert data[17]["hacking_start_time"] == "2030-01-01T09:00:00.000Z"


@pytest.mark.gen_test
async def test_nothing_is_published_when_the_change_fails(vv, server, base_url, accounts):
    token = await accounts.token("watcher")
    ws = await ws_client(base_url, token)
    refused = await vv.call("POST", "mentorship/claim", user="max", json_body={"id": "999"})
    assert refused.status == 404
    bad = await vv.call(
        "POST",
        "admin/events",
        user=ADMIN,
        json_body={
            "short_description": "x",
            "start_time": "2030-01-01T10:00:00Z",
            "end_time": "2030-01-01T09:00:00Z",
        },
    )
    assert bad.status == 400
    server.events.publish(channels.MENTOR, MARKER, {})
    assert await ws_until_marker(ws) == []
    ws.close()


@pytest.mark.gen_test
async def test_subscribing_needs_an_identity(vv, http_client, base_url):
    response = await http_client.fetch(base_url + "/api/events/sse?" + query(), raise_error=False)
    assert response.code == 401
