"""Learners' replies over Twilio's signed webhook: answers, marking, STOP and START."""

from __future__ import annotations

import asyncio
from datetime import datetime
from urllib.parse import urlencode

import pytest
from ngshare_ekatra.config import Ekatra

from ngshare.twilio_signature import compute_signature
from tests.plugins.ekatra.conftest import (
    KOLKATA,
    NEW_YORK,
    TWILIO_TOKEN,
    eventually,
    make_course,
    make_group,
    run_engine,
)

PATH = "twilio/inbound"


async def reply(ek, sender: str, text: str, sid: str = "SM1", *, signature=None, token=None):
    """POST as Twilio does, signed with the account's token unless told otherwise."""
    params = {
        "MessageSid": sid,
        "AccountSid": "AC1",
        "From": sender,
        "To": "+15005550006",
        "Body": text,
        "NumMedia": "0",
    }
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature is None:
        signature = compute_signature(token or TWILIO_TOKEN, ek.root + PATH, list(params.items()))
    if signature:
        headers["X-Twilio-Signature"] = signature
    return await ek.call("POST", PATH, body=urlencode(params), headers=headers, user=None)


async def started(ek, server, clock, twilio):
    """A delivery at 12:00 UTC to New York (SMS) and Kolkata (WhatsApp), days 1 and 2 sent."""
    clock.set(datetime(2030, 1, 1, 11, 0))
    course, group = await make_course(ek), await make_group(ek)
    body = {"schedule_at": "2030-01-01 12:00"}
    delivery = (await ek.call("POST", f"delivery/group/{group}/{course}", json_body=body)).ok()[
        "id"
    ]
    clock.set(datetime(2030, 1, 3, 7, 0))  # day 2 at 12:00 in both places has passed
    await run_engine(server)
    await eventually(lambda: len(twilio.received) == 2 * (1 + 1 + 3), what="days 1 and 2")
    return delivery


@pytest.mark.gen_test(timeout=60)
async def test_replies_answer_the_open_questions_in_order_and_are_marked(ek, server, clock, twilio):
    delivery = await started(ek, server, clock, twilio)
    assert (await reply(ek, NEW_YORK, " A) ", sid="SM1")).status == 200
    assert (await reply(ek, NEW_YORK, "function", sid="SM2")).status == 200
    assert (await reply(ek, NEW_YORK, "one too many", sid="SM3")).status == 200  # nothing open
    answered = await reply(ek, "whatsapp:" + KOLKATA, "b", sid="SM4")
    assert answered.status == 200 and answered.headers["Content-Type"].startswith("text/xml")
    await reply(ek, NEW_YORK, "A", sid="SM1")  # Twilio retrying: nothing new
    answers = (await ek.call("GET", f"delivery/{delivery}/answers")).ok()["answers"]
    got = sorted(
        (a["student_name"], a["day"], a["question_number"], a["answer"], a["is_correct"])
        for a in answers
    )
    assert got == [
        ("Amy", 2, 1, "A)", True),
        ("Amy", 2, 2, "function", False),
        ("Tejas", 2, 1, "b", False),
    ]
    amy = next(a["student_id"] for a in answers if a["student_name"] == "Amy")
    one = await ek.call("GET", f"delivery/{delivery}/answers", query={"student": str(amy)})
    assert len(one.ok()["answers"]) == 2
    summary = (await ek.call("GET", f"delivery/{delivery}/summary")).ok()["days"]
    assert summary[1] == {
        "day": 2,
        "sent": 2,
        "late": 2,  # the clock jumped past both sending times
        "skipped": 0,
        "answers": 3,
        "correct": 1,
        "incorrect": 2,
    }
    # day 3's question is free text: recorded, not marked
    clock.set(datetime(2030, 1, 4, 7, 0))
    await run_engine(server)
    await eventually(lambda: len(twilio.received) == 10 + 2 * 3, what="day 3 and closing")
    await reply(ek, NEW_YORK, "A good day", sid="SM5")
    answers = (await ek.call("GET", f"delivery/{delivery}/answers")).ok()["answers"]
    assert ("A good day", None) in [(a["answer"], a["is_correct"]) for a in answers]


@pytest.mark.gen_test(timeout=60)
async def test_stop_unsubscribes_and_start_resubscribes(ek, server, clock, twilio):
    delivery = await started(ek, server, clock, twilio)
    await reply(ek, NEW_YORK, "stop", sid="SM9")
    group = (await ek.call("GET", "group/")).ok()["groups"][0]
    amy = next(s for s in group["students"] if s["number"] == NEW_YORK)
    assert amy["is_subscribed"] is False
    clock.set(datetime(2030, 1, 4, 7, 0))
    await run_engine(server)
    await eventually(lambda: len(twilio.received) == 10 + 3, what="Kolkata's day 3 and closing")
    await asyncio.sleep(0.2)
    assert [m["To"] for m in twilio.received[10:]] == ["whatsapp:" + KOLKATA] * 3
    summary = (await ek.call("GET", f"delivery/{delivery}/summary")).ok()["days"]
    assert (summary[2]["sent"], summary[2]["skipped"]) == (1, 1)
    await reply(ek, NEW_YORK, "START", sid="SM10")
    group = (await ek.call("GET", "group/")).ok()["groups"][0]
    assert all(s["is_subscribed"] for s in group["students"])


@pytest.mark.gen_test(timeout=30)
async def test_unsigned_or_forged_webhooks_are_refused(ek, server, clock, twilio):
    await started(ek, server, clock, twilio)
    assert (await reply(ek, NEW_YORK, "STOP", signature="")).error() == (403, "Refused")
    forged = await reply(ek, NEW_YORK, "STOP", token="not-the-token")
    assert forged.error() == (403, "Refused")
    server.state(Ekatra).twilio_auth_token = ""
    assert (await reply(ek, NEW_YORK, "STOP")).error() == (403, "Refused")
    server.state(Ekatra).twilio_auth_token = TWILIO_TOKEN
    assert (await reply(ek, "not-a-number", "STOP")).error() == (
        400,
        "number must be a phone number with its country code, e.g. +919380169981",
    )
    group = (await ek.call("GET", "group/")).ok()["groups"][0]
    assert all(s["is_subscribed"] for s in group["students"])  # nothing was changed
