"""session/initialize and session/update: ID tokens from the local issuer, rotation, devices."""

from __future__ import annotations

import asyncio
import time

import pytest
from ngshare_coursegrab import errors
from ngshare_coursegrab.models import DeviceSession
from sqlalchemy import func, select

from tests.standins.oidc import new_key

from .conftest import AUDIENCES, ios_token


async def session_count(server) -> int:
    return await server.db.run(lambda s: s.scalar(select(func.count(DeviceSession.pk))))


async def initialize(cg, id_token, device_type="IOS", device_token=None, **extra):
    return await cg.call(
        "POST",
        "session/initialize",
        json_body={"token": id_token, "device_type": device_type, "device_token": device_token},
        **extra,
    )


@pytest.mark.gen_test
async def test_a_valid_id_token_gives_a_working_session(cg, issuer):
    data = (await initialize(cg, issuer.id_token("ada@cornell.edu", "ios-client"))).data
    assert set(data) == {"session_expiration", "session_token", "update_token"}
    assert abs(data["session_expiration"] - (time.time() + 86400)) < 120
    tracking = await cg.call("GET", "users/tracking", token=data["session_token"])
    assert tracking.data == {"sections": []}


@pytest.mark.parametrize(
    "case",
    ["expired", "wrong_audience", "wrong_issuer", "unknown_key", "bad_signature", "not_a_jwt"],
)
@pytest.mark.gen_test
async def test_bad_id_tokens_are_401_invalid_token(cg, issuer, server, case):
    email, aud = "ada@cornell.edu", "ios-client"
    token = {
        "expired": lambda: issuer.id_token(email, aud, lifetime=-600),
        "wrong_audience": lambda: issuer.id_token(email, "android-client"),
        "wrong_issuer": lambda: issuer.id_token(email, aud, iss="https://evil.example.org"),
        "unknown_key": lambda: issuer.id_token(email, aud, kid="nobody", key=new_key()),
        "bad_signature": lambda: issuer.id_token(email, aud, key=new_key()),
        "not_a_jwt": lambda: "definitely.not.ajwt",
    }[case]()
    assert (await initialize(cg, token)).error == (401, errors.ERR_BAD_TOKEN)
    assert await session_count(server) == 0


@pytest.mark.gen_test
async def test_a_rotated_key_is_fetched_once_and_then_cached(cg, issuer):
    await cg.sign_in("ada@cornell.edu")
    assert issuer.jwks_fetches == 1
    await cg.sign_in("bob@cornell.edu")
    assert issuer.jwks_fetches == 1  # cached
    issuer.rotate()
    await cg.sign_in("cy@cornell.edu")
    assert issuer.jwks_fetches == 2  # unknown kid: the set is fetched again


@pytest.mark.gen_test
async def test_an_unreachable_issuer_is_a_503_not_a_500(cg, issuer):
    issuer.unavailable = True
    reply = await initialize(cg, issuer.id_token("ada@cornell.edu", "ios-client"))
    assert reply.error == (503, errors.ERR_IDP_UNREACHABLE)


@pytest.mark.gen_test
async def test_update_rotates_both_tokens_and_the_old_update_token_dies(cg):
    first = await cg.sign_in("ada@cornell.edu")
    second = (await cg.call("POST", "session/update", token=first["update_token"])).data
    assert second["session_token"] != first["session_token"]
    assert second["update_token"] != first["update_token"]
    again = await cg.call("POST", "session/update", token=first["update_token"])
    assert again.error == (401, errors.ERR_BAD_UPDATE_TOKEN)
    old = await cg.call("GET", "users/tracking", token=first["session_token"])
    assert old.error == (401, errors.ERR_BAD_SESSION)
    assert (await cg.call("GET", "users/tracking", token=second["session_token"])).data


@pytest.mark.gen_test
async def test_a_session_token_is_not_an_update_token(cg):
    first = await cg.sign_in("ada@cornell.edu")
    reply = await cg.call("POST", "session/update", token=first["session_token"])
    assert reply.error == (401, errors.ERR_BAD_UPDATE_TOKEN)
    missing = await cg.call("POST", "session/update")
    assert missing.error == (401, errors.ERR_MISSING_AUTH)
    bad = await cg.call("POST", "session/update", headers={"Authorization": "Basic x"})
    assert bad.error == (401, errors.ERR_BAD_AUTH)


@pytest.mark.gen_test
async def test_one_session_per_device_token(cg, server):
    first = await cg.sign_in("ada@cornell.edu", device_token=ios_token("device-aaa"))
    second = await cg.sign_in("ada@cornell.edu", device_token=ios_token("device-aaa"))
    count = await session_count(server)
    assert count == 1
    old = await cg.call("GET", "users/tracking", token=first["session_token"])
    assert old.status == 401
    assert (await cg.call("GET", "users/tracking", token=second["session_token"])).data


