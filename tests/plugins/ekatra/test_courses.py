"""Courses, days and questions: replace-on-update, dense numbering, ownership, locks."""

from __future__ import annotations

import pytest

from tests.plugins.ekatra.conftest import ADMIN, COURSE, OTHER, make_course, make_group


async def days_of(ek, course, user=None):
    kwargs = {"user": user} if user else {}
    return (await ek.call("GET", f"course/{course}", **kwargs)).ok()["days"]


@pytest.mark.gen_test(timeout=30)
async def test_a_course_is_created_numbered_and_read_back(ek):
    course = await make_course(ek)
    got = (await ek.call("GET", f"course/{course}")).ok()
    assert got["name"] == "Python" and got["author"] == "Ekatra"
    assert [d["day"] for d in got["days"]] == [1, 2, 3]
    # correct-answer (the README's spelling) and correct_answer both land
    assert [q["correct_answer"] for q in got["days"][1]["questions"]] == ["a", "def"]
    listed = (await ek.call("GET", "course/")).ok()["courses"]
    assert [c["id"] for c in listed] == [course]


@pytest.mark.gen_test(timeout=30)
async def test_an_update_replaces_what_it_names_instead_of_appending(ek):
    course = await make_course(ek)
    new_days = [{"text": "Only day", "questions": [{"question": "Q?", "type": "exact"}]}]
    reply = await ek.call("PUT", f"course/{course}", json_body={"days": new_days, "name": "Py"})
    assert reply.ok()["message"] == "Update Successful"
    got = (await ek.call("GET", f"course/{course}")).ok()
    assert got["name"] == "Py" and got["author"] == "Ekatra"
    assert [(d["day"], d["text"]) for d in got["days"]] == [(1, "Only day")]
    # creating the same course again makes a second course, never merges days
    again = await make_course(ek)
    assert again != course and len(await days_of(ek, again)) == 3


@pytest.mark.gen_test(timeout=30)
async def test_days_and_questions_renumber_after_a_delete(ek):
    course = await make_course(ek)
    assert (await ek.call("DELETE", f"course/{course}/1")).ok()["message"] == "success"
    days = await days_of(ek, course)
    assert [(d["day"], d["text"]) for d in days] == [(1, "print('hello world')"), (2, "Loops")]
    (await ek.call("DELETE", f"course/{course}/1/1")).ok()
    questions = (await days_of(ek, course))[0]["questions"]
    assert [(q["question_number"], q["correct_answer"]) for q in questions] == [(1, "def")]
    body = {"question": "Which keyword defines a function?", "correct-answer": "DEF"}
    (await ek.call("PUT", f"course/{course}/1/1", json_body=body)).ok()
    q = (await days_of(ek, course))[0]["questions"][0]
    assert (q["question"], q["type"], q["correct_answer"]) == (
        "Which keyword defines a function?",
        "exact",
        "DEF",
    )
    day = {"text": "Loops, again", "questions": [{"question": "for or while?"}]}
    (await ek.call("PUT", f"course/{course}/2", json_body=day)).ok()
    last = (await days_of(ek, course))[1]
    assert last["text"] == "Loops, again" and len(last["questions"]) == 1


