"""Creating deliveries and their refusals; the seed's and the code's paths for actions and lists."""

from __future__ import annotations

import pytest

from tests.plugins.ekatra.conftest import ADMIN, OTHER, make_course, make_group


@pytest.mark.gen_test(timeout=30)
async def test_schedule_at_is_read_in_the_deliverys_timezone(ek):
    course, group = await make_course(ek), await make_group(ek)
    for at, tz, first in [
        ("2030-03-01 09:15", "Asia/Kolkata", "2030-03-01T03:45:00Z"),
        ("2030-03-01 09:15:30", None, "2030-03-01T09:15:30Z"),
        ("2030-07-01T09:15", "Europe/London", "2030-07-01T08:15:00Z"),
    ]:
        body = {"schedule_at": at} if tz is None else {"schedule_at": at, "timezone": tz}
        reply = await ek.call("POST", f"delivery/group/{group}/{course}", json_body=body)
        assert reply.ok()["message"] == "Success"
        shown = (await ek.call("GET", f"delivery/{reply.body['id']}")).ok()
        assert shown["status"] == "SCHEDULED"
        assert shown["progress"]["next_send_at"] == first
        assert shown["timezone"] == (tz or "UTC")


@pytest.mark.gen_test(timeout=30)
async def test_bad_deliveries_are_refused_with_the_reason(ek):
    course, group = await make_course(ek), await make_group(ek)
    empty_course = await make_course(ek, {"name": "E", "author": "A", "description": ""})
    empty_group = await make_group(ek, {"name": "Nobody", "students": []})
    bad_time = "schedule_at must be YYYY-MM-DD HH:MM[:SS]"
    cases = [
        (f"{group}/{course}", {}, 400, bad_time),
        (f"{group}/{course}", {"schedule_at": "tomorrow"}, 400, bad_time),
        (f"{group}/{course}", {"schedule_at": "2030-02-30 09:00"}, 400, bad_time),
        (f"{group}/{course}", {"schedule_at": 20300101}, 400, bad_time),
        (
            f"{group}/{course}",
            {"schedule_at": "2030-01-01 09:00", "timezone": "IST"},
            400,
            "timezone must be an IANA time zone name, e.g. Asia/Kolkata",
        ),
        # 02:30 does not exist in New York on 2030-03-10 (clocks go from 02:00 to 03:00)
        (
            f"{group}/{course}",
            {"schedule_at": "2030-03-10 02:30", "timezone": "America/New_York"},
            400,
            "schedule_at does not exist in America/New_York (a daylight-saving gap)",
        ),
        (
            f"{group}/{empty_course}",
            {"schedule_at": "2030-01-01 09:00"},
            400,
            "The course has no days",
        ),
        (
            f"{empty_group}/{course}",
            {"schedule_at": "2030-01-01 09:00"},
            400,
            "The group has no students",
        ),
        (f"999/{course}", {"schedule_at": "2030-01-01 09:00"}, 404, "Group not found!!"),
        (f"{group}/999", {"schedule_at": "2030-01-01 09:00"}, 404, "Course not found!!"),
        (f"x/{course}", {"schedule_at": "2030-01-01 09:00"}, 400, "Invalid group id"),
    ]
    for path, body, status, message in cases:
        reply = await ek.call("POST", f"delivery/group/{path}", json_body=body)
        assert reply.error() == (status, message), (path, body)
    assert (await ek.call("GET", "retrieve-deliveries")).ok()["deliveries"] == []
    reply = await ek.call(
        "POST",
        f"delivery/group/{group}/{course}",
        user=OTHER,
        json_body={"schedule_at": "2030-01-01 09:00"},
    )
    assert reply.error() == (404, "Group not found!!")


@pytest.mark.gen_test(timeout=30)
async def test_actions_are_checked_and_deliveries_are_private(ek):
    course, group = await make_course(ek), await make_group(ek)
    body = {"schedule_at": "2030-01-01 09:00"}
    delivery = (await ek.call("POST", f"delivery/group/{group}/{course}", json_body=body)).ok()[
        "id"
    ]
    for action in ("RESTART", None, 1):
        reply = await ek.call("PUT", f"delivery/{delivery}", json_body={"action": action})
        assert reply.error() == (400, "action must be PAUSE, RESUME or STOP")
    for path in (
        f"delivery/{delivery}",
        f"delivery/{delivery}/summary",
        f"delivery/{delivery}/answers",
    ):
        assert (await ek.call("GET", path, user=OTHER)).error() == (404, "Delivery not found!!")
    reply = await ek.call("PUT", f"delivery/{delivery}/stop_delivery", user=OTHER)
    assert reply.error() == (404, "Delivery not found!!")
    assert (await ek.call("GET", "retrieve-deliveries", user=OTHER)).ok()["deliveries"] == []
    listed = (await ek.call("GET", "retrieve-deliveries", user=ADMIN)).ok()["deliveries"]
    assert [d["id"] for d in listed] == [delivery]
    assert (await ek.call("PUT", f"delivery/{delivery}/pause_delivery", user=ADMIN)).ok()[
        "status"
    ] == "PAUSED"
    reply = await ek.call("GET", f"delivery/{delivery}/answers", query={"student": "999"})
    assert reply.error() == (404, "Student not found")
    assert (await ek.call("GET", "delivery/0")).error() == (404, "Delivery not found!!")
    assert (await ek.call("GET", "no/such/route")).error() == (404, "Not found")
