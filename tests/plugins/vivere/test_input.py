"""Hostile input: every bad parameter is a 4xx in Vivere's envelope, alike on SQLite and PostgreSQL.

Each case here was a 500 (or a silent acceptance) once: deep JSON, NUL bytes
and lone surrogates that PostgreSQL cannot store, non-finite and fractional
ranks, an event moved to a location that does not exist, ids that are not
row keys. After each refusal nothing has changed.
"""

from __future__ import annotations

import json

import pytest

from tests.plugins.vivere.conftest import ADMIN, PASSWORD

TEXT_ERROR = "contains a character that cannot be stored (NUL or a lone surrogate)"


def deep_json(key: str, depth: int = 20_000) -> bytes:
    """A JSON object whose ``key`` nests ``depth`` lists: more than the parser's recursion."""
    return b'{"' + key.encode() + b'": ' + b"[" * depth + b"]" * depth + b"}"


async def make_location(vv, name: str = "Hall", rank: int | None = None) -> dict:
    body: dict = {"name": name}
    if rank is not None:
        body["rank"] = rank
    reply = await vv.call("POST", "admin/locations", user=ADMIN, json_body=body)
    assert reply.status == 201, reply.body
    return reply.data


async def make_event(vv, location_id: str | None = None) -> dict:
    body = {
        "short_description": "Opening",
        "start_time": "2017-02-25T09:00:00Z",
        "end_time": "2017-02-25T10:00:00Z",
    }
    if location_id is not None:
        body["location_id"] = location_id
    reply = await vv.call("POST", "admin/events", user=ADMIN, json_body=body)
    assert reply.status == 201, reply.body
    return reply.data


# -- deep JSON -------------------------------------------------------------------------


@pytest.mark.gen_test
@pytest.mark.parametrize("path", ["user/login", "user/create"])
async def test_deeply_nested_json_is_a_400_for_anonymous_callers(vv, path):
    body = deep_json("username")
    assert len(body) < 64 * 1024  # under the body limit: the parser itself must refuse
    reply = await vv.call("POST", path, body=body, headers={"Content-Type": "application/json"})
    status, message = reply.error
    assert status == 400 and "JSON object" in message


@pytest.mark.gen_test
async def test_deeply_nested_json_is_a_400_for_organisers(vv):
    reply = await vv.call(
        "POST",
        "admin/locations",
        user=ADMIN,
        body=deep_json("name"),
        headers={"Content-Type": "application/json"},
    )
    assert reply.error[0] == 400
    assert (await vv.call("GET", "admin/locations", user=ADMIN)).data == []


# -- text that a database cannot store ----------------------------------------------------


@pytest.mark.gen_test
@pytest.mark.parametrize("bad", ["Ja\x00son", "Ja\ud800son"])
async def test_a_nul_or_lone_surrogate_in_a_sign_up_name_is_a_400_and_creates_nothing(vv, bad):
    body = {"name": bad, "username": "jason", "password": PASSWORD}
    reply = await vv.call("POST", "user/create", json_body=body)
    assert reply.error == (400, f"name {TEXT_ERROR}")
    # nothing was saved: the same username can sign up now
    good = await vv.call("POST", "user/create", json_body={**body, "name": "Jason"})
    assert good.status == 201, good.body


@pytest.mark.gen_test
@pytest.mark.parametrize("field", ["username", "password"])
@pytest.mark.parametrize("bad", ["ja\x00son-password", "ja\udc80son-password"])
async def test_a_nul_or_lone_surrogate_in_credentials_is_a_400(vv, field, bad):
    body = {"name": "Jason", "username": "jason", "password": PASSWORD, field: bad}
    for path in ("user/create", "user/login"):
        reply = await vv.call("POST", path, json_body=body)
        assert reply.error == (400, f"{field} {TEXT_ERROR}"), path


@pytest.mark.gen_test
@pytest.mark.parametrize("field", ["description", "location", "contact"])
async def test_a_nul_in_a_ticket_field_is_a_400(vv, field):
    body = {"description": "d", "location": "l", "contact": "c", field: "a\x00b"}
    reply = await vv.call("POST", "mentorship/create", user="kim", json_body=body)
    assert reply.error == (400, f"{field} {TEXT_ERROR}")
    assert (await vv.call("GET", "mentorship/queue")).data == []


