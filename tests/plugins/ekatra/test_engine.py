"""The delivery engine, driven by a settable clock, with every message crossing the Twilio stand-in.

Learners in Asia/Kolkata and America/New_York get each day at the delivery's
local time of day in their own timezone, across the end of US daylight-saving
time (2026-11-01); a restart in the middle sends what was missed once, late;
two servers running the job together send nothing twice.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from datetime import datetime

import pytest
import sqlalchemy as sa
from ngshare_ekatra.config import Ekatra
from ngshare_ekatra.models import Recipient, Send

from ngshare.notifications.models import OutboxMessage
from tests.plugins.ekatra.conftest import (
    KOLKATA,
    NEW_YORK,
    eventually,
    group_body,
    make_course,
    make_group,
    run_engine,
)

WA_KOLKATA = "whatsapp:" + KOLKATA


async def schedule(ek, at="2026-10-30 09:00", tz="America/New_York", group=None, course=None):
    course = course or await make_course(ek)
    group = group or await make_group(ek)
    reply = await ek.call(
        "POST", f"delivery/group/{group}/{course}", json_body={"schedule_at": at, "timezone": tz}
    )
    return reply.ok()["id"]


async def tick(ctx, clock, twilio, at: datetime, expected_total: int) -> None:
    """Move the clock to ``at``, run the job, and wait for Twilio to hold ``expected_total``."""
    clock.set(at)
    await run_engine(ctx)
    await eventually(
        lambda: len(twilio.received) >= expected_total, what=f"{expected_total} at Twilio"
    )
    await asyncio.sleep(0.1)  # nothing more arrives
    assert len(twilio.received) == expected_total, [m["Body"][:30] for m in twilio.received]


def bodies_to(twilio, to: str) -> list[str]:
    return [m["Body"] for m in twilio.received if m["To"] == to]


@pytest.mark.gen_test(timeout=60)
async def test_each_learner_gets_each_day_at_local_time_across_a_dst_change(
    ek, server, clock, twilio
):
    clock.set(datetime(2026, 10, 30, 12, 0))
    delivery = await schedule(ek)
    await tick(server, clock, twilio, datetime(2026, 10, 30, 12, 59), 0)
    # 09:00 EDT = 13:00 UTC: New York gets the welcome and day 1; Kolkata (22:30) the welcome
    await tick(server, clock, twilio, datetime(2026, 10, 30, 13, 0), 3)
    assert sorted(b.split("\n")[0] for b in bodies_to(twilio, NEW_YORK)) == [
        "*Course - Python*",
        "Hi Amy! Welcome to Python! Your first lesson arrives soon. Reply STOP to unsubscribe.",
    ]
    assert bodies_to(twilio, WA_KOLKATA)[0].startswith("Hi Tejas! Welcome to Python")
    # Kolkata's day 1 at 09:00 IST = 03:30 UTC the next day
    await tick(server, clock, twilio, datetime(2026, 10, 31, 3, 29), 3)
    await tick(server, clock, twilio, datetime(2026, 10, 31, 3, 30), 4)
    # day 2: the text, then its two questions
    await tick(server, clock, twilio, datetime(2026, 10, 31, 13, 0), 7)
    day2 = sorted(bodies_to(twilio, NEW_YORK)[2:])  # sent concurrently: any order
    assert day2[0].startswith("*Course - Python*\n*Day 2*")
    assert day2[1].startswith("*Day 2 - Question 1 of 2*\nWhat does print do?")
    assert day2[2].startswith("*Day 2 - Question 2 of 2*")
    await tick(server, clock, twilio, datetime(2026, 11, 1, 3, 30), 10)
    # after the change 09:00 EST is 14:00 UTC: nothing at 13:00 UTC any more
    await tick(server, clock, twilio, datetime(2026, 11, 1, 13, 0), 10)
    await tick(server, clock, twilio, datetime(2026, 11, 1, 14, 0), 13)
    last = sorted(bodies_to(twilio, NEW_YORK)[-3:])
    assert last[0].startswith("*Course - Python*\n*Day 3*")
    assert last[2].startswith("Thanks for enrolling in Python!")
    await tick(server, clock, twilio, datetime(2026, 11, 2, 3, 30), 16)
    # each learner got 8 messages, none twice
    assert Counter((m["To"], m["Body"]) for m in twilio.received).most_common(1)[0][1] == 1
    reply = (await ek.call("GET", f"delivery/{delivery}")).ok()
    assert reply["status"] == "COMPLETED"
    assert reply["progress"] == {"days_sent": 3, "total_days": 3, "next_send_at": None}
    summary = (await ek.call("GET", f"delivery/{delivery}/summary")).ok()["days"]
    assert [(d["day"], d["sent"], d["late"]) for d in summary] == [(1, 2, 0), (2, 2, 0), (3, 2, 0)]


@pytest.mark.gen_test(timeout=60)
async def test_progress_shows_days_sent_and_the_next_send_time(ek, server, clock, twilio):
    clock.set(datetime(2026, 10, 30, 12, 0))
    delivery = await schedule(ek)
    shown = (await ek.call("GET", "retrieve-deliveries")).ok()["deliveries"][0]
    assert shown["progress"] == {
        "days_sent": 0,
        "total_days": 3,
        "next_send_at": "2026-10-30T13:00:00Z",
    }
    assert shown["scheduled_time"] == "2026-10-30 09:00:00"
    assert shown["timezone"] == "America/New_York"
    await tick(server, clock, twilio, datetime(2026, 10, 31, 3, 30), 4)
    shown = (await ek.call("GET", "delivery/retrieve-delivery")).ok()["deliveries"][0]
    assert shown["id"] == delivery
    assert shown["progress"]["days_sent"] == 1
    assert shown["progress"]["next_send_at"] == "2026-10-31T13:00:00Z"
    assert shown["day_id"] == 2


@pytest.mark.gen_test(timeout=60)
async def test_a_restart_sends_what_was_missed_once_and_late(ek, server, servers, clock, twilio):
    clock.set(datetime(2026, 10, 30, 12, 0))
    delivery = await schedule(ek, at="2026-10-30 13:00", tz="UTC")
    await tick(server, clock, twilio, datetime(2026, 10, 30, 13, 0), 2)  # the welcomes
    # the server goes down for two days
    await servers.astop(server)
    clock.set(datetime(2026, 11, 1, 15, 0))
    restarted = await servers.astart()
    await run_engine(restarted)
    await run_engine(restarted)  # a second run finds nothing more
    # missed: New York's days 1 and 2 (13:00 EDT), Kolkata's days 1 and 2 (13:00 IST)
    await eventually(lambda: len(twilio.received) == 2 + 2 * (1 + 3), what="the missed days")
    await asyncio.sleep(0.2)
    assert len(twilio.received) == 10
    assert Counter((m["To"], m["Body"]) for m in twilio.received).most_common(1)[0][1] == 1

    def sends(session):
        query = sa.select(Send.step, Send.late).where(Send.delivery_pk == delivery)
        return sorted(session.execute(query).all())

    recorded = await restarted.db.run(sends)
    assert recorded == [(0, False), (0, False), (1, True), (1, True), (2, True), (2, True)]
    summary = await restarted.db.run(
        lambda session: session.execute(sa.select(Recipient.next_step)).scalars().all()
    )
    assert summary == [3, 3]


@pytest.mark.gen_test(timeout=60)
async def test_two_servers_running_the_job_together_send_each_message_once(
    ek, server, servers, clock, twilio
):
    clock.set(datetime(2026, 10, 30, 12, 0))
    learners = [
        {"name": f"L{i}", "number": f"+1212555{i:04d}", "timezone": "UTC"} for i in range(40)
    ]
    group = await make_group(ek, group_body(*learners))
    await schedule(ek, at="2026-10-30 13:00", tz="UTC", group=group)
    replica = await servers.astart()
    clock.set(datetime(2026, 10, 30, 13, 0))
    for settings in (server.state(Ekatra), replica.state(Ekatra)):
        settings.send_batch = 7  # many small transactions, interleaved
    await asyncio.gather(run_engine(server), run_engine(replica), run_engine(server))
    await eventually(lambda: len(twilio.received) >= 80, what="welcome and day 1 to 40 learners")
    await asyncio.sleep(0.3)
    assert len(twilio.received) == 80
    assert len({(m["To"], m["Body"]) for m in twilio.received}) == 80

    def keys(session):
        return list(session.scalars(sa.select(OutboxMessage.idempotency_key)))

    stored = await server.db.run(keys)
    assert len(stored) == len(set(stored)) == 80
    assert all(re.fullmatch(r"ekatra:delivery:\d+:(welcome|day:1):learner:\d+", k) for k in stored)


@pytest.mark.gen_test(timeout=60)
async def test_pause_holds_the_days_and_resume_shifts_them(ek, server, clock, twilio):
    clock.set(datetime(2026, 10, 28, 12, 0))
    body = group_body({"name": "Uma", "number": NEW_YORK, "timezone": "UTC"})
    delivery = await schedule(ek, at="2026-10-28 12:30", tz="UTC", group=await make_group(ek, body))
    await tick(server, clock, twilio, datetime(2026, 10, 28, 12, 30), 2)
    clock.set(datetime(2026, 10, 28, 13, 0))
    paused = await ek.call("PUT", f"delivery/{delivery}", json_body={"action": "pause"})
    assert paused.ok()["status"] == "PAUSED"
    await tick(server, clock, twilio, datetime(2026, 10, 30, 12, 30), 2)  # day 2 held
    clock.set(datetime(2026, 10, 30, 15, 0))
    resumed = await ek.call("PUT", f"delivery/{delivery}/schedule_delivery")
    assert resumed.ok()["status"] == "SCHEDULED"
    # day 2 was due 10-29 12:30; resumed 10-30 15:00: it moves two days, keeping 12:30
    shown = (await ek.call("GET", f"delivery/{delivery}")).ok()
    assert shown["progress"]["next_send_at"] == "2026-10-31T12:30:00Z"
    await tick(server, clock, twilio, datetime(2026, 10, 31, 12, 29), 2)
    await tick(server, clock, twilio, datetime(2026, 10, 31, 12, 30), 5)
    summary = (await ek.call("GET", f"delivery/{delivery}/summary")).ok()["days"]
    assert summary[1]["sent"] == 1 and summary[1]["late"] == 0
    stopped = await ek.call("PUT", f"delivery/{delivery}/stop_delivery")
    assert stopped.ok()["status"] == "STOPPED"
    await tick(server, clock, twilio, datetime(2026, 11, 5, 12, 30), 5)  # nothing after STOP
    for again in ("RESUME", "PAUSE", "STOP"):
        status, message = (
            await ek.call("PUT", f"delivery/{delivery}", json_body={"action": again})
        ).error()
        assert status == 409 and "STOPPED" in message


@pytest.mark.gen_test(timeout=30)
async def test_pause_and_resume_refuse_the_same_move_twice(ek, server, clock):
    delivery = await schedule(ek)
    status, message = (await ek.call("PUT", f"delivery/{delivery}/schedule_delivery")).error()
    assert (status, message) == (409, "The delivery is already SCHEDULED")
    (await ek.call("PUT", f"delivery/{delivery}/pause_delivery")).ok()
    status, message = (await ek.call("PUT", f"delivery/{delivery}/pause_delivery")).error()
    assert (status, message) == (409, "The delivery is already PAUSED")


@pytest.mark.gen_test(timeout=60)
async def test_a_shortened_day_compresses_each_learners_schedule(ek, server, clock, twilio):
    server.state(Ekatra).day_seconds = 120
    clock.set(datetime(2026, 10, 30, 12, 0))
    delivery = await schedule(ek, at="2026-10-30 12:30", tz="UTC")

    def dues(session):
        query = sa.select(Recipient.learner_pk, Recipient.next_due_at).order_by(Recipient.pk)
        return [due for _, due in session.execute(query)]

    start = datetime(2026, 10, 30, 12, 30)
    await tick(server, clock, twilio, start, 2)  # both welcomes
    kolkata, new_york = await server.db.run(dues)
    # New York's 12:30 local is 16:30 UTC, 4 h after the start: 4/24 of 120 s
    assert (new_york - start).total_seconds() == 20
    # Kolkata's 12:30 IST is 07:00 UTC the next day, 18.5 h after the start
    assert (kolkata - start).total_seconds() == round(18.5 / 24 * 120)
    await tick(server, clock, twilio, datetime(2026, 10, 30, 12, 40), 16)  # the whole course
    assert (await ek.call("GET", f"delivery/{delivery}")).ok()["status"] == "COMPLETED"


@pytest.mark.gen_test(timeout=60)
async def test_the_scheduler_job_is_declared_and_runs(ek, server, clock, twilio):
    clock.set(datetime(2026, 10, 30, 12, 0))
    await schedule(ek, at="2026-10-30 12:00", tz="UTC")
    record = await server.scheduler.run_now("ekatra.send_due")
    assert record["id"] == "ekatra.send_due"
    await eventually(lambda: len(twilio.received) == 2, what="the welcomes")


@pytest.mark.gen_test(timeout=60)
async def test_a_number_twilio_calls_invalid_unsubscribes_its_learners(ek, server, clock, twilio):
    twilio.invalid.add(NEW_YORK)  # Twilio answers 21211 for it
    clock.set(datetime(2026, 10, 30, 12, 0))
    delivery = await schedule(ek, at="2026-10-30 12:00", tz="UTC")
    await run_engine(server)
    await eventually(lambda: len(twilio.received) == 1, what="Kolkata's welcome")

    async def amy_subscribed() -> bool:
        students = (await ek.call("GET", "group/")).ok()["groups"][0]["students"]
        return next(s for s in students if s["number"] == NEW_YORK)["is_subscribed"]

    for _ in range(200):
        if not await amy_subscribed():
            break
        await asyncio.sleep(0.05)
    assert not await amy_subscribed()
    # her next day is recorded as skipped, not sent
    await tick(server, clock, twilio, datetime(2026, 10, 30, 16, 0), 1)
    summary = (await ek.call("GET", f"delivery/{delivery}/summary")).ok()["days"]
    assert (summary[0]["sent"], summary[0]["skipped"]) == (0, 1)
