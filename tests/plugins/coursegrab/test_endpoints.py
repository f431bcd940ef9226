"""Every endpoint's answers and errors, in the seed's envelope with real status codes."""

from __future__ import annotations

import json

import pytest
from ngshare_coursegrab import errors
from ngshare_coursegrab.config import CourseGrab
from ngshare_coursegrab.course_index import CourseIndex

from tests.standins.webpush import subscription

from .conftest import ios_token

#: A browser's PushSubscription.toJSON() (real P-256 key and auth secret)
SUBSCRIPTION = subscription("https://push.example.org/send", "abc")


async def search(cg, query, token=None):
    return (await cg.call("POST", "courses/search", json_body={"query": query}, token=token)).data


def keys(found):
    return [(c["subject_code"], c["course_num"]) for c in found["courses"]]


@pytest.mark.parametrize("index", [True, False], ids=["index", "sql"])
@pytest.mark.gen_test
async def test_search_forms_and_ranking(cg, server, index):
    server.state(CourseGrab).search_index_enabled = index
    assert keys(await search(cg, "cs 3110"))[0] == ("CS", 3110)
    assert keys(await search(cg, "CS3110")) == [("CS", 3110)]
    assert keys(await search(cg, "3110")) == [("CS", 3110)]
    assert keys(await search(cg, "linear")) == [("MATH", 2940)]
    assert keys(await search(cg, "Data Structures")) == [("CS", 3110)]
    # "cs" is the subject CS first, then keys containing CS ("PHYSICS")
    assert keys(await search(cg, "cs")) == [("CS", 2110), ("CS", 3110), ("PHYS", 1112)]
    found = await search(cg, " cs 3110 ")
    assert found["query"] == " cs 3110 "
    assert keys(await search(cg, "%")) == []
    assert keys(await search(cg, "zzz")) == []


@pytest.mark.gen_test
async def test_the_search_index_follows_a_new_ingest(cg, server, roster):
    assert keys(await search(cg, "cs 4820")) == []
    roster.add_class(
        "SP26", "CS", 4820, "Introduction to Algorithms", [(12900, "LEC", "001", "OPEN")]
    )
    await cg.ingest()
    assert keys(await search(cg, "cs 4820")) == [("CS", 4820)]
    assert server.state(CourseIndex).builds == 2


@pytest.mark.gen_test
async def test_search_is_bounded(cg, server):
    server.state(CourseGrab).search_limit = 1
    assert len((await search(cg, "cs"))["courses"]) == 1


@pytest.mark.gen_test
async def test_search_and_course_pages_need_no_token_but_refuse_a_bad_one(cg):
    found = await search(cg, "cs 3110")
    course_id = found["courses"][0]["id"]
    page = (await cg.call("GET", f"courses/{course_id}")).data
    assert page["id"] == course_id and page["title"].startswith("Data Structures")
    assert [s["catalog_num"] for s in page["sections"]] == [12401, 12403]
    assert all(s["is_tracking"] is False for s in page["sections"])
    bad = await cg.call(
        "POST", "courses/search", json_body={"query": "cs"}, token="ngs_" + "x" * 43
    )
    assert bad.error == (401, errors.ERR_BAD_SESSION)
    bad_page = await cg.call("GET", f"courses/{course_id}", token="nonsense")
    assert bad_page.error == (401, errors.ERR_BAD_SESSION)


@pytest.mark.gen_test
async def test_search_and_course_errors(cg):
    assert (await cg.call("POST", "courses/search", json_body={})).error == (
        400,
        errors.ERR_MISSING_QUERY,
    )
    assert (await cg.call("POST", "courses/search", json_body={"query": "  "})).error == (
        400,
        errors.ERR_MISSING_QUERY,
    )
    assert (await cg.call("POST", "courses/search", json_body={"query": 3110})).error[0] == 400
    assert (await cg.call("POST", "courses/search", json_body={"query": "x" * 101})).error[0] == 400
    assert (await cg.call("POST", "courses/search", body="{oops")).error[0] == 400
    assert (await cg.call("GET", "courses/999999")).error == (404, errors.ERR_COURSE_NOT_FOUND)
    assert (await cg.call("GET", "courses/99999999999999")).error == (
        404,
        errors.ERR_COURSE_NOT_FOUND,
    )
    assert (await cg.call("GET", "courses/abc")).error == (404, errors.ERR_NOT_FOUND)
    assert (await cg.call("POST", "no/such/route")).error == (404, errors.ERR_NOT_FOUND)


