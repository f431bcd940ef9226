"""The organiser API: who may use it, and events, locations, maps, announcements, times."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from ngshare_vivere import jobs

from tests.plugins.vivere import images
from tests.plugins.vivere.conftest import ADMIN, ORGANISER

EVENT = {
    "short_description": "Opening Ceremony",
    "long_description": "Welcome",
    "start_time": "2017-03-18T00:15:00Z",
    "end_time": "2017-03-18T01:00:00Z",
}

# every organiser route, with a body that would be accepted
ROUTES = [
    ("POST", "admin/events", EVENT),
    ("PATCH", "admin/events/1", {"short_description": "x"}),
    ("DELETE", "admin/events/1", None),
    ("GET", "admin/locations", None),
    ("POST", "admin/locations", {"name": "Gym"}),
    ("PATCH", "admin/locations/1", {"name": "Gym"}),
    ("DELETE", "admin/locations/1", None),
    ("PUT", "admin/locations/1/map", images.png()),
    ("DELETE", "admin/locations/1/map", None),
    ("GET", "admin/announcements", None),
    ("POST", "admin/announcements", {"message": "hi"}),
    ("PATCH", "admin/announcements/1", {"message": "hi"}),
    ("DELETE", "admin/announcements/1", None),
    ("PATCH", "admin/times", {"event_start_time": "2030-01-01T00:00:00Z"}),
]


async def call(vv, method, path, body, **who):
    if isinstance(body, bytes):
        return await vv.call(method, path, body=body, **who)
    return await vv.call(method, path, json_body=body, **who)


def iso(value) -> str:
    return value.isoformat(timespec="milliseconds") + "Z"


# -- permissions ----------------------------------------------------------------------------------


@pytest.mark.gen_test
@pytest.mark.parametrize("method, path, body", ROUTES)
async def test_anonymous_callers_get_401_and_others_403(vv, method, path, body):
    assert (await call(vv, method, path, body)).error == (401, "No user is currently logged in")
    denied = await call(vv, method, path, body, user="otto")
    assert denied.error == (403, "Only organisers can do this")


@pytest.mark.gen_test
@pytest.mark.parametrize("method, path, body", ROUTES)
@pytest.mark.parametrize("who", [ORGANISER, ADMIN])
async def test_listed_organisers_and_ngshare_admins_are_let_in(vv, method, path, body, who):
    reply = await call(vv, method, path, body, user=who)
    assert reply.status not in (401, 403), reply.body  # 404s: the objects do not exist


@pytest.mark.gen_test
async def test_a_local_account_is_an_organiser_when_listed_by_its_core_name(vv, accounts, settings):
    token = await accounts.token("olga")
    assert (await vv.call("GET", "admin/locations", token=token)).status == 403
    settings.organisers = ["local:olga"]
    assert (await vv.call("GET", "admin/locations", token=token)).status == 200


# -- events ---------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_events_are_created_changed_and_deleted(vv):
    created = await vv.call("POST", "admin/events", user=ORGANISER, json_body=EVENT)
    assert created.status == 201
    event_id = created.data["id"]
    assert created.data["short_description"] == "Opening Ceremony"
    gym = (await vv.call("POST", "admin/locations", user=ORGANISER, json_body={"name": "Gym"})).data
    changed = await vv.call(
        "PATCH",
        f"admin/events/{event_id}",
        user=ORGANISER,
        json_body={"end_time": "2017-03-18T02:00:00Z", "location_id": gym["id"]},
    )
    assert changed.data["end_time"] == "2017-03-18T02:00:00.000Z"
    assert changed.data["location"]["name"] == "Gym"
    assert changed.data["short_description"] == "Opening Ceremony"  # untouched
    deleted = await vv.call("DELETE", f"admin/events/{event_id}", user=ORGANISER)
    assert deleted.data["id"] == event_id
    assert (await vv.call("GET", "events")).data == []
    assert (await vv.call("DELETE", f"admin/events/{event_id}", user=ORGANISER)).error == (
        404,
        "Event not found",
    )


@pytest.mark.gen_test
@pytest.mark.parametrize(
    "change, message",
    [
        ({"end_time": "2017-03-17T00:00:00Z"}, "end_time must not be before start_time"),
        ({"start_time": "not a date"}, "start_time must be an ISO 8601 date"),
        ({"start_time": None}, "No start_time provided"),
        ({"short_description": ""}, "Short_description is blank"),
        ({"short_description": "x" * 256}, "short_description must be at most 255"),
        ({"location_id": "77"}, "location_id names no location"),
        ({"location_id": "x"}, "Invalid Location ID"),
    ],
)
async def test_bad_events_are_400s(vv, change, message):
    reply = await vv.call("POST", "admin/events", user=ORGANISER, json_body={**EVENT, **change})
    status, text = reply.error
    assert status == 400 and text.startswith(message), text


@pytest.mark.gen_test
async def test_an_event_needs_its_times_and_title(vv):
    for field in ("short_description", "start_time", "end_time"):
        body = {k: v for k, v in EVENT.items() if k != field}
        reply = await vv.call("POST", "admin/events", user=ORGANISER, json_body=body)
        assert reply.error == (400, f"No {field} provided")


@pytest.mark.gen_test
async def test_a_patch_that_changes_nothing_is_a_400(vv):
    event = (await vv.call("POST", "admin/events", user=ORGANISER, json_body=EVENT)).data
    reply = await vv.call(
        "PATCH", f"admin/events/{event['id']}", user=ORGANISER, json_body={"title": "typo"}
    )
    assert reply.error == (400, "Nothing to change")


# -- locations ------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_locations_are_created_ranked_renamed_and_deleted(vv):
    created = await vv.call(
        "POST", "admin/locations", user=ORGANISER, form={"name": "Room 12", "rank": "-1"}
    )
    assert created.status == 201 and "rank" not in created.data
    loc_id = created.data["id"]
    ranked = await vv.call(
        "PATCH", f"admin/locations/{loc_id}", user=ORGANISER, json_body={"rank": 3}
    )
    assert (ranked.data["rank"], ranked.data["is_primary"]) == (3, True)
    assert [m["id"] for m in (await vv.call("GET", "maps")).data] == [loc_id]
    listed = await vv.call("GET", "admin/locations", user=ORGANISER)
    assert [loc["name"] for loc in listed.data] == ["Room 12"]
    bad = await vv.call(
        "PATCH", f"admin/locations/{loc_id}", user=ORGANISER, json_body={"rank": "x"}
    )
    assert bad.error == (400, "rank must be an integer")
    deleted = await vv.call("DELETE", f"admin/locations/{loc_id}", user=ORGANISER)
    assert deleted.status == 200
    assert (await vv.call("GET", "maps")).data == []


@pytest.mark.gen_test
async def test_a_location_in_use_cannot_be_deleted(vv):
    loc_id = await new_location(vv)
    loc = {"id": loc_id}
    event = (
        await vv.call(
            "POST", "admin/events", user=ORGANISER, json_body={**EVENT, "location_id": loc["id"]}
        )
    ).data
    reply = await vv.call("DELETE", f"admin/locations/{loc['id']}", user=ORGANISER)
    status, message = reply.error
    assert status == 409 and message.startswith("Location is used by events")
    await vv.call("DELETE", f"admin/events/{event['id']}", user=ORGANISER)
    assert (await vv.call("DELETE", f"admin/locations/{loc['id']}", user=ORGANISER)).status == 200


# -- map uploads ----------------------------------------------------------------------------------


async def new_location(vv) -> str:
    reply = await vv.call("POST", "admin/locations", user=ORGANISER, json_body={"name": "Gym"})
    return reply.data["id"]


@pytest.mark.gen_test
async def test_the_image_type_is_sniffed_from_the_bytes_not_the_header(vv):
    loc_id = await new_location(vv)
    path = f"admin/locations/{loc_id}/map"
    lying = await vv.call(
        "PUT",
        path,
        user=ORGANISER,
        body=b"<svg onload=alert(1)>",
        headers={"Content-Type": "image/png"},
    )
    assert lying.error == (415, "Map images must be PNG, JPEG, GIF or WebP")
    honest = await vv.call(
        "PUT", path, user=ORGANISER, body=images.GIF, headers={"Content-Type": "text/plain"}
    )
    assert honest.status == 200
    served = await vv.call("GET", f"location/image/{loc_id}")
    assert served.headers["Content-Type"] == "image/gif"


@pytest.mark.gen_test
async def test_image_size_is_limited_by_configuration(vv, settings):
    settings.max_map_image_bytes = 1000
    loc_id = await new_location(vv)
    path = f"admin/locations/{loc_id}/map"
    base = len(images.png())
    at_limit = images.png(padding=1000 - base - 12)
    assert len(at_limit) == 1000
    assert (await vv.call("PUT", path, user=ORGANISER, body=at_limit)).status == 200
    over = images.png(padding=1001 - base - 12)
    reply = await vv.call("PUT", path, user=ORGANISER, body=over)
    assert reply.error == (413, "Map images may be at most 1000 bytes")
    served = await vv.call("GET", f"location/image/{loc_id}")
    assert served.raw == at_limit  # the refused upload changed nothing


@pytest.mark.gen_test
async def test_an_empty_upload_is_a_400(vv):
    loc_id = await new_location(vv)
    reply = await vv.call("PUT", f"admin/locations/{loc_id}/map", user=ORGANISER, body=b"")
    assert reply.error == (400, "Send the map image as the request body")


@pytest.mark.gen_test
async def test_maps_of_unknown_locations_and_removed_maps(vv):
    reply = await vv.call("PUT", "admin/locations/404/map", user=ORGANISER, body=images.png())
    assert reply.error == (404, "Location not found")
    loc_id = await new_location(vv)
    await vv.call("PUT", f"admin/locations/{loc_id}/map", user=ORGANISER, body=images.png())
    removed = await vv.call("DELETE", f"admin/locations/{loc_id}/map", user=ORGANISER)
    assert removed.data["map"] is None
    assert (await vv.call("GET", f"location/image/{loc_id}")).status == 404


@pytest.mark.gen_test
async def test_map_images_are_stored_in_the_core_blob_store(vv, server):
    loc_id = await new_location(vv)
    data = images.png(3, 3)
    await vv.call("PUT", f"admin/locations/{loc_id}/map", user=ORGANISER, body=data)
    assert server.storage.read(hashlib.sha256(data).hexdigest()) == data


# -- announcements --------------------------------------------------------------------------------


async def pending_jobs(server) -> dict:
    """Dated jobs still to run (cancelled ones keep a run record without a next run)."""
    jobs = await server.scheduler.jobs()
    return {j["id"]: j for j in jobs if ":" in j["id"] and j["next_run_at"] is not None}


@pytest.mark.gen_test
async def test_a_future_announcement_gets_a_dated_job(vv, server, clock):
    due = clock.now() + timedelta(hours=1)
    created = await vv.call(
        "POST",
        "admin/announcements",
        user=ORGANISER,
        json_body={"message": "Dinner", "time": iso(due)},
    )
    assert created.status == 201 and created.data["time"] == iso(due)
    job_id = f"vivere.publish_announcement:{created.data['id']}"
    pending = await pending_jobs(server)
    assert pending[job_id]["next_run_at"].startswith(due.isoformat(timespec="seconds"))
    listed = await vv.call("GET", "admin/announcements", user=ORGANISER)
    assert [a["id"] for a in listed.data] == [created.data["id"]]  # organisers see it already
    # moved into the past: visible now, and the job is gone
    moved = await vv.call(
        "PATCH",
        f"admin/announcements/{created.data['id']}",
        user=ORGANISER,
        json_body={"time": None},
    )
    assert moved.data["time"] == iso(clock.now())
    assert job_id not in await pending_jobs(server)
    assert [a["message"] for a in (await vv.call("GET", "announcements")).data] == ["Dinner"]


@pytest.mark.gen_test
async def test_deleting_an_announcement_cancels_its_job(vv, server, clock):
    due = clock.now() + timedelta(hours=1)
    created = await vv.call(
        "POST",
        "admin/announcements",
        user=ORGANISER,
        json_body={"message": "x", "time": iso(due)},
    )
    deleted = await vv.call("DELETE", f"admin/announcements/{created.data['id']}", user=ORGANISER)
    assert deleted.data == created.data
    assert await pending_jobs(server) == {}
    again = await vv.call("DELETE", f"admin/announcements/{created.data['id']}", user=ORGANISER)
    assert again.error == (404, "Announcement not found")


@pytest.mark.gen_test
@pytest.mark.parametrize(
    "body, message",
    [
        ({}, "No message provided"),
        ({"message": ""}, "Message is blank"),
        ({"message": "x" * 1601}, "message must be at most 1600"),
        ({"message": "x", "time": "tomorrow"}, "time must be an ISO 8601 date"),
    ],
)
async def test_bad_announcements_are_400s(vv, body, message):
    reply = await vv.call("POST", "admin/announcements", user=ORGANISER, json_body=body)
    status, text = reply.error
    assert status == 400 and text.startswith(message)


@pytest.mark.gen_test
async def test_the_dated_job_publishes_when_due(vv, server, clock):
    due = clock.now() + timedelta(minutes=5)
    created = await vv.call(
        "POST",
        "admin/announcements",
        user=ORGANISER,
        json_body={"message": "x", "time": iso(due)},
    )
    pk = int(created.data["id"])
    await jobs.publish_announcement(server, announcement_id=pk)  # early: nothing
    assert (await vv.call("GET", "announcements")).data == []
    clock.set(due)
    await jobs.publish_announcement(server, announcement_id=pk)
    assert (await vv.call("GET", "announcements")).data == [created.data]


@pytest.mark.gen_test
async def test_map_images_are_kept_by_blob_garbage_collection(vv, server):
    """Vivere declares its blob references: `ngshare storage gc` keeps live maps only."""
    import os
    import time

    from ngshare.garbage import collect_garbage

    kept_id, dropped_id = await new_location(vv), await new_location(vv)
    kept, dropped = images.png(3, 3), images.png(4, 4)
    await vv.call("PUT", f"admin/locations/{kept_id}/map", user=ORGANISER, body=kept)
    await vv.call("PUT", f"admin/locations/{dropped_id}/map", user=ORGANISER, body=dropped)
    await vv.call("PUT", f"admin/locations/{dropped_id}/map", user=ORGANISER, body=images.png(5, 5))
    old = time.time() - 3 * 86400
    for digest in server.storage.all_digests():
        os.utime(server.storage.path_for(digest), (old, old))
    assert await collect_garbage(server) == 1  # only the replaced map goes
    assert server.storage.read(hashlib.sha256(kept).hexdigest()) == kept
    assert not server.storage.exists(hashlib.sha256(dropped).hexdigest())
