"""Device push: the APNs and FCM providers, through the real service to local stand-ins.

Every message goes ``ctx.notifications`` -> outbox -> workers -> provider ->
a stand-in on loopback that checks the real protocol: Apple's HTTP/2 API over
TLS with an ES256 provider token (tests/standins/apns.py), Google's OAuth
token endpoint and FCM's v1 ``messages:send`` (tests/standins/fcm.py).
"""

from __future__ import annotations

import json
import secrets

import pytest
from traitlets.config import Config

from ngshare.notifications import NotificationError, NotificationService, normalize_address
from ngshare.notifications.providers.apns_token import ProviderToken, load_signing_key
from tests.core.test_notifications import Servers, _all_status, eventually, rows
from tests.standins import apns as apns_standin
from tests.standins import fcm as fcm_standin

KEY_ID = "ABC123DEFG"
TEAM_ID = "DEF123GHIJ"
TOPIC = "org.example.coursegrab"
PROJECT = "coursegrab-test"


def device_token() -> str:
    return secrets.token_hex(32)


def registration_token() -> str:
    return f"{secrets.token_urlsafe(16)}:APA91b{secrets.token_urlsafe(100)}"


@pytest.fixture
def servers(make_config, io_loop):
    servers = Servers(make_config)
    yield servers
    io_loop.run_sync(servers.stop_all)


@pytest.fixture
def apns(io_loop, tmp_path):
    key, pem = apns_standin.make_p8_key()
    standin = apns_standin.ApnsStandIn(key.public_key(), KEY_ID, TEAM_ID, TOPIC)
    cert, cert_key = apns_standin.self_signed_for_loopback(tmp_path)
    server, port = io_loop.run_sync(lambda: apns_standin.listen(standin, (cert, cert_key)))
    standin.settings = {
        "NotificationService": {"channels": {"apns": "apns"}},
        "ApnsProvider": {
            "key": pem,
            "key_id": KEY_ID,
            "team_id": TEAM_ID,
            "topic": TOPIC,
            "environment": "sandbox",
            "api_base_url": f"https://127.0.0.1:{port}",
            "ca_file": str(cert),
        },
    }
    yield standin
    server.close()


@pytest.fixture
def fcm(io_loop):
    info, standin = fcm_standin.make_service_account(PROJECT)
    server, port = fcm_standin.listen(standin)
    url = f"http://127.0.0.1:{port}"
    info["token_uri"] = f"{url}/token"
    standin.info = info
    standin.settings = {
        "NotificationService": {"channels": {"fcm": "fcm"}},
        "FcmProvider": {"service_account_info": json.dumps(info), "api_base_url": url},
    }
    yield standin
    server.stop()


def with_attempts(settings: dict, max_attempts: int) -> dict:
    service = {**settings["NotificationService"], "max_attempts": max_attempts}
    return {**settings, "NotificationService": service}


# -- APNs ----------------------------------------------------------------------------------


@pytest.mark.gen_test(timeout=30)
async def test_apns_delivers_over_http2_with_one_provider_token(servers, apns):
    ctx = await servers.start(**apns.settings)
    tokens = [device_token() for _ in range(5)]
    ids = []
    for i, token in enumerate(tokens):
        ids.append(
            await ctx.notifications.submit(
                plugin="testnotify",
                channel="apns",
                to=token,
                subject="Seat open",
                body=f"CS 1110 section {i} has a seat",
                data={"course": 1110, "aps": {"badge": 1}},
            )
        )
    await eventually(lambda: _all_status(ctx, "sent"), what="five sent")
    assert apns.alpn and set(apns.alpn) == {"h2"}, "the provider must speak HTTP/2 over TLS"
    assert len(apns.provider_tokens()) == 1, "one cached token serves every request"
    by_token = {push.device_token: push for push in apns.received}
    assert set(by_token) == set(tokens)
    push = by_token[tokens[0]]
    assert push.payload == {
        "aps": {
            "alert": {"title": "Seat open", "body": "CS 1110 section 0 has a seat"},
            "sound": "default",
            "badge": 1,
        },
        "course": 1110,
    }
    assert push.headers["apns-topic"] == TOPIC
    assert push.headers["apns-push-type"] == "alert"
    messages = {m.pk: m for m in await rows(ctx)}
    assert messages[ids[0]].provider == "apns"
    assert messages[ids[0]].provider_id == push.apns_id
    assert all(m.attempts == 1 for m in messages.values())


