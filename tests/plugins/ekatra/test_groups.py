"""Groups and learners: E.164 numbers, channels, IANA timezones, replace-on-update, ownership."""

from __future__ import annotations

import pytest

from tests.plugins.ekatra.conftest import ADMIN, KOLKATA, OTHER, group_body, make_group


def learner(**fields):
    return {
        "name": "Tejas",
        "number": KOLKATA,
        "channel": "sms",
        "timezone": "Asia/Kolkata",
        **fields,
    }


@pytest.mark.gen_test(timeout=30)
async def test_numbers_are_stored_in_e164_and_channels_in_lower_case(ek):
    body = group_body(
        learner(number="93801 69981", country_code="+91", channel="WhatsApp"),
        learner(name="Amit", number="+1 (212) 555-0100", channel="SMS", timezone=None),
        learner(name="Sree", number=9113029491, country_code=91, is_subscribed=False),
    )
    group = await make_group(ek, body)
    students = (await ek.call("GET", f"group/{group}")).ok()["students"]
    assert [
        (s["number"], s["country_code"], s["channel"], s["timezone"], s["is_subscribed"])
        for s in students
    ] == [
        ("+919380169981", "+91", "whatsapp", "Asia/Kolkata", True),
        ("+12125550100", "+1", "sms", "UTC", True),
        ("+919113029491", "+91", "sms", "Asia/Kolkata", False),
    ]


@pytest.mark.gen_test(timeout=30)
async def test_bad_learners_are_a_400_and_nothing_is_saved(ek):
    phone = "number must be a phone number with its country code, e.g. +919380169981"
    cases = [
        (learner(number="12345"), phone),
        (learner(number="+1555010"), phone),
        (learner(number="+15550102030"), phone),  # not a number anywhere (555 area code)
        (learner(number=True), phone),
        (learner(number=None), "number is required"),
        (learner(channel="fax"), "channel must be sms or whatsapp"),
        (
            learner(timezone="Mars/Olympus"),
            "timezone must be an IANA time zone name, e.g. Asia/Kolkata",
        ),
        (
            learner(timezone="../../etc/passwd"),
            "timezone must be an IANA time zone name, e.g. Asia/Kolkata",
        ),
        (learner(is_subscribed="yes"), "is_subscribed must be true or false"),
        (learner(name=""), "name must not be blank"),
    ]
    for student, message in cases:
        reply = await ek.call("POST", "group/", json_body=group_body(student))
        assert reply.error() == (400, message), student
    twice = group_body(learner(), learner(name="Again", number="+91 93801 69981"))
    reply = await ek.call("POST", "group/", json_body=twice)
    assert reply.error() == (400, "number +919380169981 appears twice in the group")
    reply = await ek.call("POST", "group/", json_body={"description": "no name"})
    assert reply.error() == (400, "name is required")
    assert (await ek.call("GET", "group/")).ok()["groups"] == []


@pytest.mark.gen_test(timeout=30)
async def test_replacing_students_keeps_the_learners_listed_again(ek):
    group = await make_group(ek)
    before = {
        s["number"]: s["id"] for s in (await ek.call("GET", f"group/{group}")).ok()["students"]
    }
    body = {
        "students": [
            learner(name="Tejas K", channel="whatsapp"),
            learner(name="Nia", number="+447911123456", timezone="Europe/London"),
        ]
    }
    assert (await ek.call("PUT", f"group/{group}", json_body=body)).ok()["message"] == (
        "Updated successfully"
    )
    after = (await ek.call("GET", f"group/{group}")).ok()
    assert after["name"] == "Group1"
    by_number = {s["number"]: s for s in after["students"]}
    assert set(by_number) == {KOLKATA, "+447911123456"}
    assert by_number[KOLKATA]["id"] == before[KOLKATA]
    assert by_number[KOLKATA]["name"] == "Tejas K"


@pytest.mark.gen_test(timeout=30)
async def test_a_learner_is_updated_and_removed(ek):
    group = await make_group(ek)
    first, second = (await ek.call("GET", f"group/{group}")).ok()["students"]
    body = learner(name="Tejas", number="+919380169982", timezone="Asia/Tokyo")
    assert (await ek.call("PUT", f"group/{group}/{first['id']}", json_body=body)).ok()[
        "message"
    ] == "Student updated"
    clash = learner(number=second["number"])
    reply = await ek.call("PUT", f"group/{group}/{first['id']}", json_body=clash)
    assert reply.error() == (400, f"number {second['number']} appears twice in the group")
    (await ek.call("DELETE", f"group/{group}/{second['id']}")).ok()
    students = (await ek.call("GET", f"group/{group}")).ok()["students"]
    assert [(s["number"], s["timezone"]) for s in students] == [("+919380169982", "Asia/Tokyo")]
    reply = await ek.call("DELETE", f"group/{group}/{second['id']}")
    assert reply.error() == (404, "Student not found")
    assert (await ek.call("DELETE", f"group/{group}/x")).error() == (400, "Invalid student id")


@pytest.mark.gen_test(timeout=30)
async def test_other_peoples_groups_are_not_found_and_admins_see_all(ek):
    group = await make_group(ek)
    assert (await ek.call("GET", f"group/{group}", user=OTHER)).error() == (
        404,
        "Group not found!!",
    )
    reply = await ek.call("DELETE", f"group/{group}/1", user=OTHER)
    assert reply.error() == (404, "Group not found!!")
    assert (await ek.call("GET", "group/", user=OTHER)).ok()["groups"] == []
    assert len((await ek.call("GET", "group/", user=ADMIN)).ok()["groups"]) == 1
    (await ek.call("DELETE", f"group/{group}", user=ADMIN)).ok()
    assert (await ek.call("GET", "group/")).ok()["groups"] == []


@pytest.mark.gen_test(timeout=30)
async def test_a_group_in_a_scheduled_delivery_is_locked(ek):
    from tests.plugins.ekatra.conftest import make_course

    group = await make_group(ek)
    course = await make_course(ek)
    body = {"schedule_at": "2030-01-01 09:00"}
    delivery = (await ek.call("POST", f"delivery/group/{group}/{course}", json_body=body)).ok()[
        "id"
    ]
    students = (await ek.call("GET", f"group/{group}")).ok()["students"]
    locked = f"The group 'Group1' cannot be changed or deleted while delivery {delivery} uses it"
    for method, path, payload in [
        ("PUT", f"group/{group}", {"name": "x"}),
        ("DELETE", f"group/{group}", None),
        ("PUT", f"group/{group}/{students[0]['id']}", learner()),
        ("DELETE", f"group/{group}/{students[0]['id']}", None),
    ]:
        assert (await ek.call(method, path, json_body=payload)).error() == (409, locked)