@pytest.mark.gen_test
async def test_dev_identity_signs_in_without_a_token(cg):
    reply = await cg.call("POST", "session/initialize", json_body={}, user="ada")
    data = reply.data
    me = await cg.call("GET", "users/tracking", token=data["session_token"])
    assert me.data == {"sections": []}


@pytest.mark.gen_test
async def test_initialize_refuses_bad_input(cg, issuer):
    nobody = await cg.call("POST", "session/initialize", json_body={})
    assert nobody.error == (401, errors.ERR_NO_IDENTITY)
    token = issuer.id_token("ada@cornell.edu", "ios-client")
    bad_type = await initialize(cg, token, device_type="PALM")
    assert bad_type.error == (400, errors.ERR_BAD_DEVICE_TYPE)
    not_json = await cg.call("POST", "session/initialize", body="{nope", user="ada")
    assert not_json.error[0] == 400
    not_object = await cg.call("POST", "session/initialize", json_body=[1, 2])
    assert not_object.error == (400, errors.ERR_BAD_JSON)
    number = await cg.call("POST", "session/initialize", json_body={"token": 5})
    assert number.error == (400, errors.ERR_NOT_TEXT.format(name="token"))


@pytest.mark.gen_test
async def test_a_session_token_cannot_mint_another_session(cg):
    data = await cg.sign_in("ada@cornell.edu")
    reply = await cg.call("POST", "session/initialize", json_body={}, token=data["session_token"])
    assert reply.error == (401, errors.ERR_NO_IDENTITY)


@pytest.mark.gen_test
async def test_email_domains_are_enforced_when_configured(cg, issuer, server):
    from ngshare_coursegrab.config import CourseGrab

    server.state(CourseGrab).allowed_email_domains = ["cornell.edu"]
    reply = await initialize(cg, issuer.id_token("eve@gmail.com", AUDIENCES["IOS"]))
    assert reply.error == (403, errors.ERR_EMAIL_DOMAIN.format(domains="cornell.edu"))
    assert (await initialize(cg, issuer.id_token("ada@cornell.edu", "ios-client"))).data


@pytest.mark.gen_test
async def test_concurrent_sign_ins_from_one_new_device_make_one_session(cg, server):
    replies = await asyncio.gather(
        *(
            cg.sign_in("ada@cornell.edu", device_token=ios_token("same-new-device"))
            for _ in range(4)
        )
    )
    assert len({r["session_token"] for r in replies}) == 4
    assert await session_count(server) == 1
    live = [
        (await cg.call("GET", "users/tracking", token=r["session_token"])).status for r in replies
    ]
    assert live.count(200) == 1


@pytest.mark.gen_test
async def test_concurrent_refreshes_with_one_update_token_have_one_winner(cg):
    first = await cg.sign_in("ada@cornell.edu")
    replies = await asyncio.gather(
        *(cg.call("POST", "session/update", token=first["update_token"]) for _ in range(4))
    )
    assert sorted(r.status for r in replies) == [200, 401, 401, 401]


@pytest.mark.gen_test
async def test_sessions_racing_for_one_device_token_leave_one_holder(cg, server):
    sessions = [await cg.sign_in(f"u{i}@cornell.edu") for i in range(3)]
    replies = await asyncio.gather(
        *(
            cg.call(
                "POST",
                "users/device-token",
                json_body={"device_token": ios_token("contested")},
                token=s["session_token"],
            )
            for s in sessions
        )
    )
    assert all(r.status in (200, 401, 409) for r in replies), [r.body for r in replies]
    holders = await server.db.run(
        lambda s: s.scalar(
            select(func.count(DeviceSession.pk)).where(
                DeviceSession.device_token == ios_token("contested")
            )
        )
    )
    assert holders == 1


@pytest.mark.parametrize(
    ("device_type", "device_token", "words"),
    [
        ("IOS", "kevins-phone", "an apns address must be a device token"),
        ("ANDROID", "short", "an fcm address must be a registration token"),
    ],
)
@pytest.mark.gen_test
async def test_a_device_token_the_provider_could_never_take_is_a_400(
    cg, server, issuer, device_type, device_token, words
):
    id_token = issuer.id_token("ada@cornell.edu", AUDIENCES[device_type])
    reply = await initialize(cg, id_token, device_type, device_token)
    status, message = reply.error
    assert status == 400 and message.startswith(words), message
    assert await session_count(server) == 0  # nothing half-written