@pytest.mark.gen_test(timeout=30)
async def test_apns_retries_a_503_then_a_429_with_retry_after(servers, apns):
    token = device_token()
    apns.script(
        token, (503, "ServiceUnavailable", {}), (429, "TooManyRequests", {"retry-after": "1"})
    )
    ctx = await servers.start(**apns.settings)
    await ctx.notifications.submit(plugin="testnotify", channel="apns", to=token, body="x")
    await eventually(lambda: _all_status(ctx, "sent"), what="sent after two retries")
    (message,) = await rows(ctx)
    assert message.attempts == 3
    times = [t for t, to, _ in apns.requests if to == token]
    assert len(times) == 3 and len(apns.received) == 1
    assert times[2] - times[1] >= 0.95, "Retry-After: 1 was not honoured"
    assert times[1] - times[0] < 0.95


@pytest.mark.gen_test(timeout=30)
async def test_apns_gives_up_after_max_attempts(servers, apns):
    token = device_token()
    apns.script(token, *[(500, "InternalServerError", {})] * 2)
    ctx = await servers.start(**with_attempts(apns.settings, 2))
    await ctx.notifications.submit(plugin="testnotify", channel="apns", to=token, body="x")
    await eventually(lambda: _all_status(ctx, "failed"), what="given up")
    (message,) = await rows(ctx)
    assert message.attempts == 2
    assert message.last_error == "gave up after 2 attempts: APNs 500 InternalServerError"
    assert apns.received == []


@pytest.mark.gen_test(timeout=30)
async def test_apns_unreachable_is_retried_then_given_up(servers, apns):
    from tests.standins.smtp import free_port

    settings = with_attempts(apns.settings, 2)
    settings["ApnsProvider"] = {
        **settings["ApnsProvider"],
        "api_base_url": f"https://127.0.0.1:{free_port()}",
    }
    ctx = await servers.start(**settings)
    await ctx.notifications.submit(plugin="testnotify", channel="apns", to=device_token(), body="x")
    await eventually(lambda: _all_status(ctx, "failed"), what="given up")
    (message,) = await rows(ctx)
    assert message.attempts == 2
    assert message.last_error.startswith("gave up after 2 attempts: APNs unreachable: ConnectError")


@pytest.mark.gen_test(timeout=30)
async def test_apns_dead_tokens_are_disabled_and_the_plugin_told(servers, apns):
    gone, bad, other_app, alive, refused = (device_token() for _ in range(5))
    apns.unregistered.add(gone)
    apns.script(bad, (400, "BadDeviceToken", {}))
    apns.script(other_app, (400, "DeviceTokenNotForTopic", {}))
    apns.script(refused, (400, "BadExpirationDate", {}))
    ctx = await servers.start(**apns.settings)
    svc = ctx.notifications

    def register(session):
        for token in (gone, bad, other_app, alive, refused):
            svc.add_address(session, user="ada", channel="apns", address=token, plugin="testnotify")
        return svc.send_to_user(session, plugin="testnotify", user="ada", body="hi", key="k1")

    ids = await ctx.db.run(register)
    assert len(ids) == 5
    await eventually(lambda: len(servers.hooked) == 3, what="the plugin told of three")
    await eventually(lambda: len(apns.received) == 1, what="the live token's push")
    told = {r.address: r.reason for r in servers.hooked}
    assert told == {
        gone: "APNs 410 Unregistered",
        bad: "APNs 400 BadDeviceToken",
        other_app: "APNs 400 DeviceTokenNotForTopic",
    }
    await eventually(lambda: _decided(ctx, 5), what="every message decided")
    by_to = {m.recipient: m for m in await rows(ctx)}
    assert {to: m.status for to, m in by_to.items()} == {
        gone: "invalid",
        bad: "invalid",
        other_app: "invalid",
        alive: "sent",
        refused: "failed",
    }
    assert by_to[refused].last_error == "APNs 400 BadExpirationDate"
    assert by_to[refused].attempts == 1  # a 400 is not retried
    addresses = {a["address"]: a for a in await ctx.db.run(svc.addresses, "ada")}
    assert {a for a, row in addresses.items() if row["disabled_at"]} == {gone, bad, other_app}
    assert addresses[gone]["disabled_reason"] == "APNs 410 Unregistered"


