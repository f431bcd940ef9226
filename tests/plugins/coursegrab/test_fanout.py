"""A section opens: every tracker's notification arrives at the real provider's stand-in.

The server runs the real APNs, FCM, Web Push and SMTP providers pointed at
their local stand-ins (tests/standins/), which check the protocols: APNs over
HTTP/2 with an ES256 provider token, FCM's OAuth grant and v1 ``messages:send``,
Web Push with a VAPID JWT and an aes128gcm body the stand-in decrypts, SMTP.
"""

from __future__ import annotations

import json
import secrets

import pytest

from tests.core.test_notifications import eventually, rows
from tests.standins import apns as apns_standin
from tests.standins import fcm as fcm_standin
from tests.standins.smtp import start_smtp
from tests.standins.webpush import PushStandIn
from tests.standins.webpush import listen as listen_webpush

from .conftest import TERM

KEY_ID = "ABC123DEFG"
TEAM_ID = "DEF123GHIJ"
TOPIC = "org.example.coursegrab"
PROJECT = "coursegrab-test"
TITLE = "CS 3110 DIS 212 is Now Open"
BODY = "Class Nbr: 12403. Grab your spot right now!"


def apns_token() -> str:
    return secrets.token_hex(32)


def fcm_token() -> str:
    return f"{secrets.token_urlsafe(16)}:APA91b{secrets.token_urlsafe(100)}"


@pytest.fixture
def apns(io_loop, tmp_path):
    key, pem = apns_standin.make_p8_key()
    standin = apns_standin.ApnsStandIn(key.public_key(), KEY_ID, TEAM_ID, TOPIC)
    cert, cert_key = apns_standin.self_signed_for_loopback(tmp_path)
    server, port = io_loop.run_sync(lambda: apns_standin.listen(standin, (cert, cert_key)))
    standin.settings = {
        "key": pem,
        "key_id": KEY_ID,
        "team_id": TEAM_ID,
        "topic": TOPIC,
        "environment": "sandbox",
        "api_base_url": f"https://127.0.0.1:{port}",
        "ca_file": str(cert),
    }
    yield standin
    server.close()


@pytest.fixture
def fcm(io_loop):
    info, standin = fcm_standin.make_service_account(PROJECT)
    server, port = fcm_standin.listen(standin)
    url = f"http://127.0.0.1:{port}"
    info["token_uri"] = f"{url}/token"
    standin.settings = {"service_account_info": json.dumps(info), "api_base_url": url}
    yield standin
    server.stop()


@pytest.fixture
def push(io_loop):
    standin = PushStandIn()
    server, _port = listen_webpush(standin)
    yield standin
    server.stop()


@pytest.fixture
def mail():
    handler, controller = start_smtp()
    yield handler, controller.port
    controller.stop()


@pytest.fixture
def provider_settings(apns, fcm, push, mail, tmp_path):
    """The real providers at the stand-ins (the `server` fixture merges these; list it first)."""
    return {
        "NotificationService": {
            "channels": {"apns": "apns", "fcm": "fcm", "webpush": "webpush", "email": "smtp"}
        },
        "ApnsProvider": apns.settings,
        "FcmProvider": fcm.settings,
        "WebPushProvider": {
            "vapid_subject": "mailto:ops@example.org",
            "vapid_key_file": str(tmp_path / "vapid.pem"),
        },
        "SmtpProvider": {
            "host": "127.0.0.1",
            "port": mail[1],
            "security": "none",
            "sender": "CourseGrab <noreply@example.org>",
        },
    }


async def choose(cg, token: str, notification: str, **more) -> None:
    reply = await cg.call(
        "POST", "users/notification", json_body={"notification": notification, **more}, token=token
    )
    assert reply.data is None


async def track(cg, token: str, catalog_num: int) -> None:
    reply = await cg.call(
        "POST", "sections/track", json_body={"course_id": catalog_num}, token=token
    )
    assert reply.data["catalog_num"] == catalog_num


async def the_section(cg) -> dict:
    """The seed's section object of 12403 as a tracker sees it (after the poll)."""
    [course] = (await cg.call("POST", "courses/search", json_body={"query": "cs 3110"})).data[
        "courses"
    ]
    [section] = [s for s in course["sections"] if s["catalog_num"] == 12403]
    return {**section, "is_tracking": True}