@pytest.mark.gen_test(timeout=30)
async def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(ek):
    course = await make_course(ek)
    cases = [
        ("POST", "course/", {"author": "a", "description": "d"}, "name is required"),
        ("POST", "course/", {**COURSE, "name": "  "}, "name must not be blank"),
        ("POST", "course/", {**COURSE, "days": "day one"}, "days must be a list of objects"),
        ("POST", "course/", {**COURSE, "days": [{"questions": []}]}, "text is required"),
        ("POST", "course/", {**COURSE, "name": "x" * 256}, "name must be at most 255 characters"),
        (
            "POST",
            "course/",
            {**COURSE, "name": "a\x00b"},
            "name contains a character that cannot be stored (NUL or a lone surrogate)",
        ),
        ("PUT", f"course/{course}", {}, "Nothing to change"),
        (
            "PUT",
            f"course/{course}",
            {"days": [{"text": "t", "questions": [{"type": "mcq"}]}]},
            "question is required",
        ),
        ("PUT", f"course/{course}/1", {"text": 3}, "text must be a string"),
        ("PUT", f"course/{course}/2/1", {}, "Nothing to change"),
        ("GET", "course/abc", None, "Invalid course id"),
        ("DELETE", f"course/{course}/x", None, "Invalid day id"),
        ("PUT", f"course/{course}/1/99999999999", {"question": "q"}, "Invalid question id"),
    ]
    for method, path, body, message in cases:
        reply = await ek.call(method, path, json_body=body)
        assert reply.error() == (400, message), (method, path, body)
    assert len(await days_of(ek, course)) == 3
    assert len((await ek.call("GET", "course/")).ok()["courses"]) == 1


@pytest.mark.gen_test(timeout=30)
async def test_unknown_days_and_questions_are_404(ek):
    course = await make_course(ek)
    assert (await ek.call("GET", "course/999")).error() == (404, "Course not found!!")
    assert (await ek.call("DELETE", f"course/{course}/9")).error() == (404, "Day not found!!")
    reply = await ek.call("DELETE", f"course/{course}/1/1")
    assert reply.error() == (404, "Question not found!!")


@pytest.mark.gen_test(timeout=30)
async def test_other_peoples_courses_are_not_found_and_admins_see_all(ek):
    course = await make_course(ek)
    for method in ("GET", "DELETE"):
        reply = await ek.call(method, f"course/{course}", user=OTHER)
        assert reply.error() == (404, "Course not found!!")
    reply = await ek.call("PUT", f"course/{course}/1", user=OTHER, json_body={"text": "mine"})
    assert reply.error() == (404, "Course not found!!")
    assert (await ek.call("GET", "course/", user=OTHER)).ok()["courses"] == []
    assert [c["id"] for c in (await ek.call("GET", "course/", user=ADMIN)).ok()["courses"]] == [
        course
    ]
    (await ek.call("PUT", f"course/{course}", user=ADMIN, json_body={"author": "Root"})).ok()
    assert (await ek.call("GET", f"course/{course}")).ok()["author"] == "Root"


@pytest.mark.gen_test(timeout=30)
async def test_a_course_in_a_scheduled_or_paused_delivery_is_locked(ek):
    course = await make_course(ek)
    group = await make_group(ek)
    created = await ek.call(
        "POST", f"delivery/group/{group}/{course}", json_body={"schedule_at": "2030-01-01 09:00"}
    )
    delivery = created.ok()["id"]
    locked = f"The course 'Python' cannot be changed or deleted while delivery {delivery} uses it"
    for method, path, body in [
        ("PUT", f"course/{course}", {"name": "New"}),
        ("DELETE", f"course/{course}", None),
        ("PUT", f"course/{course}/1", {"text": "x"}),
        ("DELETE", f"course/{course}/1", None),
        ("PUT", f"course/{course}/2/1", {"question": "x"}),
        ("DELETE", f"course/{course}/2/1", None),
    ]:
        assert (await ek.call(method, path, json_body=body)).error() == (409, locked)
    (await ek.call("PUT", f"delivery/{delivery}", json_body={"action": "PAUSE"})).ok()
    assert (await ek.call("DELETE", f"course/{course}")).error() == (409, locked)
    (await ek.call("PUT", f"delivery/{delivery}", json_body={"action": "STOP"})).ok()
    assert (await ek.call("DELETE", f"course/{course}")).ok()["message"] == "Deleted successfully"
    # the stopped delivery keeps its course's name
    shown = (await ek.call("GET", f"delivery/{delivery}")).ok()
    assert (shown["course_id"], shown["course_name"]) == (None, "Python")