@pytest.mark.gen_test
@pytest.mark.parametrize(
    "path, body, field",
    [
        ("admin/locations", {"name": "a\x00b"}, "name"),
        (
            "admin/events",
            {"short_description": "a\x00b", "start_time": "2017-02-25", "end_time": "2017-02-25"},
            "short_description",
        ),
        (
            "admin/events",
            {
                "short_description": "s",
                "long_description": "a\x00b",
                "start_time": "2017-02-25",
                "end_time": "2017-02-25",
            },
            "long_description",
        ),
        ("admin/announcements", {"message": "a\x00b"}, "message"),
        ("admin/announcements", {"message": "a\ud83db"}, "message"),
    ],
)
async def test_a_nul_in_an_organiser_text_is_a_400(vv, path, body, field):
    reply = await vv.call("POST", path, user=ADMIN, json_body=body)
    assert reply.error == (400, f"{field} {TEXT_ERROR}")
    listing = await vv.call("GET", "events" if path == "admin/events" else path, user=ADMIN)
    assert listing.data == []


@pytest.mark.gen_test
async def test_a_nul_in_a_patch_is_a_400_and_changes_nothing(vv):
    location = await make_location(vv)
    event = await make_event(vv)
    for path, body in [
        (f"admin/locations/{location['id']}", {"name": "x\x00"}),
        (f"admin/events/{event['id']}", {"short_description": "x\x00"}),
    ]:
        reply = await vv.call("PATCH", path, user=ADMIN, json_body=body)
        assert reply.error[0] == 400, path
    assert (await vv.call("GET", "admin/locations", user=ADMIN)).data == [location]
    assert (await vv.call("GET", "events")).data == [event]


@pytest.mark.gen_test
async def test_form_bodies_turn_control_characters_into_spaces(vv):
    """Form values are cleaned like Tornado's ``get_argument`` (as ngshare's clients expect)."""
    reply = await vv.call(
        "POST", "user/create", form={"name": "Ja\x00son", "username": "jason", "password": PASSWORD}
    )
    assert reply.status == 201
    login = await vv.call("POST", "user/login", form={"username": "jason", "password": PASSWORD})
    assert login.data["name"] == "Ja son"


# -- ids ----------------------------------------------------------------------------------


@pytest.mark.gen_test
@pytest.mark.parametrize("bad", ["a%00b", "1%00", "%00", "1.0", "-1", "99999999999", "%D9%A3"])
async def test_malformed_ids_in_paths_are_400s(vv, bad):
    for method, path, what in [
        ("GET", f"location/image/{bad}", "Location"),
        ("PATCH", f"admin/events/{bad}", "Event"),
        ("DELETE", f"admin/locations/{bad}", "Location"),
        ("PATCH", f"admin/announcements/{bad}", "Announcement"),
    ]:
        body = {"name": "x", "short_description": "x", "message": "x"}
        json_body = body if method == "PATCH" else None
        reply = await vv.call(method, path, user=ADMIN, json_body=json_body)
        assert reply.error == (400, f"Invalid {what} ID"), (method, path)


@pytest.mark.gen_test
@pytest.mark.parametrize("bad", ["1\x00", ["1"], {"id": 1}, 1.5, True, 2**31, "1e3", None])
async def test_malformed_ticket_ids_are_400s(vv, bad):
    reply = await vv.call("POST", "mentorship/claim", user="kim", json_body={"id": bad})
    status, message = reply.error
    assert status == 400
    assert message in ("Invalid Ticket ID", "No id provided", f"id {TEXT_ERROR}")


# -- numbers ------------------------------------------------------------------------------


@pytest.mark.gen_test
@pytest.mark.parametrize(
    "raw_rank",
    ["1e400", "-1e400", "Infinity", "-Infinity", "NaN", "1.5", "1e30", "10" + "0" * 40, '"1e3"'],
)
async def test_a_rank_that_is_not_a_small_integer_is_a_400(vv, raw_rank):
    location = await make_location(vv, rank=2)
    for method, path in [
        ("POST", "admin/locations"),
        ("PATCH", f"admin/locations/{location['id']}"),
    ]:
        body = b'{"name": "Hall", "rank": ' + raw_rank.encode() + b"}"
        reply = await vv.call(
            method, path, user=ADMIN, body=body, headers={"Content-Type": "application/json"}
        )
        assert reply.error == (400, "rank must be an integer"), (method, raw_rank)
    assert (await vv.call("GET", "admin/locations", user=ADMIN)).data == [location]


