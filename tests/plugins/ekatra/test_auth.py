"""Accounts: sign-up, login with a bearer token, and a password reset that is only e-mailed."""

from __future__ import annotations

import re

import pytest

from tests.plugins.ekatra.conftest import PASSWORD
from tests.waiting import eventually

EMAIL = "ada@example.org"


async def sign_up(ek, email=EMAIL, **extra):
    body = {"name": "Ada", "email": email, "contact": "9999999999", "password": PASSWORD, **extra}
    return await ek.call("POST", "auth/signup", json_body=body, user=None)


async def log_in(ek, email=EMAIL, password=PASSWORD):
    body = {"email": email, "password": password}
    return await ek.call("POST", "auth/login", json_body=body, user=None)


@pytest.mark.gen_test(timeout=30)
async def test_sign_up_then_log_in_gives_a_bearer_token_for_the_api(ek):
    created = (await sign_up(ek)).ok()
    assert created["message"] == "Success" and created["id"].isdigit()
    token = (await log_in(ek, email="ADA@example.org")).ok()["token"]
    listed = await ek.call("GET", "course/", token=token)
    assert listed.ok() == {"message": "success", "courses": []}  # empty is not an error


@pytest.mark.gen_test(timeout=30)
async def test_sign_up_refusals(ek):
    await sign_up(ek)
    assert (await sign_up(ek)).error() == (409, f"User with email {EMAIL} already exists")
    for body, message in [
        ({"name": "x", "password": PASSWORD}, "Fields not filled"),
        ({"name": "x", "email": "b@example.org"}, "Fields not filled"),
        ({"email": "not-an-email", "password": PASSWORD}, "email must be an e-mail address"),
        ({"email": "c@example.org", "password": "short"}, "Password must be at least 8 characters"),
        (
            {"email": "d@example.org", "password": PASSWORD, "contact": ["x"]},
            "contact must be a string",
        ),
    ]:
        reply = await ek.call("POST", "auth/signup", json_body=body, user=None)
        assert reply.error() == (400, message), body
    reply = await ek.call("POST", "auth/signup", body="[1, 2]", user=None)
    assert reply.error() == (400, "The body must be a JSON object")
    reply = await ek.call("POST", "auth/signup", body="{nope", user=None)
    assert reply.error() == (400, "Request is missing the required fields")


@pytest.mark.gen_test(timeout=30)
async def test_a_wrong_password_and_an_unknown_email_get_the_same_401(ek):
    await sign_up(ek)
    wrong = await log_in(ek, password="not the password")
    unknown = await log_in(ek, email="nobody@example.org")
    assert wrong.error() == unknown.error() == (401, "Either email or password is incorrect")
    assert (await ek.call("POST", "auth/login", json_body={}, user=None)).error() == (
        400,
        "email is required",
    )


@pytest.mark.gen_test(timeout=30)
async def test_the_api_needs_an_identity(ek):
    reply = await ek.call("GET", "course/", user=None)
    assert reply.error() == (401, "Missing Authorization Header")
    reply = await ek.call("GET", "course/", token="not-a-token")
    assert reply.status == 401


@pytest.mark.gen_test(timeout=60)
async def test_forgot_emails_a_single_use_link_and_never_returns_the_token(ek, smtp):
    await sign_up(ek)
    old_token = (await log_in(ek)).ok()["token"]
    answer = (await ek.call("POST", "auth/forgot", json_body={"email": EMAIL}, user=None)).ok()
    assert set(answer) == {"message"}  # no token in the answer
    await eventually(lambda: len(smtp.received) == 1, what="the reset e-mail")
    mail = smtp.received[0]
    assert mail.rcpt_tos == [EMAIL]
    assert mail.message["Subject"] == "Reset your Ekatra password"
    text = mail.message.get_body(("plain",)).get_content()
    token = re.search(r"/api/ekatra/auth/reset/(\S+)", text).group(1)
    assert token not in str(answer)

    # the README's field spellings
    mismatch = {"new-password": "new password 1", "conform-password": "new password 2"}
    reply = await ek.call("POST", f"auth/reset/{token}", json_body=mismatch, user=None)
    assert reply.error() == (400, "Password not matched!!")
    body = {"new-password": "new password 1", "conform-password": "new password 1"}
    reply = await ek.call("POST", f"auth/reset/{token}", json_body=body, user=None)
    assert reply.ok()["message"] == "password reset success"
    again = await ek.call("POST", f"auth/reset/{token}", json_body=body, user=None)
    assert again.error() == (403, "Invalid token")  # single use
    assert (await log_in(ek)).status == 401
    assert (await log_in(ek, password="new password 1")).status == 200
    # the old session ended with the reset
    assert (await ek.call("GET", "course/", token=old_token)).status == 401
    await eventually(lambda: len(smtp.received) == 2, what="the confirmation e-mail")
    assert smtp.received[1].message["Subject"] == "Your Ekatra password was reset"


@pytest.mark.gen_test(timeout=30)
async def test_forgot_answers_the_same_for_an_unknown_address_and_sends_nothing(ek, smtp):
    await sign_up(ek)
    known = await ek.call("POST", "auth/forgot", json_body={"email": EMAIL}, user=None)
    unknown = await ek.call("POST", "auth/forgot", json_body={"email": "x@example.org"}, user=None)
    assert known.ok() == unknown.ok()
    await eventually(lambda: len(smtp.received) == 1, what="one e-mail")
    assert [r.rcpt_tos for r in smtp.received] == [[EMAIL]]
    bad = await ek.call("POST", "auth/forgot", json_body={"email": 5}, user=None)
    assert bad.error() == (400, "email must be a string")


@pytest.mark.gen_test(timeout=30)
async def test_a_made_up_or_api_token_does_not_reset(ek):
    await sign_up(ek)
    api_token = (await log_in(ek)).ok()["token"]
    body = {"password": "new password 1", "confirm_password": "new password 1"}
    for token in ("made-up", api_token):
        reply = await ek.call("POST", f"auth/reset/{token}", json_body=body, user=None)
        assert reply.error() == (403, "Invalid token")
    assert (await log_in(ek)).status == 200


@pytest.mark.gen_test(timeout=30)
async def test_the_reset_link_points_where_the_operator_says(ek, server, smtp):
    from ngshare_ekatra.config import Ekatra

    server.state(Ekatra).reset_link = "https://ekatra.example.org/reset?t={token}"
    await sign_up(ek)
    (await ek.call("POST", "auth/forgot", json_body={"email": EMAIL}, user=None)).ok()
    await eventually(lambda: len(smtp.received) == 1, what="the reset e-mail")
    text = smtp.received[0].message.get_body(("plain",)).get_content()
    token = re.search(r"https://ekatra\.example\.org/reset\?t=(\S+)", text).group(1)
    body = {"password": "new password 1", "confirm_password": "new password 1"}
    assert (await ek.call("POST", f"auth/reset/{token}", json_body=body, user=None)).status == 200