@pytest.mark.gen_test
async def test_track_untrack_and_tracking(cg):
    ada = (await cg.sign_in("ada@cornell.edu"))["session_token"]
    bob = (await cg.sign_in("bob@cornell.edu"))["session_token"]
    tracked = (
        await cg.call("POST", "sections/track", json_body={"course_id": 12401}, token=ada)
    ).data
    assert (tracked["catalog_num"], tracked["is_tracking"], tracked["num_tracking"]) == (
        12401,
        True,
        1,
    )
    again = await cg.call("POST", "sections/track/", json_body={"course_id": "12401"}, token=bob)
    assert again.data["num_tracking"] == 2
    twice = await cg.call("POST", "sections/track", json_body={"course_id": 12401}, token=ada)
    assert twice.error == (409, errors.ERR_ALREADY_TRACKING)
    mine = (await cg.call("GET", "users/tracking", token=ada)).data["sections"]
    assert [s["catalog_num"] for s in mine] == [12401] and mine[0]["is_tracking"] is True
    found = await search(cg, "cs 3110", token=ada)
    flags = {s["catalog_num"]: s["is_tracking"] for s in found["courses"][0]["sections"]}
    assert flags == {12401: True, 12403: False}
    untracked = await cg.call("POST", "sections/untrack", json_body={"course_id": 12401}, token=ada)
    assert (untracked.data["is_tracking"], untracked.data["num_tracking"]) == (False, 1)
    not_tracking = await cg.call(
        "POST", "sections/untrack", json_body={"course_id": 12401}, token=ada
    )
    assert not_tracking.error == (409, errors.ERR_NOT_TRACKING)
    assert (await cg.call("GET", "users/tracking", token=ada)).data == {"sections": []}


@pytest.mark.parametrize("path", ["sections/track", "sections/untrack"])
@pytest.mark.gen_test
async def test_section_errors(cg, path):
    ada = (await cg.sign_in("ada@cornell.edu"))["session_token"]
    assert (await cg.call("POST", path, json_body={}, token=ada)).error == (
        400,
        errors.ERR_MISSING_CATALOG_NUM,
    )
    for bad in ("abc", -1, 1.5, True, 2**40, [1]):
        reply = await cg.call("POST", path, json_body={"course_id": bad}, token=ada)
        assert reply.error == (400, errors.ERR_BAD_CATALOG_NUM), bad
    unknown = await cg.call("POST", path, json_body={"course_id": 1}, token=ada)
    assert unknown.error == (404, errors.ERR_BAD_CATALOG_NUM)
    anonymous = await cg.call("POST", path, json_body={"course_id": 12401})
    assert anonymous.error == (401, errors.ERR_MISSING_AUTH)
    bad_token = await cg.call("POST", path, json_body={"course_id": 12401}, token="ngs_" + "y" * 43)
    assert bad_token.error == (401, errors.ERR_BAD_SESSION)


@pytest.mark.gen_test
async def test_device_token(cg, server):
    session = await cg.sign_in("ada@cornell.edu", "IOS")
    token = session["session_token"]
    reply = await cg.call(
        "POST", "users/device-token", json_body={"device_token": ios_token("apns-1")}, token=token
    )
    assert reply.data is None
    addresses = await server.db.run(server.notifications.addresses, "oidc:ada@cornell.edu")
    assert [(a["channel"], a["address"]) for a in addresses] == [("apns", ios_token("apns-1"))]
    missing = await cg.call("POST", "users/device-token", json_body={}, token=token)
    assert missing.error == (400, errors.ERR_MISSING_DEVICE_TOKEN)
    dev = await cg.call("POST", "users/device-token", json_body={"device_token": "x"}, user="ada")
    assert dev.error == (401, errors.ERR_NO_SESSION)
    # the device token moves to another session: the first one ends
    other = await cg.sign_in("bob@cornell.edu", "IOS")
    await cg.call(
        "POST",
        "users/device-token",
        json_body={"device_token": ios_token("apns-1")},
        token=other["session_token"],
    )
    assert (await cg.call("GET", "users/tracking", token=token)).status == 401