@pytest.mark.gen_test
async def test_a_rank_with_a_huge_number_of_digits_is_a_400(vv):
    body = b'{"name": "Hall", "rank": ' + b"9" * 5000 + b"}"
    headers = {"Content-Type": "application/json"}
    reply = await vv.call("POST", "admin/locations", user=ADMIN, body=body, headers=headers)
    assert reply.error[0] == 400


@pytest.mark.gen_test
@pytest.mark.parametrize("rank, expected", [(3, 3), (3.0, 3), ("3", 3), (" -1 ", -1)])
async def test_integral_ranks_are_accepted_in_any_spelling(vv, rank, expected):
    reply = await vv.call(
        "POST", "admin/locations", user=ADMIN, json_body={"name": "Hall", "rank": rank}
    )
    assert reply.status == 201, reply.body
    listed = (await vv.call("GET", "admin/locations", user=ADMIN)).data
    assert listed[0].get("rank", -1) == expected


# -- references ---------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_patching_an_event_to_an_unknown_location_is_a_400_and_changes_nothing(vv):
    location = await make_location(vv)
    event = await make_event(vv, location["id"])
    reply = await vv.call(
        "PATCH", f"admin/events/{event['id']}", user=ADMIN, json_body={"location_id": "987654"}
    )
    assert reply.error == (400, "location_id names no location")
    assert (await vv.call("GET", "events")).data == [event]


@pytest.mark.gen_test
async def test_patching_an_event_with_a_bad_time_and_an_unknown_location_changes_nothing(vv):
    event = await make_event(vv)
    reply = await vv.call(
        "PATCH",
        f"admin/events/{event['id']}",
        user=ADMIN,
        json_body={"end_time": "2017-02-24T00:00:00Z", "location_id": "987654"},
    )
    assert reply.error[0] == 400
    assert (await vv.call("GET", "events")).data == [event]


# -- times --------------------------------------------------------------------------------


@pytest.mark.gen_test
@pytest.mark.parametrize(
    "bad",
    [
        "2017-02-25T09:00:00\x00",
        "2017-02-25T25:00:00",
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:59:59-05:00",
        12345,
        ["2017-02-25"],
        "x" * 100,
    ],
)
async def test_malformed_times_are_400s(vv, bad):
    event_body = {"short_description": "s", "start_time": bad, "end_time": "2017-02-25"}
    reply = await vv.call("POST", "admin/events", user=ADMIN, json_body=event_body)
    status, message = reply.error
    assert status == 400
    assert message in (
        "start_time must be an ISO 8601 date, e.g. 2017-02-22T21:44:27Z",
        f"start_time {TEXT_ERROR}",
    )
    reply = await vv.call("PATCH", "admin/times", user=ADMIN, json_body={"event_start": bad})
    assert reply.error[0] == 400
    announcement = {"message": "m", "time": bad}
    reply = await vv.call("POST", "admin/announcements", user=ADMIN, json_body=announcement)
    assert reply.error[0] == 400
    if isinstance(bad, str) and "\x00" not in bad:  # query strings are cleaned like forms
        reply = await vv.call("GET", "announcements", query={"since_date": bad})
        assert reply.error[0] == 400
    assert (await vv.call("GET", "events")).data == []
    assert (await vv.call("GET", "admin/announcements", user=ADMIN)).data == []


# -- every error is JSON ------------------------------------------------------------------


@pytest.mark.gen_test
async def test_json_lists_where_strings_are_expected_are_400s(vv):
    for path, body, who in [
        ("user/create", {"name": ["a"], "username": "u", "password": PASSWORD}, None),
        ("user/login", {"username": {"a": 1}, "password": PASSWORD}, None),
        ("mentorship/create", {"description": [], "location": "l", "contact": "c"}, "kim"),
        ("admin/announcements", {"message": [1, 2]}, ADMIN),
    ]:
        reply = await vv.call("POST", path, user=who, json_body=body)
        status, message = reply.error
        assert status == 400 and message.endswith("must be a string"), (path, message)


def test_the_deep_json_helper_is_deeper_than_the_parser_allows():
    with pytest.raises(RecursionError):
        json.loads(deep_json("x"))