async def _decided(ctx, count: int) -> bool:
    found = [m.status for m in await rows(ctx)]
    return len(found) == count and all(s not in ("pending", "sending") for s in found)


@pytest.mark.gen_test(timeout=30)
async def test_apns_an_expired_provider_token_is_replaced_and_the_push_sent(servers, apns):
    ctx = await servers.start(**apns.settings)
    first, second = device_token(), device_token()
    await ctx.notifications.submit(plugin="testnotify", channel="apns", to=first, body="1")
    await eventually(lambda: len(apns.received) == 1, what="the first push")
    apns.expire_tokens()  # as Apple does an hour after the token's iat
    await ctx.notifications.submit(plugin="testnotify", channel="apns", to=second, body="2")
    await eventually(lambda: len(apns.received) == 2, what="the second push")
    await eventually(lambda: _all_status(ctx, "sent"), what="both sent")
    old, new = apns.provider_tokens()
    assert [bearer for _, to, bearer in apns.requests if to == second] == [old, new]
    assert all(m.attempts == 1 for m in await rows(ctx))  # refreshed within the attempt


@pytest.mark.gen_test(timeout=30)
async def test_apns_a_key_apple_does_not_know_fails_the_message(servers, apns):
    _other, other_pem = apns_standin.make_p8_key()
    settings = {**apns.settings, "ApnsProvider": {**apns.settings["ApnsProvider"]}}
    settings["ApnsProvider"]["key"] = other_pem
    ctx = await servers.start(**settings)
    await ctx.notifications.submit(plugin="testnotify", channel="apns", to=device_token(), body="x")
    await eventually(lambda: _all_status(ctx, "failed"), what="failed")
    (message,) = await rows(ctx)
    assert (message.last_error, message.attempts) == ("APNs 403 InvalidProviderToken", 1)


@pytest.mark.gen_test(timeout=30)
async def test_apns_a_payload_over_4096_bytes_fails_without_a_request(servers, apns):
    ctx = await servers.start(**apns.settings)
    await ctx.notifications.submit(
        plugin="testnotify",
        channel="apns",
        to=device_token(),
        body="x",
        data={"blob": "y" * 5000},
    )
    await eventually(lambda: _all_status(ctx, "failed"), what="failed")
    (message,) = await rows(ctx)
    assert message.last_error.startswith("APNs payload is ")
    assert message.last_error.endswith("bytes; Apple takes at most 4096")
    assert apns.requests == []


def test_the_provider_token_is_reused_until_its_refresh_age():
    key, pem = apns_standin.make_p8_key()
    now = [1_000_000.0]
    token = ProviderToken(
        load_signing_key(pem), key_id=KEY_ID, team_id=TEAM_ID, clock=lambda: now[0]
    )
    first = token.current()
    now[0] += 2999
    assert token.current() == first and token.made == 1
    now[0] += 1
    second = token.current()
    assert second != first and token.made == 2
    import jwt

    claims = jwt.decode(second, key.public_key(), algorithms=["ES256"])
    assert claims == {"iss": TEAM_ID, "iat": 1_003_000}
    assert jwt.get_unverified_header(second)["kid"] == KEY_ID
    # a stale token reported expired by a late request does not replace the new one again
    assert token.expired(first) == second and token.made == 2
    assert token.expired(second) != second and token.made == 3
    for seconds in (600, 3600):
        with pytest.raises(ValueError, match="refresh_seconds must be at least 1200"):
            ProviderToken(
                load_signing_key(pem), key_id=KEY_ID, team_id=TEAM_ID, refresh_seconds=seconds
            )


