"""MenloHacks Live: times, maps, map images, announcements and events — public, read-only."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.plugins.vivere import images
from tests.plugins.vivere.conftest import ADMIN


def iso(value) -> str:
    return value.isoformat(timespec="milliseconds") + "Z"


async def location(vv, name, rank=None, image=None):
    body = {"name": name} if rank is None else {"name": name, "rank": rank}
    created = await vv.call("POST", "admin/locations", user=ADMIN, json_body=body)
    assert created.status == 201, created.body
    if image is not None:
        path = f"admin/locations/{created.data['id']}/map"
        uploaded = await vv.call("PUT", path, user=ADMIN, body=image)
        assert uploaded.status == 200, uploaded.body
        return uploaded.data
    return created.data


async def announce(vv, message, time=None):
    body = {"message": message} if time is None else {"message": message, "time": time}
    reply = await vv.call("POST", "admin/announcements", user=ADMIN, json_body=body)
    assert reply.status == 201, reply.body
    return reply.data


# -- index and times ------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_the_mount_answers_with_a_welcome(vv):
    reply = await vv.call("GET", "")
    assert reply.data["name"] == "MenloHacks Vivere"


@pytest.mark.gen_test
async def test_unknown_paths_and_methods_use_the_seed_envelope(vv):
    assert (await vv.call("GET", "no/such/thing")).error == (404, "Not found")
    assert (await vv.call("POST", "no/such/thing", json_body={})).error == (404, "Not found")
    reply = await vv.call("DELETE", "times")
    assert reply.error == (405, "Method Not Allowed")
    assert reply.body["error"]["title"] == "Method Not Allowed"


@pytest.mark.gen_test
async def test_times_are_the_configured_defaults(vv, settings):
    reply = await vv.call("GET", "times")
    assert reply.data == {
        "event_start_time": "2017-03-18T00:15:00.000Z",
        "event_end_time": "2017-03-19T02:00:00.000Z",
        "hacking_start_time": "2017-03-18T02:00:00.000Z",
        "hacking_end_time": "2017-03-19T00:00:00.000Z",
    }
    settings.hacking_end_time = "2030-03-19T10:00:00-07:00"
    reply = await vv.call("GET", "times")
    assert reply.data["hacking_end_time"] == "2030-03-19T17:00:00.000Z"


@pytest.mark.gen_test
async def test_organisers_override_times_and_null_restores_the_default(vv):
    reply = await vv.call(
        "PATCH", "admin/times", user=ADMIN, json_body={"event_start_time": "2030-01-01T09:00:00Z"}
    )
    assert reply.data["event_start_time"] == "2030-01-01T09:00:00.000Z"
    assert (await vv.call("GET", "times")).data["event_start_time"] == "2030-01-01T09:00:00.000Z"
    assert (await vv.call("GET", "times")).data["event_end_time"] == "2017-03-19T02:00:00.000Z"
    await vv.call("PATCH", "admin/times", user=ADMIN, json_body={"event_start_time": None})
    assert (await vv.call("GET", "times")).data["event_start_time"] == "2017-03-18T00:15:00.000Z"


@pytest.mark.gen_test
async def test_bad_times_are_400s(vv):
    bad = await vv.call("PATCH", "admin/times", user=ADMIN, json_body={"event_end_time": "soon"})
    assert bad.error[0] == 400
    nothing = await vv.call("PATCH", "admin/times", user=ADMIN, json_body={"other": 1})
    assert nothing.error == (400, "Nothing to change")


# -- maps and images ------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_maps_lists_primary_locations_by_rank(vv, base_url):
    second = await location(vv, "Upstairs", rank=2, image=images.png())
    first = await location(vv, "Basement", rank=0)
    await location(vv, "Room 12")  # rank -1: not a map
    reply = await vv.call("GET", "maps")
    assert [m["id"] for m in reply.data] == [first["id"], second["id"]]
    assert reply.data[1] == {
        "id": second["id"],
        "name": "Upstairs",
        "map": f"{base_url}/api/vivere/location/image/{second['id']}",
        "rank": 2,
        "is_primary": True,
    }
    assert reply.data[0]["map"] is None  # no image uploaded yet


@pytest.mark.gen_test
async def test_map_urls_use_the_configured_public_url(vv, settings):
    settings.public_url = "https://api.menlohacks.com"
    loc = await location(vv, "Gym", rank=1, image=images.png())
    reply = await vv.call("GET", "maps")
    assert (
        reply.data[0]["map"] == f"https://api.menlohacks.com/api/vivere/location/image/{loc['id']}"
    )


@pytest.mark.gen_test
@pytest.mark.parametrize(
    "data, content_type",
    [
        (images.png(2, 2), "image/png"),
        (images.JPEG, "image/jpeg"),
        (images.GIF, "image/gif"),
        (images.WEBP, "image/webp"),
    ],
)
async def test_a_map_image_is_served_with_its_type_and_caching_headers(vv, data, content_type):
    loc = await location(vv, "Gym", rank=1, image=data)
    reply = await vv.call("GET", f"location/image/{loc['id']}")
    assert reply.status == 200 and reply.raw == data
    assert reply.headers["Content-Type"] == content_type
    assert reply.headers["Cache-Control"] == "public, max-age=300"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    etag = reply.headers["Etag"]
    again = await vv.call("GET", f"location/image/{loc['id']}", headers={"If-None-Match": etag})
    assert again.status == 304 and again.raw == b""


@pytest.mark.gen_test
async def test_map_image_errors(vv):
    loc = await location(vv, "Gym", rank=1)
    assert (await vv.call("GET", f"location/image/{loc['id']}")).error == (
        404,
        "This location has no map",
    )
    assert (await vv.call("GET", "location/image/999")).error == (404, "Location not found")
    assert (await vv.call("GET", "location/image/abc")).error == (400, "Invalid Location ID")


# -- events ---------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_events_are_listed_by_start_time_with_their_location(vv, base_url):
    gym = await location(vv, "Gym", image=images.png())
    later = {
        "short_description": "Closing",
        "long_description": "Prizes",
        "start_time": "2017-03-19T01:00:00Z",
        "end_time": "2017-03-19T02:00:00Z",
    }
    earlier = {
        "short_description": "Opening Ceremony",
        "long_description": "Welcome to MenloHacks II",
        "start_time": "2017-03-18T00:15:00Z",
        "end_time": "2017-03-18T01:00:00Z",
        "location_id": gym["id"],
    }
    for body in (later, earlier):
        assert (await vv.call("POST", "admin/events", user=ADMIN, json_body=body)).status == 201
    reply = await vv.call("GET", "events")
    assert [e["short_description"] for e in reply.data] == ["Opening Ceremony", "Closing"]
    opening = reply.data[0]
    assert set(opening) == {
        "id",
        "short_description",
        "long_description",
        "location",
        "start_time",
        "end_time",
    }
    assert opening["start_time"] == "2017-03-18T00:15:00.000Z"
    # a location that is not primary has neither rank nor is_primary (the seed's rule)
    assert opening["location"] == {
        "id": gym["id"],
        "name": "Gym",
        "map": f"{base_url}/api/vivere/location/image/{gym['id']}",
    }
    assert reply.data[1]["location"] is None


# -- announcements --------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_announcements_are_newest_first_and_the_seed_shape(vv, clock):
    first = await announce(vv, "test")
    clock.advance(seconds=18)
    second = await announce(vv, "test2")
    reply = await vv.call("GET", "announcements")
    assert reply.data == [second, first]
    assert set(first) == {"id", "message", "time"}
    assert first["time"] == iso(clock.now() - timedelta(seconds=18))


@pytest.mark.gen_test
async def test_since_date_is_exclusive_and_now_is_inclusive(vv, clock):
    first = await announce(vv, "one")
    clock.advance(seconds=1)
    second = await announce(vv, "two")
    since_first = await vv.call("GET", "announcements", query={"since_date": first["time"]})
    assert since_first.data == [second]  # a client passing back the newest time gets nothing twice
    since_second = await vv.call("GET", "announcements", query={"since_date": second["time"]})
    assert since_second.data == []
    earlier = iso(clock.now() - timedelta(milliseconds=1))
    assert (await vv.call("GET", "announcements", query={"since_date": earlier})).data == [second]


@pytest.mark.gen_test
async def test_future_announcements_stay_hidden_until_due(vv, clock):
    due = clock.now() + timedelta(minutes=10)
    future = await announce(vv, "Dinner in the cafeteria", time=iso(due))
    assert (await vv.call("GET", "announcements")).data == []
    clock.set(due - timedelta(milliseconds=1))
    assert (await vv.call("GET", "announcements")).data == []
    clock.set(due)
    assert (await vv.call("GET", "announcements")).data == [future]


@pytest.mark.gen_test
@pytest.mark.parametrize(
    "since_date",
    [
        "2017-02-22",
        "2017-02-22T21:44:27",
        "2017-02-22T21:44:27.123456",
        "2017-02-22T21:44:27Z",
        "2017-02-22T21:44:27+00:00",
        "2017-02-22T13:44:27-08:00",
        "1970-01-01T00:00:00Z",
    ],
)
async def test_since_date_accepts_iso_8601(vv, since_date):
    await announce(vv, "hello")
    reply = await vv.call("GET", "announcements", query={"since_date": since_date})
    assert [a["message"] for a in reply.data] == ["hello"]


@pytest.mark.gen_test
async def test_an_unencoded_plus_offset_survives_the_query_string(vv, base_url):
    await announce(vv, "hello")
    response = await vv.http.fetch(
        base_url + "/api/vivere/announcements?since_date=2017-02-22T21:44:27+01:00"
    )
    assert b"hello" in response.body


@pytest.mark.gen_test
@pytest.mark.parametrize(
    "since_date",
    [
        "yesterday",
        "2017-13-01",
        "2017-02-30T00:00:00",
        "12",
        "2017-02-22T25:00:00",
        "x" * 100,
        "0000-01-01",
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:59:59-23:00",
        "2017-02-22T21:44:27+99:00",
    ],
)
async def test_a_malformed_since_date_is_a_400_not_a_500(vv, since_date):
    reply = await vv.call("GET", "announcements", query={"since_date": since_date})
    status, message = reply.error
    assert status == 400 and message.startswith("since_date must be an ISO 8601 date")


@pytest.mark.gen_test
async def test_without_since_date_every_visible_announcement_is_listed(vv):
    await announce(vv, "a")
    await announce(vv, "b", time="1970-01-01T00:00:01Z")
    reply = await vv.call("GET", "announcements")
    assert [a["message"] for a in reply.data] == ["a", "b"]