@pytest.mark.gen_test(timeout=60)
async def test_a_section_opening_reaches_every_tracker_at_their_provider(
    provider_settings, cg, roster, server, apns, fcm, push, mail
):
    push.vapid_public_key = server.notifications.vapid.public_key
    iphone, android = apns_token(), fcm_token()
    ios = (await cg.sign_in("ios@cornell.edu", "IOS", device_token=iphone))["session_token"]
    droid = (await cg.sign_in("droid@cornell.edu", "ANDROID", device_token=android))[
        "session_token"
    ]
    web = (await cg.sign_in("web@cornell.edu", "WEB"))["session_token"]
    email = (await cg.sign_in("mail@cornell.edu", "WEB"))["session_token"]
    silent = (await cg.sign_in("none@cornell.edu", "WEB"))["session_token"]
    await choose(cg, ios, "IOS")
    await choose(cg, droid, "ANDROID")
    await choose(cg, web, "WEB", subscription=push.subscribe("browser-1"))
    await choose(cg, email, "EMAIL")
    await choose(cg, silent, "NONE")
    for token in (ios, droid, web, email, silent):
        await track(cg, token, 12403)

    roster.set_status(TERM, 12403, "OPEN")
    assert (await cg.poll()).messages == 4
    handler = mail[0]
    await eventually(lambda: len(apns.received) == 1, what="the push at APNs")
    await eventually(lambda: len(fcm.received) == 1, what="the message at FCM")
    await eventually(lambda: len(push.received) == 1, what="the push at the push service")
    await eventually(lambda: len(handler.received) == 1, what="the mail at the SMTP server")
    section = await the_section(cg)
    assert section["status"] == "OPEN" and section["num_tracking"] == 5

    [at_apple] = apns.received
    assert at_apple.device_token == iphone
    assert at_apple.payload["aps"]["alert"] == {"title": TITLE, "body": BODY}
    assert at_apple.payload["title"] == TITLE and at_apple.payload["body"] == BODY
    assert at_apple.payload["section"] == section

    [at_google] = fcm.received
    assert at_google["token"] == android
    assert at_google["notification"] == {"title": TITLE, "body": BODY}
    assert json.loads(at_google["data"]["section"]) == section
    assert at_google["data"]["title"] == TITLE

    [decrypted] = push.payloads("browser-1")
    assert decrypted["title"] == TITLE and decrypted["body"] == BODY
    assert decrypted["data"]["section"] == section

    [letter] = handler.received
    assert handler.recipients() == ["mail@cornell.edu"]
    assert letter.message["Subject"] == TITLE
    assert BODY in letter.message.get_body(("plain",)).get_content()

    sent = await server.notifications.messages(plugin="coursegrab", status="sent")
    assert sorted(m["channel"] for m in sent) == ["apns", "email", "fcm", "webpush"]

    # a second poll without a change tells nobody again
    assert (await cg.poll()).messages == 0
    assert len(await rows(server)) == 4


async def dropped(cg, session_token: str) -> bool:
    return (await cg.call("GET", "users/tracking", token=session_token)).status == 401


@pytest.mark.gen_test(timeout=60)
async def test_dead_devices_at_apns_and_fcm_lose_their_sessions(
    provider_settings, cg, roster, server, apns, fcm
):
    gone_iphone, live_iphone, gone_android = apns_token(), apns_token(), fcm_token()
    apns.unregistered.add(gone_iphone)
    fcm.unregistered.add(gone_android)
    gone_ios = await cg.sign_in("ada@cornell.edu", "IOS", device_token=gone_iphone)
    live_ios = await cg.sign_in("bob@cornell.edu", "IOS", device_token=live_iphone)
    gone_droid = await cg.sign_in("cy@cornell.edu", "ANDROID", device_token=gone_android)
    for triple, choice in ((gone_ios, "IOS"), (live_ios, "IOS"), (gone_droid, "ANDROID")):
        await choose(cg, triple["session_token"], choice)
        await track(cg, triple["session_token"], 12403)

    roster.set_status(TERM, 12403, "OPEN")
    assert (await cg.poll()).messages == 3
    await eventually(lambda: dropped(cg, gone_ios["session_token"]), what="the APNs 410 hook")
    await eventually(lambda: dropped(cg, gone_droid["session_token"]), what="the FCM 404 hook")
    assert [p.device_token for p in apns.received] == [live_iphone]
    assert [t for _, t in fcm.requests] == [gone_android]
    assert (await cg.call("POST", "session/update", token=gone_ios["update_token"])).status == 401
    assert (await cg.call("GET", "users/tracking", token=live_ios["session_token"])).data

    by_to = {m.recipient: m for m in await rows(server)}
    assert by_to[gone_iphone].status == "invalid" and by_to[gone_android].status == "invalid"
    assert by_to[live_iphone].status == "sent"
    # the service disabled the address, then the hook ended the session and dropped it
    for user, address in (
        ("oidc:ada@cornell.edu", gone_iphone),
        ("oidc:cy@cornell.edu", gone_android),
    ):
        listed = await server.db.run(server.notifications.addresses, user)
        assert address not in {a["address"] for a in listed if a["disabled_at"] is None}
    bob = await server.db.run(server.notifications.addresses, "oidc:bob@cornell.edu")
    assert [(a["address"], a["disabled_at"]) for a in bob] == [(live_iphone, None)]
