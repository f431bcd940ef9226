"""The Twilio SMS webhook: signed texts from organiser numbers become announcements."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import pytest

from ngshare.twilio_signature import compute_signature

AUTH_TOKEN = "twilio-auth-token-for-tests"
ORGANISER_PHONE = "+16505550100"
PATH = "sms/announcement"


@pytest.fixture
def twilio(settings):
    settings.twilio_auth_token = AUTH_TOKEN
    settings.organiser_phone_numbers = ["+1 (650) 555-0100"]  # normalised by the config
    return settings


def text_message(body="Dinner is served", sender=ORGANISER_PHONE, sid="SM0001", **extra):
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": "AC0001",
        "From": sender,
        "To": "+16505550199",
        "Body": body,
        "NumMedia": "0",
        **extra,
    }


async def post(vv, params, signature=None, *, signed_url=None, token=AUTH_TOKEN, query=None):
    """POST ``params`` as Twilio does; signed for ``signed_url`` (default: the URL called)."""
    url = vv.root + PATH + ("?" + urlencode(query) if query else "")
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature is None:
        signature = compute_signature(token, signed_url or url, list(params.items()))
    if signature:
        headers["X-Twilio-Signature"] = signature
    return await vv.call("POST", PATH, body=urlencode(params), headers=headers, query=query)


async def messages(vv):
    return [a["message"] for a in (await vv.call("GET", "announcements")).data]


# -- the webhook ----------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_a_signed_text_from_an_organiser_becomes_an_announcement(vv, twilio, server):
    reply = await post(vv, text_message("Dinner is served"))
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/xml")
    assert reply.raw == b'<?xml version="1.0" encoding="UTF-8"?><Response/>'
    assert await messages(vv) == ["Dinner is served"]


@pytest.mark.gen_test
async def test_a_wrong_signature_is_refused_and_logged_without_secrets(vv, twilio, caplog):
    forged = compute_signature("not-the-token", vv.root + PATH, list(text_message().items()))
    with caplog.at_level(logging.WARNING):
        reply = await post(vv, text_message(), signature=forged)
    assert reply.error == (403, "Refused")
    assert await messages(vv) == []
    logged = caplog.text
    assert "vivere.sms: refused" in logged and "invalid signature" in logged
    assert AUTH_TOKEN not in logged and forged not in logged and "Dinner" not in logged


@pytest.mark.gen_test
async def test_a_missing_signature_is_refused(vv, twilio):
    assert (await post(vv, text_message(), signature="")).error == (403, "Refused")
    assert await messages(vv) == []


@pytest.mark.gen_test
async def test_a_tampered_body_is_refused(vv, twilio):
    signature = compute_signature(AUTH_TOKEN, vv.root + PATH, list(text_message("hi").items()))
    reply = await post(vv, text_message("Free pizza in room 12"), signature=signature)
    assert reply.error == (403, "Refused")


@pytest.mark.gen_test
async def test_a_signed_text_from_another_number_is_refused(vv, twilio, caplog):
    with caplog.at_level(logging.WARNING):
        reply = await post(vv, text_message(sender="+14155550123"))
    assert reply.error == (403, "Refused")
    assert "not in c.Vivere.organiser_phone_numbers" in caplog.text
    assert await messages(vv) == []


@pytest.mark.gen_test
async def test_a_request_signed_for_another_url_is_refused(vv, twilio):
    elsewhere = "https://other.example.org/hooks/sms"
    assert (await post(vv, text_message(), signed_url=elsewhere)).error == (403, "Refused")
    # signed for this URL, replayed with another query string
    signature = compute_signature(AUTH_TOKEN, vv.root + PATH, list(text_message().items()))
    replay = await post(vv, text_message(), signature=signature, query={"x": "1"})
    assert replay.error == (403, "Refused")
    assert await messages(vv) == []


@pytest.mark.gen_test
async def test_behind_a_proxy_the_public_url_is_what_is_signed(vv, twilio):
    twilio.public_url = "https://api.menlohacks.com"
    public = "https://api.menlohacks.com/api/vivere/" + PATH
    assert (await post(vv, text_message(), signed_url=vv.root + PATH)).status == 403
    assert (await post(vv, text_message(), signed_url=public)).status == 200
    assert await messages(vv) == ["Dinner is served"]


@pytest.mark.gen_test
async def test_without_an_auth_token_every_call_is_refused(vv, settings):
    settings.organiser_phone_numbers = [ORGANISER_PHONE]
    assert settings.twilio_auth_token == ""
    reply = await post(vv, text_message(), token="")
    assert reply.error == (403, "Refused")


@pytest.mark.gen_test
async def test_a_configured_account_sid_must_match(vv, twilio):
    twilio.twilio_account_sid = "AC0002"
    assert (await post(vv, text_message())).error == (403, "Refused")
    assert (await post(vv, text_message(AccountSid="AC0002"))).status == 200


@pytest.mark.gen_test
async def test_the_same_message_sid_creates_one_announcement(vv, twilio):
    assert (await post(vv, text_message(sid="SM42"))).status == 200
    assert (await post(vv, text_message(sid="SM42"))).status == 200  # Twilio retrying
    assert await messages(vv) == ["Dinner is served"]


@pytest.mark.gen_test
async def test_an_empty_text_is_a_400(vv, twilio):
    assert (await post(vv, text_message(body="   "))).error == (400, "Say something")


@pytest.mark.gen_test
async def test_a_json_body_is_not_a_twilio_message(vv, twilio):
    reply = await vv.call(
        "POST",
        PATH,
        json_body=text_message(),
        headers={"X-Twilio-Signature": compute_signature(AUTH_TOKEN, vv.root + PATH, [])},
    )
    assert reply.error == (403, "Refused")  # signed, but it names no organiser number


@pytest.mark.gen_test
@pytest.mark.parametrize("field", ["Body", "MessageSid"])
async def test_a_nul_in_a_signed_text_is_a_400_and_announces_nothing(vv, twilio, field):
    params = text_message(**{field: "Dinner\x00 is served"})
    reply = await post(vv, params)
    assert reply.error == (
        400,
        f"{field} contains a character that cannot be stored (NUL or a lone surrogate)",
    )
    assert await messages(vv) == []