# -- FCM -------------------------------------------------------------------------------------


@pytest.mark.gen_test(timeout=30)
async def test_fcm_delivers_with_a_service_account_token_and_string_data(servers, fcm, tmp_path):
    # the project id comes from the service account file
    account = tmp_path / "service-account.json"
    account.write_text(json.dumps(fcm.info))
    settings = {
        "NotificationService": fcm.settings["NotificationService"],
        "FcmProvider": {
            "service_account_file": str(account),
            "api_base_url": fcm.settings["FcmProvider"]["api_base_url"],
        },
    }
    ctx = await servers.start(**settings)
    tokens = [registration_token() for _ in range(4)]
    ids = []
    for token in tokens:
        ids.append(
            await ctx.notifications.submit(
                plugin="testnotify",
                channel="fcm",
                to=token,
                subject="Seat open",
                body="CS 1110 has a seat",
                data={"course": 1110, "section": "001", "sections": [1, 2], "open": True},
            )
        )
    await eventually(lambda: _all_status(ctx, "sent"), what="four sent")
    assert len(fcm.grants) == 1, "one access token serves every message"
    assert fcm.grants[0]["iss"] == fcm.client_email
    by_token = {m["token"]: m for m in fcm.received}
    assert set(by_token) == set(tokens)
    assert by_token[tokens[0]] == {
        "token": tokens[0],
        "notification": {"title": "Seat open", "body": "CS 1110 has a seat"},
        "data": {"course": "1110", "section": "001", "sections": "[1,2]", "open": "true"},
    }
    messages = {m.pk: m for m in await rows(ctx)}
    assert messages[ids[0]].provider == "fcm"
    assert messages[ids[0]].provider_id.startswith(f"projects/{PROJECT}/messages/0:")


@pytest.mark.gen_test(timeout=30)
async def test_fcm_retries_a_503_then_a_429_with_retry_after(servers, fcm):
    token = registration_token()
    fcm.script(token, (503, {}), (429, {"Retry-After": "1"}))
    ctx = await servers.start(**fcm.settings)
    await ctx.notifications.submit(plugin="testnotify", channel="fcm", to=token, body="x")
    await eventually(lambda: _all_status(ctx, "sent"), what="sent after two retries")
    (message,) = await rows(ctx)
    assert message.attempts == 3
    times = [t for t, to in fcm.requests if to == token]
    assert len(times) == 3 and len(fcm.received) == 1
    assert times[2] - times[1] >= 0.95, "Retry-After: 1 was not honoured"
    assert times[1] - times[0] < 0.95


@pytest.mark.gen_test(timeout=30)
async def test_fcm_gives_up_after_max_attempts(servers, fcm):
    token = registration_token()
    fcm.script(token, *[(500, {})] * 2)
    ctx = await servers.start(**with_attempts(fcm.settings, 2))
    await ctx.notifications.submit(plugin="testnotify", channel="fcm", to=token, body="x")
    await eventually(lambda: _all_status(ctx, "failed"), what="given up")
    (message,) = await rows(ctx)
    assert message.attempts == 2
    assert message.last_error == "gave up after 2 attempts: FCM 500 INTERNAL: scripted 500"
    assert fcm.received == []


