"""The mentorship queue: creating, listing, claiming, re-opening, closing and expiring tickets.

Mentee ``mia`` asks for help, mentor ``max`` helps, ``otto`` is somebody
else; all are dev users (``user=``), except where a token is the point.
Time moves with the fake clock; nothing sleeps.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from ngshare_vivere import jobs, tickets

from tests.plugins.vivere.conftest import ADMIN, ORGANISER

MENTEE, MENTOR, OTHER = "mia", "max", "otto"
TICKET_KEYS = {
    "id",
    "description",
    "location",
    "contact",
    "claimed",
    "claimed_by_me",
    "expired",
    "is_mine",
    "time_created",
    "time_complete",
}


async def new_ticket(vv, user=MENTEE, description="CSS is not loading"):
    reply = await vv.call(
        "POST",
        "mentorship/create",
        user=user,
        json_body={"description": description, "location": "Main gym", "contact": "650-555-0100"},
    )
    assert reply.status == 201, reply.body
    return reply.data


async def act(vv, action, ticket_id, user):
    return await vv.call("POST", f"mentorship/{action}", user=user, json_body={"id": ticket_id})


async def queue_ids(vv, user=None):
    reply = await vv.call("GET", "mentorship/queue", user=user)
    assert reply.status == 200
    return [t["id"] for t in reply.data]


async def buckets(vv, user=MENTEE):
    reply = await vv.call("GET", "mentorship/user/queue", user=user)
    return {name: [t["id"] for t in tickets] for name, tickets in reply.data["tickets"].items()}


# -- create ---------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_create_answers_201_with_the_seed_ticket(vv, clock):
    ticket = await new_ticket(vv)
    assert set(ticket) == TICKET_KEYS
    assert ticket["description"] == "CSS is not loading"
    assert (ticket["location"], ticket["contact"]) == ("Main gym", "650-555-0100")
    assert ticket["claimed"] is ticket["claimed_by_me"] is ticket["expired"] is False
    assert ticket["is_mine"] is True
    assert ticket["time_created"] == clock.now().isoformat(timespec="milliseconds") + "Z"
    assert ticket["time_complete"] is None
    assert isinstance(ticket["id"], str)


@pytest.mark.gen_test
@pytest.mark.parametrize(
    "body, message",
    [
        ({"location": "l", "contact": "c"}, "No description provided"),
        ({"description": "d", "contact": "c"}, "No location provided"),
        ({"description": "d", "location": "l"}, "No contact provided"),
        ({"description": "", "location": "l", "contact": "c"}, "Description is blank"),
        ({"description": "d", "location": "  ", "contact": "c"}, "Location is blank"),
        ({"description": "d" * 4001, "location": "l", "contact": "c"}, "description must be at"),
    ],
)
async def test_create_refuses_missing_or_blank_fields(vv, body, message):
    reply = await vv.call("POST", "mentorship/create", user=MENTEE, json_body=body)
    status, text = reply.error
    assert status == 400 and text.startswith(message)


@pytest.mark.gen_test
async def test_create_needs_a_login(vv):
    reply = await vv.call(
        "POST", "mentorship/create", json_body={"description": "d", "location": "l", "contact": "c"}
    )
    assert reply.error == (401, "No user is currently logged in")


# -- queue ----------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_the_queue_lists_open_tickets_oldest_first_without_login(vv, clock):
    first = await new_ticket(vv, description="first")
    clock.advance(seconds=1)
    second = await new_ticket(vv, user=OTHER, description="second")
    clock.advance(seconds=1)
    claimed = await new_ticket(vv, description="claimed")
    await act(vv, "claim", claimed["id"], MENTOR)
    closed = await new_ticket(vv, description="closed")
    await act(vv, "close", closed["id"], MENTEE)
    assert await queue_ids(vv) == [first["id"], second["id"]]
    anonymous = (await vv.call("GET", "mentorship/queue")).data
    assert all(t["is_mine"] is False and t["claimed_by_me"] is False for t in anonymous)


@pytest.mark.gen_test
async def test_a_logged_in_queue_marks_the_callers_tickets(vv, accounts):
    token = await accounts.token("jason")
    mine = (
        await vv.call(
            "POST",
            "mentorship/create",
            token=token,
            json_body={"description": "d", "location": "l", "contact": "c"},
        )
    ).data
    theirs = await new_ticket(vv)
    reply = await vv.call("GET", "mentorship/queue", token=token)
    flags = {t["id"]: t["is_mine"] for t in reply.data}
    assert flags == {mine["id"]: True, theirs["id"]: False}


@pytest.mark.gen_test
async def test_the_user_queue_sorts_the_callers_tickets_into_four_buckets(vv, clock, settings):
    open_ = await new_ticket(vv, description="open")
    in_progress = await new_ticket(vv, description="in progress")
    await act(vv, "claim", in_progress["id"], MENTOR)
    closed = await new_ticket(vv, description="closed")
    await act(vv, "close", closed["id"], MENTEE)
    clock.advance(seconds=settings.ticket_expiry_seconds + 1)
    expired = open_
    fresh = await new_ticket(vv, description="fresh")
    await new_ticket(vv, user=OTHER, description="not mine")
    reply = await vv.call("GET", "mentorship/user/queue", user=MENTEE)
    assert reply.data["categories"] == ["open", "in_progress", "expired", "closed"]
    assert await buckets(vv) == {
        "open": [fresh["id"]],
        "in_progress": [in_progress["id"]],
        "expired": [expired["id"]],
        "closed": [closed["id"]],
    }
    tickets = reply.data["tickets"]
    assert tickets["expired"][0]["expired"] is True
    assert tickets["in_progress"][0]["claimed"] is True
    assert tickets["closed"][0]["time_complete"] is not None
    assert all(t["is_mine"] for bucket in tickets.values() for t in bucket)


@pytest.mark.gen_test
async def test_each_bucket_is_newest_first(vv, clock):
    a = await new_ticket(vv)
    clock.advance(seconds=1)
    b = await new_ticket(vv)
    assert (await buckets(vv))["open"] == [b["id"], a["id"]]


@pytest.mark.gen_test
async def test_user_queue_and_claimed_need_a_login(vv):
    for path in ("mentorship/user/queue", "mentorship/user/claimed"):
        assert (await vv.call("GET", path)).error == (401, "No user is currently logged in")


@pytest.mark.gen_test
async def test_claimed_lists_what_the_mentor_is_working_on(vv, clock):
    a = await new_ticket(vv)
    clock.advance(seconds=1)
    b = await new_ticket(vv, user=OTHER)
    c = await new_ticket(vv)
    for ticket in (b, a, c):
        await act(vv, "claim", ticket["id"], MENTOR)
    await act(vv, "close", c["id"], MENTOR)
    reply = await vv.call("GET", "mentorship/user/claimed", user=MENTOR)
    assert [t["id"] for t in reply.data] == [a["id"], b["id"]]
    assert all(t["claimed_by_me"] and not t["is_mine"] for t in reply.data)
    assert (await vv.call("GET", "mentorship/user/claimed", user=OTHER)).data == []


# -- claim ----------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_claiming_takes_the_ticket_off_the_queue(vv):
    ticket = await new_ticket(vv)
    reply = await act(vv, "claim", ticket["id"], MENTOR)
    assert reply.status == 200
    assert reply.data["claimed"] is True and reply.data["claimed_by_me"] is True
    assert reply.data["is_mine"] is False
    assert await queue_ids(vv) == []


@pytest.mark.gen_test
async def test_a_claimed_ticket_cannot_be_claimed_again(vv):
    ticket = await new_ticket(vv)
    await act(vv, "claim", ticket["id"], MENTOR)
    assert (await act(vv, "claim", ticket["id"], OTHER)).error == (409, "Ticket already claimed")


@pytest.mark.gen_test
async def test_a_closed_ticket_cannot_be_claimed(vv):
    ticket = await new_ticket(vv)
    await act(vv, "close", ticket["id"], MENTEE)
    assert (await act(vv, "claim", ticket["id"], MENTOR)).error == (409, "Ticket is closed")


@pytest.mark.gen_test
async def test_an_expired_ticket_cannot_be_claimed(vv, clock, settings):
    ticket = await new_ticket(vv)
    clock.advance(seconds=settings.ticket_expiry_seconds)
    status, message = (await act(vv, "claim", ticket["id"], MENTOR)).error
    assert status == 409 and message.startswith("Ticket has expired")


@pytest.mark.gen_test
async def test_a_mentee_cannot_claim_their_own_ticket(vv):
    ticket = await new_ticket(vv)
    reply = await act(vv, "claim", ticket["id"], MENTEE)
    assert reply.error == (403, "You cannot claim your own ticket")


@pytest.mark.gen_test
@pytest.mark.parametrize("action", ["claim", "reopen", "close"])
async def test_ticket_actions_check_the_id(vv, action):
    assert (await act(vv, action, "4242", MENTOR)).error == (404, "Ticket does not exist")
    assert (await act(vv, action, "abc", MENTOR)).error == (400, "Invalid Ticket ID")
    assert (await act(vv, action, 99999999999, MENTOR)).error == (400, "Invalid Ticket ID")
    assert (await act(vv, action, True, MENTOR)).error == (400, "Invalid Ticket ID")
    missing = await vv.call("POST", f"mentorship/{action}", user=MENTOR, json_body={})
    assert missing.error == (400, "No id provided")
    anonymous = await vv.call("POST", f"mentorship/{action}", json_body={"id": "1"})
    assert anonymous.error == (401, "No user is currently logged in")


@pytest.mark.gen_test
async def test_ids_may_be_numbers_strings_or_form_fields(vv):
    a, b, c = await new_ticket(vv), await new_ticket(vv), await new_ticket(vv)
    assert (await act(vv, "claim", int(a["id"]), MENTOR)).status == 200
    assert (await act(vv, "claim", b["id"], MENTOR)).status == 200
    reply = await vv.call("POST", "mentorship/claim", user=MENTOR, form={"id": c["id"]})
    assert reply.status == 200


@pytest.mark.gen_test
async def test_of_concurrent_claims_exactly_one_wins(vv):
    ticket = await new_ticket(vv)
    mentors = [f"mentor{i}" for i in range(8)]
    replies = await asyncio.gather(*(act(vv, "claim", ticket["id"], m) for m in mentors))
    statuses = sorted(r.status for r in replies)
    assert statuses == [200] + [409] * 7


# -- expiry ---------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_expiry_boundaries(vv, clock, settings):
    settings.ticket_expiry_seconds = 600
    ticket = await new_ticket(vv)
    created = clock.now()
    clock.set(created + timedelta(seconds=600) - timedelta(milliseconds=1))
    assert await queue_ids(vv) == [ticket["id"]]  # just before: still open
    assert (await buckets(vv))["open"] == [ticket["id"]]
    clock.set(created + timedelta(seconds=600))
    assert await queue_ids(vv) == []  # at: expired
    assert (await buckets(vv))["expired"] == [ticket["id"]]
    clock.advance(seconds=1)
    assert await queue_ids(vv) == []  # after
    assert (await buckets(vv))["expired"] == [ticket["id"]]


@pytest.mark.gen_test
async def test_the_default_expiry_is_the_seeds_30_minutes(vv, clock, settings):
    assert settings.ticket_expiry_seconds == 1800
    ticket = await new_ticket(vv)
    clock.advance(minutes=29, seconds=59)
    assert await queue_ids(vv) == [ticket["id"]]
    clock.advance(seconds=1)
    assert await queue_ids(vv) == []


@pytest.mark.gen_test
async def test_reopen_restarts_the_clock_but_keeps_the_queue_position(vv, clock, settings):
    settings.ticket_expiry_seconds = 600
    older = await new_ticket(vv, description="older")
    clock.advance(seconds=300)
    newer = await new_ticket(vv, user=OTHER, description="newer")
    clock.advance(seconds=300)  # older has expired; newer has 300 s left
    assert await queue_ids(vv) == [newer["id"]]
    reopened = await act(vv, "reopen", older["id"], MENTEE)
    assert reopened.status == 200 and reopened.data["expired"] is False
    assert await queue_ids(vv) == [older["id"], newer["id"]]  # back at its old place
    clock.advance(seconds=599)
    assert await queue_ids(vv) == [older["id"]]  # a fresh 600 s from the re-opening
    clock.advance(seconds=1)
    assert await queue_ids(vv) == []


# -- reopen ---------------------------------------------------------------------------------------


@pytest.mark.gen_test
@pytest.mark.parametrize("who", [MENTEE, MENTOR])
async def test_mentee_or_mentor_may_reopen_a_claimed_ticket(vv, who):
    ticket = await new_ticket(vv)
    await act(vv, "claim", ticket["id"], MENTOR)
    reply = await act(vv, "reopen", ticket["id"], who)
    assert reply.status == 200
    assert reply.data["claimed"] is False and reply.data["time_complete"] is None
    assert await queue_ids(vv) == [ticket["id"]]
    assert (await vv.call("GET", "mentorship/user/claimed", user=MENTOR)).data == []


@pytest.mark.gen_test
@pytest.mark.parametrize("who", [OTHER, ORGANISER, ADMIN])
async def test_nobody_else_may_reopen(vv, who):
    ticket = await new_ticket(vv)
    await act(vv, "claim", ticket["id"], MENTOR)
    status, message = (await act(vv, "reopen", ticket["id"], who)).error
    assert status == 403 and message.startswith("Cannot re-open this ticket")


@pytest.mark.gen_test
async def test_reopening_an_open_ticket_is_a_409(vv):
    ticket = await new_ticket(vv)
    assert (await act(vv, "reopen", ticket["id"], MENTEE)).error == (409, "Ticket is already open")


@pytest.mark.gen_test
async def test_a_closed_ticket_can_be_reopened_by_its_mentor(vv):
    ticket = await new_ticket(vv)
    await act(vv, "claim", ticket["id"], MENTOR)
    await act(vv, "close", ticket["id"], MENTEE)
    assert (await act(vv, "reopen", ticket["id"], MENTOR)).status == 200
    assert await queue_ids(vv) == [ticket["id"]]
    # after re-opening it is nobody's to work on: the former mentor cannot close it
    status, _ = (await act(vv, "close", ticket["id"], MENTOR)).error
    assert status == 403


# -- close ----------------------------------------------------------------------------------------


@pytest.mark.gen_test
@pytest.mark.parametrize("who", [MENTEE, MENTOR])
async def test_mentee_or_mentor_may_close(vv, clock, who):
    ticket = await new_ticket(vv)
    await act(vv, "claim", ticket["id"], MENTOR)
    clock.advance(seconds=5)
    reply = await act(vv, "close", ticket["id"], who)
    assert reply.status == 200
    assert reply.data["time_complete"] == clock.now().isoformat(timespec="milliseconds") + "Z"
    assert (await buckets(vv))["closed"] == [ticket["id"]]


@pytest.mark.gen_test
async def test_a_mentee_may_close_an_unclaimed_or_expired_ticket(vv, clock, settings):
    ticket = await new_ticket(vv)
    clock.advance(seconds=settings.ticket_expiry_seconds * 2)
    assert (await act(vv, "close", ticket["id"], MENTEE)).status == 200


@pytest.mark.gen_test
@pytest.mark.parametrize("who", [OTHER, ORGANISER, ADMIN])
async def test_nobody_else_may_close(vv, who):
    ticket = await new_ticket(vv)
    await act(vv, "claim", ticket["id"], MENTOR)
    status, message = (await act(vv, "close", ticket["id"], who)).error
    assert status == 403 and message.startswith("Cannot close this ticket")


@pytest.mark.gen_test
async def test_closing_twice_is_a_409(vv):
    ticket = await new_ticket(vv)
    await act(vv, "close", ticket["id"], MENTEE)
    assert (await act(vv, "close", ticket["id"], MENTEE)).error == (409, "Ticket is closed")


# -- the expiry job -------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_the_jobs_are_declared_on_the_core_scheduler(vv):
    response = await vv.http.fetch(vv.base_url + "/api/jobs?user=" + ADMIN)
    declared = {j["id"]: j for j in json.loads(response.body)["jobs"]}
    assert declared["vivere.announce_expired_tickets"]["schedule"] == "interval[0:00:30]"
    assert declared["vivere.publish_due_announcements"]["schedule"] == "interval[0:00:30]"


@pytest.mark.gen_test
async def test_the_expiry_job_marks_each_opening_once(vv, server, clock, settings):
    ticket = await new_ticket(vv)

    async def sweep() -> int:
        return await server.db.run(
            tickets.announce_expired_tickets, server.events, jobs._moment(server)
        )

    clock.advance(seconds=settings.ticket_expiry_seconds - 1)
    assert await sweep() == 0  # not yet
    clock.advance(seconds=1)
    assert await sweep() == 1
    assert await sweep() == 0  # once
    await act(vv, "reopen", ticket["id"], MENTEE)
    clock.advance(seconds=settings.ticket_expiry_seconds)
    assert await sweep() == 1  # a new opening, a new expiry
    await act(vv, "claim", (await new_ticket(vv, user=OTHER))["id"], MENTOR)
    clock.advance(seconds=settings.ticket_expiry_seconds)
    assert await sweep() == 0  # claimed tickets do not expire
