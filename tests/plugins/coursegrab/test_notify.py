"""E-mail at the SMTP stand-in; dead devices and the session clean-up (push: test_fanout.py)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import pytest
from ngshare_coursegrab import jobs
from ngshare_coursegrab.models import DeviceSession
from sqlalchemy import func, select, update

from ngshare.notifications import InvalidRecipient
from ngshare.notifications.models import NotificationAddress

from .conftest import TERM, android_token, ios_token


async def track(cg, token, catalog_num):
    reply = await cg.call(
        "POST", "sections/track", json_body={"course_id": catalog_num}, token=token
    )
    return reply.data


async def wait_for(predicate, seconds=15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return predicate()


@pytest.mark.gen_test(timeout=30)
async def test_email_trackers_get_the_mail_at_the_smtp_server(smtp, cg, roster, server):
    handler, _ = smtp
    token = (await cg.sign_in("ada@cornell.edu", "WEB"))["session_token"]
    reply = await cg.call(
        "POST", "users/notification", json_body={"notification": "EMAIL"}, token=token
    )
    assert reply.data is None
    await track(cg, token, 12403)
    roster.set_status(TERM, 12403, "OPEN")
    assert (await cg.poll()).messages == 1
    assert await wait_for(lambda: handler.recipients() == ["ada@cornell.edu"])
    [mail] = handler.received
    assert mail.message["Subject"] == "CS 3110 DIS 212 is Now Open"
    assert "Class Nbr: 12403" in mail.message.get_body(("plain",)).get_content()
    [sent] = await server.notifications.messages(plugin="coursegrab", status="sent")
    assert sent["channel"] == "email"


async def sessions_count(server) -> int:
    return await server.db.run(lambda s: s.scalar(select(func.count(DeviceSession.pk))))


@pytest.mark.gen_test
async def test_a_dead_device_token_ends_its_session(cg, server):
    dead = await cg.sign_in("ada@cornell.edu", "IOS", device_token=ios_token("apns-dead"))
    alive = await cg.sign_in("ada@cornell.edu", "ANDROID", device_token=android_token("fcm-alive"))
    recipient = InvalidRecipient(
        message_id=1,
        plugin="coursegrab",
        channel="apns",
        address=ios_token("apns-dead"),
        user="oidc:ada@cornell.edu",
        reason="410 Unregistered",
        address_plugins=["coursegrab"],
    )
    await server.notifications._tell_plugins(recipient)  # the service's path to the hook
    assert await sessions_count(server) == 1
    assert (await cg.call("GET", "users/tracking", token=dead["session_token"])).status == 401
    assert (await cg.call("POST", "session/update", token=dead["update_token"])).status == 401
    assert (await cg.call("GET", "users/tracking", token=alive["session_token"])).data


@pytest.mark.gen_test
async def test_the_clean_up_job_ends_sessions_whose_update_token_expired(cg, server):
    old = await cg.sign_in("old@cornell.edu", "IOS", device_token=ios_token("apns-old"))
    await cg.sign_in("new@cornell.edu", "IOS", device_token=ios_token("apns-new"))

    def age(session):
        session.execute(
            update(DeviceSession)
            .where(DeviceSession.device_token == ios_token("apns-old"))
            .values(update_expires_at=datetime(2000, 1, 1))
        )

    await server.db.run(age)
    await jobs.clean_sessions(server)
    assert await sessions_count(server) == 1
    addresses = await server.db.run(server.notifications.addresses, "oidc:old@cornell.edu")
    assert addresses == []
    assert (await cg.call("GET", "users/tracking", token=old["session_token"])).status == 401


@pytest.mark.gen_test
async def test_the_clean_up_job_also_ends_sessions_of_disabled_devices(cg, server):
    gone = await cg.sign_in("gone@cornell.edu", "ANDROID", device_token=android_token("fcm-gone"))
    kept = await cg.sign_in("kept@cornell.edu", "ANDROID", device_token=android_token("fcm-kept"))

    def disable(session):  # what the service does when FCM answers UNREGISTERED
        session.execute(
            update(NotificationAddress)
            .where(NotificationAddress.address == android_token("fcm-gone"))
            .values(disabled_at=datetime(2026, 1, 1), disabled_reason="UNREGISTERED")
        )

    await server.db.run(disable)
    await jobs.clean_sessions(server)
    assert (await cg.call("GET", "users/tracking", token=gone["session_token"])).status == 401
    assert (await cg.call("GET", "users/tracking", token=kept["session_token"])).data