@pytest.mark.gen_test(timeout=30)
async def test_fcm_dead_tokens_are_disabled_and_a_bad_message_fails(servers, fcm):
    gone, malformed, alive = (registration_token() for _ in range(3))
    fcm.unregistered.add(gone)
    fcm.malformed.add(malformed)
    ctx = await servers.start(**fcm.settings)
    svc = ctx.notifications

    def register(session):
        for token in (gone, malformed, alive):
            svc.add_address(session, user="ada", channel="fcm", address=token, plugin="testnotify")
        return svc.send_to_user(session, plugin="testnotify", user="ada", body="hi", key="k1")

    assert len(await ctx.db.run(register)) == 3
    # "from" is a key FCM reserves: the message is refused, the token is fine
    reserved = await svc.submit(
        plugin="testnotify", channel="fcm", to=alive, body="x", data={"from": "me"}
    )
    await eventually(lambda: len(servers.hooked) == 2, what="the plugin told of two")
    await eventually(lambda: _decided(ctx, 4), what="every message decided")
    told = {r.address: r.reason for r in servers.hooked}
    assert told == {
        gone: "FCM 404 NOT_FOUND UNREGISTERED: Requested entity was not found.",
        malformed: "FCM 400 INVALID_ARGUMENT: "
        "The registration token is not a valid FCM registration token",
    }
    (refused,) = await rows(ctx, pk=reserved)
    assert refused.status == "failed" and refused.attempts == 1
    assert refused.last_error == (
        "FCM 400 INVALID_ARGUMENT: Invalid data payload key: from is reserved"
    )
    addresses = {a["address"]: a for a in await ctx.db.run(svc.addresses, "ada")}
    assert {a for a, row in addresses.items() if row["disabled_at"]} == {gone, malformed}
    assert [m["token"] for m in fcm.received] == [alive]


@pytest.mark.gen_test(timeout=30)
async def test_fcm_a_refused_access_token_is_replaced_and_the_message_sent(servers, fcm):
    ctx = await servers.start(**fcm.settings)
    first, second = registration_token(), registration_token()
    await ctx.notifications.submit(plugin="testnotify", channel="fcm", to=first, body="1")
    await eventually(lambda: len(fcm.received) == 1, what="the first message")
    fcm.revoke_access_tokens()
    await ctx.notifications.submit(plugin="testnotify", channel="fcm", to=second, body="2")
    await eventually(lambda: len(fcm.received) == 2, what="the second message")
    await eventually(lambda: _all_status(ctx, "sent"), what="both sent")
    assert len(fcm.grants) == 2
    assert [to for _, to in fcm.requests] == [first, second, second]
    assert all(m.attempts == 1 for m in await rows(ctx))


@pytest.mark.gen_test(timeout=30)
async def test_fcm_a_service_account_the_token_endpoint_refuses_fails_the_message(servers, fcm):
    other, _ = fcm_standin.make_service_account(PROJECT)
    other["token_uri"] = fcm.info["token_uri"]
    settings = {**fcm.settings, "FcmProvider": {**fcm.settings["FcmProvider"]}}
    settings["FcmProvider"]["service_account_info"] = json.dumps(other)
    ctx = await servers.start(**settings)
    await ctx.notifications.submit(
        plugin="testnotify", channel="fcm", to=registration_token(), body="x"
    )
    await eventually(lambda: _all_status(ctx, "failed"), what="failed")
    (message,) = await rows(ctx)
    assert message.last_error.startswith("FCM access token: ")
    assert "invalid_grant" in message.last_error and message.attempts == 1
    assert fcm.requests == []


# -- start-up and addresses --------------------------------------------------------------------


def _service(make_config, tmp_path, **sections) -> NotificationService:
    from ngshare.context import ServerContext

    config = make_config()
    config.update_config(Config(sections))
    ctx = ServerContext(config=config, db=None, storage=None, identity=None)  # type: ignore[arg-type]
    return NotificationService(ctx)


