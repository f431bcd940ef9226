"""Ingest and poll against the local roster API whose data changes between polls."""

from __future__ import annotations

import asyncio
import json

import pytest
from ngshare_coursegrab import jobs
from ngshare_coursegrab.config import CourseGrab
from ngshare_coursegrab.roster import RosterError

from ngshare.notifications.models import OutboxMessage

from .conftest import TERM, android_token, ios_token


async def outbox(server, **filters):
    return await server.notifications.messages(plugin="coursegrab", **filters)


async def track(cg, token, catalog_num):
    return (
        await cg.call("POST", "sections/track", json_body={"course_id": catalog_num}, token=token)
    ).data


@pytest.mark.gen_test
async def test_ingest_loads_courses_and_sections_in_the_seed_shape(cg, roster, server):
    started = await server.scheduler.run_outcome(
        jobs.window_key(jobs.INGEST_ID), jobs.window_start(jobs.INGEST_INTERVAL_SECONDS)
    )
    assert started["success"] and started["replica"] == server.scheduler.replica_id
    outcome = await cg.ingest()
    assert (outcome.term, outcome.courses, outcome.sections) == (TERM, 4, 5)
    found = (await cg.call("POST", "courses/search", json_body={"query": "cs 3110"})).data
    course = found["courses"][0]
    assert (course["subject_code"], course["course_num"]) == ("CS", 3110)
    assert course["sections"][0] == {
        "catalog_num": 12401,
        "course_id": course["id"],
        "course_num": 3110,
        "instructors": ["Nate Foster (jnf27)"],
        "is_tracking": False,
        "mode": "In Person",
        "num_tracking": 0,
        "section": "LEC 001 / TR 12:20pm - 1:10pm",
        "status": "OPEN",
        "subject_code": "CS",
        "title": "Data Structures and Functional Programming",
    }
    assert any("subject=CS" in r for r in roster.requests)


@pytest.mark.gen_test
async def test_a_section_opening_tells_each_tracker_once_on_their_channel(cg, roster, server):
    await cg.ingest()
    ios = await cg.sign_in("ios@cornell.edu", "IOS", device_token=ios_token("apns-token-1"))
    android = await cg.sign_in(
        "droid@cornell.edu", "ANDROID", device_token=android_token("fcm-token-1")
    )
    quiet = await cg.sign_in("quiet@cornell.edu", "IOS", device_token=ios_token("apns-token-2"))
    for session in (ios, android, quiet):
        await track(cg, session["session_token"], 12403)
    await cg.call(
        "POST",
        "users/notification",
        json_body={"notification": "NONE"},
        token=quiet["session_token"],
    )
    roster.set_status(TERM, 12403, "OPEN")
    outcome = await cg.poll()
    assert (outcome.changes, outcome.messages) == (1, 2)
    messages = await outbox(server)
    by_channel = {m["channel"]: m for m in messages}
    assert set(by_channel) == {"apns", "fcm"}
    assert by_channel["apns"]["to"] == ios_token("apns-token-1")
    assert by_channel["fcm"]["to"] == android_token("fcm-token-1")
    apns = by_channel["apns"]
    assert apns["subject"] == "CS 3110 DIS 212 is Now Open"
    assert apns["body"] == "Class Nbr: 12403. Grab your spot right now!"
    row = await server.db.run(lambda s: s.get(OutboxMessage, apns["id"]))
    data = row.data
    assert row.idempotency_key.startswith("coursegrab:change:")
    assert data["title"] == "CS 3110 DIS 212 is Now Open"
    assert data["section"]["catalog_num"] == 12403 and data["section"]["is_tracking"] is True
    assert data["section"]["status"] == "OPEN"
    # the same data again: no change, nothing more
    again = await cg.poll()
    assert (again.changes, again.messages) == (0, 0)
    assert len(await outbox(server)) == 2


@pytest.mark.gen_test
async def test_closing_is_not_told_unless_asked_for(cg, roster, server):
    await cg.ingest()
    picky = await cg.sign_in("picky@cornell.edu", "IOS", device_token=ios_token("apns-picky"))
    plain = await cg.sign_in("plain@cornell.edu", "IOS", device_token=ios_token("apns-plain"))
    await track(cg, picky["session_token"], 12401)
    await track(cg, plain["session_token"], 12401)
    await cg.call(
        "POST",
        "users/notification",
        json_body={"notification": "IOS", "statuses": ["OPEN", "CLOSED"]},
        token=picky["session_token"],
    )
    roster.set_status(TERM, 12401, "CLOSED")
    outcome = await cg.poll()
    assert outcome.messages == 1
    [message] = await outbox(server)
    assert message["to"] == ios_token("apns-picky")
    assert message["subject"] == "CS 3110 LEC 001 is Now Closed"


@pytest.mark.gen_test
async def test_a_new_roster_archives_tracking_and_tells_its_people(cg, roster, server):
    await cg.ingest()
    ada = await cg.sign_in("ada@cornell.edu", "IOS", device_token=ios_token("apns-ada"))
    await track(cg, ada["session_token"], 12401)
    roster.add_roster("FA26", "Fall 2026")
    roster.add_class(
        "FA26",
        "CS",
        3110,
        "Data Structures and Functional Programming",
        [(22401, "LEC", "001", "CLOSED")],
    )
    outcome = await cg.ingest()
    assert (outcome.term, outcome.archived) == ("FA26", 1)
    [message] = await outbox(server)
    assert message["subject"] == "CourseGrab: FA26 is here"
    assert "archived" in message["body"]
    tracking = (await cg.call("GET", "users/tracking", token=ada["session_token"])).data
    assert tracking == {"sections": []}
    found = (await cg.call("POST", "courses/search", json_body={"query": "CS3110"})).data
    assert [s["catalog_num"] for s in found["courses"][0]["sections"]] == [22401]
    # the old term's catalog number is no longer trackable
    old = await cg.call(
        "POST", "sections/track", json_body={"course_id": 12401}, token=ada["session_token"]
    )
    assert old.status == 404