@pytest.mark.gen_test
async def test_notification_choices(cg, server):
    token = (await cg.sign_in("ada@cornell.edu", "WEB"))["session_token"]
    web = await cg.call(
        "POST",
        "users/notification",
        json_body={"notification": "WEB", "subscription": SUBSCRIPTION},
        token=token,
    )
    assert web.data is None
    email = await cg.call(
        "POST", "users/notification", json_body={"notification": "EMAIL"}, token=token
    )
    assert email.data is None
    addresses = await server.db.run(server.notifications.addresses, "oidc:ada@cornell.edu")
    by_channel = {a["channel"]: a["address"] for a in addresses}
    assert json.loads(by_channel["webpush"]) == {
        "endpoint": SUBSCRIPTION["endpoint"],
        "keys": SUBSCRIPTION["keys"],
    }
    assert by_channel["webpush"] == json.dumps(
        json.loads(by_channel["webpush"]), separators=(",", ":")
    )
    assert by_channel["email"] == "ada@cornell.edu"
    none = await cg.call(
        "POST", "users/notification", json_body={"notification": "none"}, token=token
    )
    assert none.data is None


@pytest.mark.parametrize(
    "body,message",
    [
        ({}, errors.ERR_BAD_NOTIFICATION),
        ({"notification": "PIGEON"}, errors.ERR_BAD_NOTIFICATION),
        ({"notification": "WEB"}, errors.ERR_MISSING_SUBSCRIPTION),
        ({"notification": "WEB", "subscription": "{bad"}, None),
        ({"notification": "WEB", "subscription": {"endpoint": "http://x/y", "keys": {}}}, None),
        ({"notification": "WEB", "subscription": {**SUBSCRIPTION, "keys": {"auth": "a"}}}, None),
        ({"notification": "EMAIL"}, errors.ERR_NO_EMAIL),
        ({"notification": "EMAIL", "email": "not an address"}, None),
        ({"notification": "IOS", "statuses": []}, errors.ERR_BAD_STATUSES),
        ({"notification": "IOS", "statuses": ["ARCHIVED"]}, errors.ERR_BAD_STATUSES),
    ],
)
@pytest.mark.gen_test
async def test_notification_errors(cg, server, body, message):
    reply = await cg.call("POST", "users/notification", json_body=body, user="dev-user")
    status, text = reply.error
    assert status == 400
    if message is not None:
        assert text == message
    addresses = await server.db.run(server.notifications.addresses, "dev-user")
    assert addresses == []


@pytest.mark.gen_test
async def test_a_body_too_large_is_a_413_in_the_envelope(cg):
    reply = await cg.call("POST", "courses/search", json_body={"query": "x" * 20000})
    assert reply.error[0] == 413


@pytest.mark.gen_test
async def test_strings_no_database_stores_alike_are_refused_before_anything_is_written(cg, server):
    nul = await cg.call("POST", "courses/search", json_body={"query": "cs\x003110"})
    assert nul.error == (400, errors.ERR_BAD_CHARACTER.format(name="query"))
    surrogate = await cg.call(
        "POST",
        "courses/search",
        body='{"query": "\\ud800"}',
        headers={"Content-Type": "application/json"},
    )
    assert surrogate.error == (400, errors.ERR_BAD_CHARACTER.format(name="query"))
    long_device = await cg.call(
        "POST",
        "session/initialize",
        json_body={"device_type": "IOS", "device_token": "d" * 5000},
        user="ada",
    )
    assert long_device.error == (400, errors.ERR_TOO_LONG.format(name="device_token", n=4096))
    nul_device = await cg.call(
        "POST", "session/initialize", json_body={"device_token": "a\x00b"}, user="ada"
    )
    assert nul_device.error[0] == 400
    token = (await cg.sign_in("ada@cornell.edu"))["session_token"]
    nul_email = await cg.call(
        "POST",
        "users/notification",
        json_body={"notification": "EMAIL", "email": "a\x00@b.org"},
        token=token,
    )
    assert nul_email.error[0] == 400
    addresses = await server.db.run(server.notifications.addresses, "ada")
    assert addresses == []
