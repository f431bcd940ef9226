"""Web Push: the provider, the server's VAPID key, and the subscription routes, end to end.

Messages cross real HTTP on loopback to the push service stand-in
(:mod:`tests.standins.webpush`), which verifies the VAPID JWT against the
server's key and decrypts each aes128gcm payload with the subscription's
private key. Servers are real contexts on the session's database
(:class:`tests.core.test_notifications.Servers`).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import stat
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from tornado.httpclient import AsyncHTTPClient
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from ngshare.app import make_application
from ngshare.lifecycle import StartupError
from ngshare.notifications import NotificationError
from ngshare.notifications.webpush_handlers import ERR_WEBPUSH_OFF
from tests.core.test_notifications import Servers, _all_status, eventually, rows
from tests.standins.webpush import PushStandIn, listen, new_subscription_keys

SUBJECT = "mailto:ops@example.org"


@pytest.fixture
def servers(make_config, io_loop):
    servers = Servers(make_config)
    yield servers
    io_loop.run_sync(servers.stop_all)


@pytest.fixture
def push(io_loop):
    standin = PushStandIn()
    server, _port = listen(standin)
    yield standin
    server.stop()


def webpush_settings(tmp_path, **extra) -> dict:
    return {
        "NotificationService": {"channels": {"webpush": "webpush"}},
        "WebPushProvider": {
            "vapid_subject": SUBJECT,
            "vapid_key_file": str(tmp_path / "vapid.pem"),
            "ttl_seconds": 600,
            "urgency": "high",
            **extra,
        },
    }


async def start_pushing(servers: Servers, push: PushStandIn, tmp_path, **extra):
    ctx = await servers.start(**webpush_settings(tmp_path, **extra))
    push.vapid_public_key = ctx.notifications.vapid.public_key
    return ctx


async def submit(ctx, push: PushStandIn, token: str, body: str = "Doors open", **more) -> int:
    return await ctx.notifications.submit(
        plugin="testnotify",
        channel="webpush",
        to=json.dumps(push.subscribe(token)),
        body=body,
        **more,
    )


# -- delivery ------------------------------------------------------------------------------


@pytest.mark.gen_test(timeout=30)
async def test_a_message_arrives_signed_and_decrypts_to_title_body_and_data(
    servers, push, tmp_path
):
    ctx = await start_pushing(servers, push, tmp_path)
    first = await submit(ctx, push, "ada", subject="Hackathon", data={"url": "/vivere"})
    await submit(ctx, push, "bob", body="Lunch")
    await eventually(lambda: _all_status(ctx, "sent"), what="both sent")

    assert push.payloads("ada") == [
        {"title": "Hackathon", "body": "Doors open", "data": {"url": "/vivere"}}
    ]
    assert push.payloads("bob") == [{"title": None, "body": "Lunch", "data": {}}]
    received = push.received[0]
    assert received.headers["Ttl"] == "600" and received.headers["Urgency"] == "high"
    assert received.claims["aud"] == push.url and received.claims["sub"] == SUBJECT
    assert len(push.jwts) == 1, "one signed header per push service origin, not per message"
    by_pk = {m.pk: m for m in await rows(ctx)}
    assert by_pk[first].provider == "webpush"
    assert by_pk[first].provider_id.startswith(push.url + "/message/")
    assert by_pk[first].attempts == 1


@pytest.mark.gen_test(timeout=30)
async def test_a_503_then_a_429_with_retry_after_are_retried_then_it_arrives(
    servers, push, tmp_path
):
    push.script("ada", (503, {}), (429, {"Retry-After": "1"}))
    ctx = await start_pushing(servers, push, tmp_path)
    await submit(ctx, push, "ada")
    await eventually(lambda: _all_status(ctx, "sent"), what="sent after two retries")
    (message,) = await rows(ctx)
    assert message.attempts == 3
    times = [t for t, token, _status in push.requests if token == "ada"]
    assert [s for _t, _token, s in push.requests] == [503, 429, 201]
    assert times[2] - times[1] >= 0.95, "Retry-After: 1 was not honoured"
    assert times[1] - times[0] < 0.95  # the 503 had no Retry-After: backoff only (0.05 s)
    assert push.payloads("ada") == [{"title": None, "body": "Doors open", "data": {}}]


@pytest.mark.gen_test(timeout=30)
async def test_after_max_attempts_the_message_is_failed(servers, push, tmp_path):
    push.script("ada", *[(503, {})] * 3)
    settings = webpush_settings(tmp_path)
    settings["NotificationService"]["max_attempts"] = 3
    ctx = await servers.start(**settings)
    push.vapid_public_key = ctx.notifications.vapid.public_key
    await submit(ctx, push, "ada")
    await eventually(lambda: _all_status(ctx, "failed"), what="given up")
    (message,) = await rows(ctx)
    assert message.attempts == 3
    assert message.last_error.startswith("gave up after 3 attempts: push service 503")
    assert len(push.requests) == 3 and push.received == []


@pytest.mark.gen_test(timeout=30)
async def test_404_and_410_disable_the_subscription_and_tell_the_plugin(servers, push, tmp_path):
    push.gone = {"expired": 410, "unknown": 404}
    ctx = await start_pushing(servers, push, tmp_path)
    svc = ctx.notifications

    def register(session):
        for token in ("expired", "unknown", "alive"):
            svc.add_address(
                session,
                user="ada",
                channel="webpush",
                address=json.dumps(push.subscribe(token)),
                plugin="testnotify",
            )
        return svc.send_to_user(session, plugin="testnotify", user="ada", body="hi", key="k1")

    ids = await ctx.db.run(register)
    assert len(ids) == 3
    await eventually(lambda: len(servers.hooked) == 2, what="the plugin's hook, twice")
    told = {json.loads(t.address)["endpoint"].rsplit("/", 1)[1]: t for t in servers.hooked}
    assert set(told) == {"expired", "unknown"}
    assert "push service 410" in told["expired"].reason
    assert "push service 404" in told["unknown"].reason
    assert told["expired"].address_plugins == ("testnotify",) and told["expired"].user == "ada"

    addresses = await ctx.db.run(svc.addresses, "ada")
    disabled = {json.loads(a["address"])["endpoint"].rsplit("/", 1)[1]: a for a in addresses}
    assert disabled["expired"]["disabled_at"] and disabled["unknown"]["disabled_at"]
    assert disabled["alive"]["disabled_at"] is None
    await eventually(lambda: len(push.received) == 1, what="the live browser's message")
    assert sorted(m.status for m in await rows(ctx)) == ["invalid", "invalid", "sent"]

    again = await ctx.db.run(
        lambda s: svc.send_to_user(s, plugin="testnotify", user="ada", body="2", key="k2")
    )
    assert len(again) == 1  # only the live subscription


@pytest.mark.gen_test(timeout=30)
async def test_a_413_or_an_oversized_payload_fails_without_retrying(servers, push, tmp_path):
    push.script("ada", (413, {}))
    ctx = await start_pushing(servers, push, tmp_path)
    await submit(ctx, push, "ada")
    big = await submit(ctx, push, "bob", body="x" * 5000)
    await eventually(lambda: _all_status(ctx, "failed"), what="both failed")
    by_pk = {m.pk: m for m in await rows(ctx)}
    assert by_pk[big].last_error.startswith("payload is 5") and by_pk[big].attempts == 1
    assert [s for _t, token, s in push.requests] == [413]  # the big one never left


@pytest.mark.gen_test(timeout=30)
async def test_encryption_on_the_ioloop_delivers_the_same(servers, push, tmp_path):
    ctx = await start_pushing(servers, push, tmp_path, encrypt_threads=0)
    for i in range(5):
        await submit(ctx, push, f"t{i}", body=f"message {i}")
    await eventually(lambda: _all_status(ctx, "sent"), what="five sent")
    assert sorted(p["body"] for p in push.payloads()) == [f"message {i}" for i in range(5)]


@pytest.mark.gen_test(timeout=30)
async def test_send_refuses_a_malformed_subscription_and_writes_nothing(servers, push, tmp_path):
    ctx = await start_pushing(servers, push, tmp_path)
    good = push.subscribe("ada")
    for to, message in [
        ("not json", "must be JSON"),
        ("[1]", "JSON object"),
        (json.dumps({**good, "endpoint": "http://push.example.net/x"}), "https"),
        (json.dumps({"endpoint": good["endpoint"]}), "needs keys"),
    ]:
        with pytest.raises(NotificationError, match=message):
            await ctx.notifications.submit(plugin="testnotify", channel="webpush", to=to, body="x")
    assert await rows(ctx) == []


@pytest.mark.gen_test(timeout=30)
async def test_a_push_service_that_cannot_be_reached_is_retried_then_given_up(
    servers, push, tmp_path
):
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings = webpush_settings(tmp_path)
    settings["NotificationService"]["max_attempts"] = 2
    ctx = await servers.start(**settings)
    nowhere = {**push.subscribe("ada"), "endpoint": f"http://127.0.0.1:{port}/push/ada"}
    await ctx.notifications.submit(
        plugin="testnotify", channel="webpush", to=json.dumps(nowhere), body="x"
    )
    await eventually(lambda: _all_status(ctx, "failed"), what="given up")
    (message,) = await rows(ctx)
    assert message.attempts == 2
    assert message.last_error.startswith("gave up after 2 attempts: push service unreachable")


# -- the VAPID key ---------------------------------------------------------------------------


@pytest.mark.gen_test(timeout=30)
async def test_the_key_is_made_once_with_mode_0600_and_kept_across_restarts(
    servers, push, tmp_path
):
    key_file = tmp_path / "vapid.pem"
    ctx = await start_pushing(servers, push, tmp_path)
    first = ctx.notifications.vapid.public_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    written = key_file.read_bytes()
    await servers.stop(ctx)

    ctx = await start_pushing(servers, push, tmp_path)
    assert ctx.notifications.vapid.public_key == first
    assert key_file.read_bytes() == written
    await submit(ctx, push, "ada")  # the stand-in insists on this very key
    await eventually(lambda: _all_status(ctx, "sent"), what="sent with the kept key")


@pytest.mark.gen_test(timeout=30)
async def test_a_key_file_others_can_read_or_that_is_no_key_refuses_the_start(servers, tmp_path):
    key_file = tmp_path / "vapid.pem"
    ctx = await servers.start(**webpush_settings(tmp_path))
    await servers.stop(ctx)
    os.chmod(key_file, 0o644)
    with pytest.raises(StartupError, match=r"must not be readable by others \(chmod 600"):
        await servers.start(**webpush_settings(tmp_path))

    key_file.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    os.chmod(key_file, 0o600)
    with pytest.raises(StartupError, match="is not a PEM private key"):
        await servers.start(**webpush_settings(tmp_path))

    p384 = ec.generate_private_key(ec.SECP384R1())  # a key of the wrong curve
    key_file.write_bytes(
        p384.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(StartupError, match="must be an EC P-256"):
        await servers.start(**webpush_settings(tmp_path))

    os.chmod(key_file, 0o000)
    if os.access(key_file, os.R_OK):  # root reads anything: nothing to test then
        return
    with pytest.raises(StartupError, match="cannot read the VAPID key"):
        await servers.start(**webpush_settings(tmp_path))


@pytest.mark.gen_test(timeout=30)
async def test_a_key_given_by_setting_is_used_and_no_file_is_made(servers, push, tmp_path):
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    ctx = await start_pushing(servers, push, tmp_path, vapid_private_key=pem)
    point = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert ctx.notifications.vapid.public_key == push.vapid_public_key
    assert base64url_bytes(push.vapid_public_key) == point
    assert not (tmp_path / "vapid.pem").exists()
    await submit(ctx, push, "ada")
    await eventually(lambda: _all_status(ctx, "sent"), what="sent with the configured key")

    with pytest.raises(StartupError, match="vapid_private_key is not a PEM"):
        await servers.start(**webpush_settings(tmp_path, vapid_private_key="nonsense"))


@pytest.mark.gen_test(timeout=30)
async def test_webpush_needs_a_vapid_subject_and_a_ttl_of_0_or_more(servers, tmp_path):
    for subject in ["", "ops@example.org", "mailto:nobody", "https://"]:
        with pytest.raises(StartupError, match="vapid_subject"):
            await servers.start(**webpush_settings(tmp_path, vapid_subject=subject))
    with pytest.raises(StartupError, match="ttl_seconds must be 0 or more"):
        await servers.start(**webpush_settings(tmp_path, ttl_seconds=-1))


# -- HTTP: the public key and the subscription routes -----------------------------------------


async def call(http_client, base_url, method, path, user=None, body=None, **query):
    if user is not None:
        query["user"] = user
    url = f"{base_url}/api/{path}" + (f"?{urlencode(query)}" if query else "")
    response = await http_client.fetch(
        url,
        method=method,
        body=body,
        headers={"Content-Type": "application/json"} if body is not None else {},
        raise_error=False,
        allow_nonstandard_methods=method == "DELETE" and body is not None,
    )
    assert response.headers["Content-Type"].startswith("application/json"), response.body
    return response.code, json.loads(response.body)


@pytest.mark.gen_test(timeout=30)
async def test_under_vngshare_the_public_key_is_served_while_messages_go_to_the_log(
    server, http_client, base_url
):
    status, body = await call(http_client, base_url, "GET", "notifications/vapid-public-key")
    assert status == 200 and body["success"] is True
    assert body["public_key"] == server.notifications.vapid.public_key
    assert len(base64url_bytes(body["public_key"])) == 65
    assert server.notifications.enabled_channels().count("webpush") == 1


def base64url_bytes(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.gen_test(timeout=30)
async def test_with_webpush_off_there_is_no_key_and_the_routes_answer_404(servers, tmp_path):
    ctx = await servers.start(NotificationService={"channels": {"email": "log"}})
    assert ctx.notifications.vapid is None
    assert not (Path(ctx.config.data_dir) / "vapid_private_key.pem").exists()
    sockets = bind_sockets(0, "127.0.0.1")
    http = HTTPServer(make_application(ctx, ctx.plugins))
    http.add_sockets(sockets)
    try:
        base = f"http://127.0.0.1:{sockets[0].getsockname()[1]}"
        client = AsyncHTTPClient()
        for method, path, body in [
            ("GET", "notifications/vapid-public-key", None),
            ("POST", "notifications/webpush-subscriptions?user=ada", "{}"),
        ]:
            response = await client.fetch(
                f"{base}/api/{path}", method=method, body=body, raise_error=False
            )
            assert response.code == 404, (path, response.body)
            assert json.loads(response.body) == {"success": False, "message": ERR_WEBPUSH_OFF}
    finally:
        http.stop()


@pytest.mark.gen_test(timeout=30)
async def test_people_register_and_remove_their_browsers(server, http_client, base_url):
    _private, keys = new_subscription_keys()
    endpoint = "https://push.example.net/send/ada-laptop"
    subscription = {"endpoint": endpoint, "expirationTime": None, "keys": keys}

    async def register(sub, user="ada"):
        return await call(
            http_client,
            base_url,
            "POST",
            "notifications/webpush-subscriptions",
            user,
            body=json.dumps(sub),
        )

    status, body = await register(subscription)
    assert status == 201 and body["address"]["channel"] == "webpush"
    address_id = body["address"]["id"]
    stored = json.loads(body["address"]["address"])
    assert stored == {"endpoint": endpoint, "keys": keys}
    status, body = await register(subscription)
    assert (status, body["address"]["id"]) == (201, address_id), "the same endpoint: one address"

    _private, renewed = new_subscription_keys()
    status, body = await register({"endpoint": endpoint, "keys": renewed})
    assert status == 201
    status, listed = await call(http_client, base_url, "GET", "notifications/addresses", "ada")
    assert [json.loads(a["address"])["keys"] for a in listed["addresses"]] == [renewed]

    status, body = await call(
        http_client,
        base_url,
        "DELETE",
        "notifications/webpush-subscriptions",
        "ada",
        endpoint=endpoint,
    )
    assert (status, body["removed"]) == (200, 1)
    status, body = await call(
        http_client,
        base_url,
        "DELETE",
        "notifications/webpush-subscriptions",
        "ada",
        body=json.dumps({"endpoint": endpoint}),
    )
    assert (status, body["message"]) == (404, "Subscription not found")

    status, body = await register(subscription, user="bob")  # and by address id
    bob_id = body["address"]["id"]
    assert (
        await call(http_client, base_url, "DELETE", f"notifications/addresses/{bob_id}", "ada")
    )[0] == 404
    assert (
        await call(http_client, base_url, "DELETE", f"notifications/addresses/{bob_id}", "bob")
    )[0] == 200
    assert (
        await call(http_client, base_url, "POST", "notifications/webpush-subscriptions", body="{}")
    )[0] == 401


@pytest.mark.gen_test(timeout=30)
async def test_bad_subscriptions_get_a_400_and_nothing_is_stored(server, http_client, base_url):
    _private, keys = new_subscription_keys()
    ok = {"endpoint": "https://push.example.net/send/x", "keys": keys}
    point = base64url_bytes(keys["p256dh"])
    off_curve = bytes([4]) + bytes(64)
    cases = [
        ("{not json", "The request body must be JSON"),
        ("[]", "must be a push subscription"),
        (json.dumps({"keys": keys}), "needs an endpoint"),
        (json.dumps({**ok, "endpoint": 7}), "needs an endpoint"),
        (json.dumps({"endpoint": ok["endpoint"]}), "needs keys"),
        (json.dumps({**ok, "keys": {"auth": keys["auth"]}}), "keys.p256dh"),
        (json.dumps({**ok, "keys": {"p256dh": keys["p256dh"]}}), "keys.auth"),
        (json.dumps({**ok, "keys": {**keys, "p256dh": b64(point[:33])}}), "must be 65 bytes"),
        (json.dumps({**ok, "keys": {**keys, "p256dh": b64(off_curve)}}), "point of the P-256"),
        (json.dumps({**ok, "keys": {**keys, "auth": b64(bytes(15))}}), "must be 16 bytes"),
        (json.dumps({**ok, "keys": {**keys, "auth": "not base64!"}}), "base64url"),
        (json.dumps({**ok, "endpoint": "http://push.example.net/send/x"}), "must be an https"),
        (json.dumps({**ok, "endpoint": "ftp://push.example.net/x"}), "must be an https"),
        (json.dumps({**ok, "endpoint": "https:///nohost"}), "not a URL"),
        (json.dumps({**ok, "endpoint": "https://x.net:99999/"}), "not a URL"),
        (json.dumps({**ok, "endpoint": "https://p.net/" + "a" * 2100}), "at most 2048"),
        (json.dumps({**ok, "padding": "p" * 4000}), "at most 4096"),
    ]
    for body, message in cases:
        status, answer = await call(
            http_client, base_url, "POST", "notifications/webpush-subscriptions", "ada", body=body
        )
        assert (status, answer["success"]) == (400, False), body[:80]
        assert message in answer["message"], (body[:80], answer["message"])
    for query in [{}, {"endpoint": "http://push.example.net/x"}]:
        status, answer = await call(
            http_client, base_url, "DELETE", "notifications/webpush-subscriptions", "ada", **query
        )
        assert (status, answer["success"]) == (400, False), query
    status, listed = await call(http_client, base_url, "GET", "notifications/addresses", "ada")
    assert listed["addresses"] == []
    # a loopback endpoint may be plain http (a local push service)
    status, answer = await call(
        http_client,
        base_url,
        "POST",
        "notifications/webpush-subscriptions",
        "ada",
        body=json.dumps({**ok, "endpoint": "http://127.0.0.1:9/push/x"}),
    )
    assert status == 201


# -- the stand-in refuses what a push service refuses ---------------------------------------


def test_the_stand_in_refuses_bad_vapid_headers(tmp_path):
    from ngshare.notifications.vapid import load_key
    from tests.standins.webpush import Refused, check_vapid

    key = load_key("", tmp_path / "k.pem")
    other = load_key("", tmp_path / "other.pem")
    aud = "http://127.0.0.1:8443"
    good = key.authorization(aud, SUBJECT)
    assert check_vapid(good, aud, key.public_key)["sub"] == SUBJECT
    t_part, _, _k = good.partition(",")
    cases = [
        (good, "http://127.0.0.1:9", key.public_key, 401, "aud must be"),
        (good, aud, other.public_key, 403, "not the key"),
        (f"{t_part},k={other.public_key}", aud, None, 401, "does not verify"),
        (good.replace("vapid ", "WebPush "), aud, None, 401, "vapid scheme"),
        ("vapid t=abc", aud, None, 401, "t= and k="),
        # fresh copies of the key: a kept header would be reused
        (
            load_key("", tmp_path / "k.pem").authorization(aud, SUBJECT, now=0),
            aud,
            None,
            401,
            "expired",
        ),
        (
            load_key("", tmp_path / "k.pem").authorization(aud, SUBJECT, now=time.time() + 86400),
            aud,
            None,
            401,
            "24 hours ahead",
        ),
    ]
    for header, audience, expected, status, message in cases:
        with pytest.raises(Refused, match=message) as refused:
            check_vapid(header, audience, expected)
        assert refused.value.status == status


@pytest.mark.gen_test(timeout=30)
async def test_a_push_service_refusing_the_key_fails_the_message(servers, push, tmp_path):
    ctx = await start_pushing(servers, push, tmp_path)
    push.vapid_public_key = "B" + "A" * 86  # the subscription was made with another key
    await submit(ctx, push, "ada")
    await eventually(lambda: _all_status(ctx, "failed"), what="refused")
    (message,) = await rows(ctx)
    assert message.last_error.startswith("push service 403") and message.attempts == 1
    assert push.received == []


def test_the_signed_header_is_kept_per_origin_and_renewed_before_it_expires(tmp_path):
    from ngshare.notifications.vapid import RENEW_BEFORE_SECONDS, TOKEN_SECONDS, load_key

    key = load_key("", tmp_path / "k.pem")
    now = 1_000_000.0
    first = key.authorization("https://push.example.net", SUBJECT, now=now)
    later = now + TOKEN_SECONDS - RENEW_BEFORE_SECONDS - 1
    assert key.authorization("https://push.example.net", SUBJECT, now=later) == first
    assert key.authorization("https://other.example.net", SUBJECT, now=now) != first
    renewed = key.authorization("https://push.example.net", SUBJECT, now=later + 2)
    assert renewed != first