@pytest.mark.parametrize("failure", ["failing", "garbage"])
@pytest.mark.gen_test
async def test_a_bad_source_keeps_the_last_good_data_and_records_the_failure(
    cg, roster, server, failure
):
    await cg.ingest()
    setattr(roster, failure, True)
    with pytest.raises(RosterError):
        await cg.poll()
    with pytest.raises(RosterError):
        await cg.ingest()
    found = (await cg.call("POST", "courses/search", json_body={"query": "cs 3110"})).data
    assert [s["status"] for s in found["courses"][0]["sections"]] == ["OPEN", "CLOSED"]
    window = jobs.window_start(jobs.INGEST_INTERVAL_SECONDS)
    claim = await server.scheduler.run_outcome(jobs.window_key(jobs.INGEST_ID), window)
    assert claim["success"] is False and "RosterError" in claim["error"]
    assert claim["finished_at"] is not None
    # a failed ingest tries again at its next tick
    setattr(roster, failure, False)
    assert (await jobs.ingest_now(server)).term == TERM
    claim = await server.scheduler.run_outcome(jobs.window_key(jobs.INGEST_ID), window)
    assert claim["success"] is True


@pytest.mark.gen_test
async def test_a_roster_of_the_wrong_shape_is_refused_whole(cg, roster):
    await cg.ingest()
    roster.classes[TERM]["CS"][0]["enrollGroups"][0]["classSections"][0]["classNbr"] = "twelve"
    roster.set_status(TERM, 12403, "OPEN")
    with pytest.raises(RosterError):
        await cg.poll()
    found = (await cg.call("POST", "courses/search", json_body={"query": "cs 3110"})).data
    assert [s["status"] for s in found["courses"][0]["sections"]] == ["OPEN", "CLOSED"]


@pytest.mark.gen_test
async def test_runs_of_one_window_happen_once(cg, roster, server):
    assert await jobs.ingest_now(server) is None  # the start-up ingest had today's window
    roster.set_status(TERM, 12403, "OPEN")
    assert (await jobs.poll_now(server)).changes == 1  # this window's poll
    roster.set_status(TERM, 12403, "CLOSED")
    assert await jobs.poll_now(server) is None  # the window's poll ran already
    assert (await jobs.poll_now(server, force=True)).changes == 1


@pytest.mark.gen_test
async def test_the_scheduler_runs_the_declared_jobs(cg, server):
    record = await server.scheduler.run_now(jobs.INGEST_ID)
    assert record["id"] == jobs.INGEST_ID
    found = (await cg.call("POST", "courses/search", json_body={"query": "physics"})).data
    assert [c["course_num"] for c in found["courses"]] == [1112]


@pytest.mark.gen_test
async def test_a_json_file_source(cg, server, tmp_path):
    path = tmp_path / "roster.json"
    doc = {
        "term": "SU26",
        "description": "Summer 2026",
        "courses": [
            {
                "subject_code": "CS",
                "course_num": 1110,
                "title": "Intro to Computing",
                "sections": [
                    {
                        "catalog_num": 501,
                        "section": "LEC 001 / MWF 10:10am",
                        "status": "CLOSED",
                        "mode": "Online",
                        "instructors": ["Walker White (wmw2)"],
                    }
                ],
            }
        ],
    }
    path.write_text(json.dumps(doc))
    settings = server.state(CourseGrab)
    settings.roster_url, settings.roster_file = "", str(path)
    assert (await cg.ingest()).term == "SU26"
    doc["courses"][0]["sections"][0]["status"] = "OPEN"
    path.write_text(json.dumps(doc))
    assert (await cg.poll()).changes == 1
    path.write_text("{not json")
    with pytest.raises(RosterError):
        await cg.poll()
    found = (await cg.call("POST", "courses/search", json_body={"query": "cs1110"})).data
    assert found["courses"][0]["sections"][0]["status"] == "OPEN"


@pytest.mark.gen_test(timeout=30)
async def test_two_replicas_claiming_one_window_run_it_once(server):
    window = jobs.window_start(60, now=10**9)
    ran, release = [], asyncio.Event()

    async def work():
        ran.append(1)
        await release.wait()
        return "done"

    key = jobs.window_key(jobs.POLL_ID)
    first = asyncio.ensure_future(server.scheduler.run_once(key, window, work))
    while not ran:
        await asyncio.sleep(0.01)
    others = [await server.scheduler.run_once(key, window, work) for _ in range(3)]
    # while it runs, even a forced run of another window waits (runs never overlap)
    forced = await server.scheduler.run_once(key, jobs.window_start(60), work, redo="any")
    release.set()
    assert (await first, others, forced, len(ran)) == ("done", [None, None, None], None, 1)


@pytest.mark.gen_test
async def test_roster_subjects_limits_what_is_fetched(cg, roster, server):
    server.state(CourseGrab).roster_subjects = ["math"]
    roster.requests.clear()
    roster.set_status(TERM, 13001, "OPEN")
    roster.set_status(TERM, 12403, "OPEN")
    outcome = await cg.poll()
    assert outcome.changes == 1  # MATH's section; CS was not asked for
    assert roster.requests == [f"/search/classes.json?roster={TERM}&subject=MATH"]