@pytest.mark.parametrize(
    ("sections", "reason"),
    [
        (
            {"ApnsProvider": {}},
            "notifications: apns through apns: set c.ApnsProvider.key_file and "
            "c.ApnsProvider.key_id and c.ApnsProvider.team_id and c.ApnsProvider.topic",
        ),
        (
            {
                "ApnsProvider": {
                    "key_file": "/nonexistent/AuthKey.p8",
                    "key_id": "K",
                    "team_id": "T",
                    "topic": "t",
                }
            },
            "notifications: apns through apns: c.ApnsProvider.key_file "
            "'/nonexistent/AuthKey.p8': No such file or directory",
        ),
        (
            {"ApnsProvider": {"key": "not a key", "key_id": "K", "team_id": "T", "topic": "t"}},
            "notifications: apns through apns: c.ApnsProvider.key: not a PEM private key (.p8)",
        ),
        (
            {"FcmProvider": {}},
            "notifications: fcm through fcm: set c.FcmProvider.service_account_file",
        ),
        (
            {"FcmProvider": {"service_account_info": "{not json"}},
            "notifications: fcm through fcm: c.FcmProvider.service_account_info: not JSON",
        ),
        (
            {"FcmProvider": {"service_account_info": '{"type": "authorized_user"}'}},
            "notifications: fcm through fcm: c.FcmProvider.service_account_info: "
            'not a service account key (its "type" must be "service_account")',
        ),
    ],
)
def test_a_missing_or_unusable_setting_refuses_start_up_with_one_line(
    make_config, tmp_path, sections, reason
):
    channel = "apns" if "ApnsProvider" in sections else "fcm"
    with pytest.raises(ValueError) as refused:
        _service(
            make_config,
            tmp_path,
            NotificationService={"channels": {channel: channel}},
            **sections,
        )
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(reason)


def test_an_rsa_key_is_not_an_apns_key_and_a_project_id_is_needed(make_config, tmp_path):
    info, _ = fcm_standin.make_service_account(PROJECT)
    with pytest.raises(ValueError, match="not an APNs key: an APNs .p8 key is an EC P-256 key"):
        _service(
            make_config,
            tmp_path,
            NotificationService={"channels": {"apns": "apns"}},
            ApnsProvider={"key": info["private_key"], "key_id": "K", "team_id": "T", "topic": "t"},
        )
    del info["project_id"]
    with pytest.raises(ValueError, match=r"set c.FcmProvider.project_id \(the service account"):
        _service(
            make_config,
            tmp_path,
            NotificationService={"channels": {"fcm": "fcm"}},
            FcmProvider={"service_account_info": json.dumps(info)},
        )
    svc = _service(
        make_config,
        tmp_path,
        NotificationService={"channels": {"fcm": "fcm"}},
        FcmProvider={"service_account_info": json.dumps(info), "project_id": "given"},
    )
    assert svc.providers["fcm"].project_id == "given"


def test_device_tokens_are_checked_and_normalised():
    token = secrets.token_hex(32)
    spaced = "<" + " ".join(token[i : i + 8] for i in range(0, 64, 8)).upper() + ">"
    assert normalize_address("apns", spaced) == token
    fcm_token = registration_token()
    assert normalize_address("fcm", fcm_token) == fcm_token
    for channel, address, message in [
        ("apns", "abc123", "an even number \\(at least 64\\) of hex digits"),
        ("apns", "g" * 64, "hex digits"),
        ("apns", token + "0", "hex digits"),
        ("fcm", "short", "registration token"),
        ("fcm", "a" * 40 + " with spaces", "registration token"),
    ]:
        with pytest.raises(NotificationError, match=message):
            normalize_address(channel, address)


@pytest.mark.gen_test(timeout=30)
async def test_bad_device_tokens_are_refused_when_added(server, api):
    for channel, address, message in [
        ("apns", "not-a-token", "an apns address must be a device token"),
        ("apns", "ab" * 20, "at least 64"),
        ("fcm", "bad token!" * 5, "an fcm address must be a registration token"),
    ]:
        status, body = await api(
            "POST", "notifications/addresses", user="ada", channel=channel, address=address
        )
        assert (status, body["success"]) == (400, False), (channel, address)
        assert message in body["message"]
    assert (await api("GET", "notifications/addresses", user="ada"))[1]["addresses"] == []
    token = secrets.token_hex(32)
    status, body = await api(
        "POST", "notifications/addresses", user="ada", channel="apns", address=token.upper()
    )
    assert status == 201 and body["address"]["address"] == token
