"""GET /courses, POST /course/<c>, DELETE /course/<c>.

Wire texts are spelled out literally so that these tests also pin
``ngshare.exchange.errors``.
"""

import json
from urllib.parse import urlencode

import pytest

pytestmark = pytest.mark.gen_test

ADMIN = "root"
INSTRUCTOR = "kevin"  # teaches c1 (exchange.course())
STUDENT = "s1"  # takes c1 (exchange.students())
OUTSIDER = "olivia"  # known to nobody

NOT_ADMIN = "Permission denied (not admin)"
NOT_RELATED = "Permission denied (not related to course)"


def error(message):
    return {"success": False, "message": message}


async def courses_of(api, user):
    status, body = await api("GET", "courses", user=user)
    assert status == 200, body
    return body["courses"]


async def instructors_of(api, course):
    status, body = await api("GET", f"instructors/{course}", user=ADMIN)
    assert status == 200, body
    return body["instructors"]


async def students_of(api, course):
    status, body = await api("GET", f"students/{course}", user=ADMIN)
    assert status == 200, body
    return body["students"]


def null_person(username):
    return {"username": username, "first_name": None, "last_name": None, "email": None}


# --- anonymous callers ------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "courses"),
        ("POST", "course/c1"),
        ("POST", "course/new"),
        ("DELETE", "course/c1"),
        ("DELETE", "course/unknown"),
    ],
)
async def test_anonymous_caller_gets_login_required(exchange, api, method, path):
    await exchange.course()
    assert await api(method, path) == (401, error("Login required"))
    assert await courses_of(api, ADMIN) == ["c1"]


async def test_empty_user_argument_counts_as_anonymous(api):
    assert await api("GET", "courses", user="") == (401, error("Login required"))


async def test_anonymous_course_creation_creates_nothing(api):
    status, _ = await api("POST", "course/c9", instructors=json.dumps(["kevin"]))
    assert status == 401
    assert await courses_of(api, ADMIN) == []
    assert await courses_of(api, "kevin") == []


# --- GET /courses -----------------------------------------------------------


async def test_user_without_courses_gets_an_empty_list(exchange, api):
    await exchange.course()
    assert await api("GET", "courses", user=OUTSIDER) == (200, {"success": True, "courses": []})


async def test_instructor_sees_the_courses_they_teach(exchange, api):
    await exchange.course("c1")
    await exchange.course("c2", instructors=("irene",))
    assert await api("GET", "courses", user=INSTRUCTOR) == (
        200,
        {"success": True, "courses": ["c1"]},
    )


async def test_student_sees_the_courses_they_take(exchange, api):
    await exchange.course()
    await exchange.students()
    await exchange.course("c2", instructors=("irene",))
    assert await api("GET", "courses", user=STUDENT) == (200, {"success": True, "courses": ["c1"]})


async def test_taught_and_taken_courses_are_listed_together_in_ascending_order(exchange, api):
    # amy teaches "zeta" and "Mid", takes "alpha" and "beta"; "other" is not hers
    for course in ("zeta", "Mid"):
        await exchange.course(course, instructors=("amy",))
    for course in ("beta", "alpha", "other"):
        await exchange.course(course, instructors=("irene",))
    for course in ("beta", "alpha"):
        await exchange.students(course, names=("amy", "bob"))
    assert await courses_of(api, "amy") == ["Mid", "alpha", "beta", "zeta"]
    assert await courses_of(api, "bob") == ["alpha", "beta"]
    assert await courses_of(api, "irene") == ["alpha", "beta", "other"]


async def test_courses_are_listed_once_each(exchange, api):
    await exchange.course("c1", instructors=("kevin", "amy"))
    await exchange.course("c2", instructors=("amy", "kevin"))
    await exchange.students("c1", names=("s1", "s2", "s3"))
    assert await courses_of(api, "amy") == ["c1", "c2"]
    assert await courses_of(api, "s1") == ["c1"]


async def test_admin_sees_every_course_in_ascending_order(exchange, api):
    for course in ("c3", "c1", "B2"):
        await exchange.course(course, instructors=("irene",))
    assert await api("GET", "courses", user=ADMIN) == (
        200,
        {"success": True, "courses": ["B2", "c1", "c3"]},
    )


async def test_admin_who_teaches_a_course_sees_it_once(exchange, api):
    await exchange.course("c1", instructors=(ADMIN, "kevin"))
    await exchange.course("c2", instructors=("kevin",))
    assert await courses_of(api, ADMIN) == ["c1", "c2"]


async def test_admin_with_no_courses_at_all_gets_an_empty_list(api):
    assert await api("GET", "courses", user=ADMIN) == (200, {"success": True, "courses": []})


# --- POST /course/<c> -------------------------------------------------------


async def test_admin_creates_a_course(api):
    assert await api("POST", "course/c1", user=ADMIN) == (200, {"success": True})
    assert await courses_of(api, ADMIN) == ["c1"]


async def test_course_creator_is_not_added_as_instructor(api):
    await api("POST", "course/c1", user=ADMIN, instructors="[]")
    assert await instructors_of(api, "c1") == []
    assert await students_of(api, "c1") == []
    # the admin reaches the course through admin rights, not membership
    assert await api("GET", f"instructor/c1/{ADMIN}", user=ADMIN) == (
        404,
        error("Instructor not found"),
    )


async def test_instructors_are_optional(api):
    assert await api("POST", "course/c1", user=ADMIN) == (200, {"success": True})
    assert await instructors_of(api, "c1") == []


async def test_course_instructors_are_listed_in_given_order_with_null_names(api):
    status, body = await api(
        "POST", "course/c1", user=ADMIN, instructors=json.dumps(["kevin", "abby"])
    )
    assert (status, body) == (200, {"success": True})
    assert await instructors_of(api, "c1") == [null_person("kevin"), null_person("abby")]
    assert await api("GET", "instructor/c1/abby", user="kevin") == (
        200,
        {"success": True, **null_person("abby")},
    )


async def test_course_instructors_are_created_as_users_and_see_the_course(api):
    await api("POST", "course/c1", user=ADMIN, instructors=json.dumps(["newcomer"]))
    assert await courses_of(api, "newcomer") == ["c1"]
    status, body = await api("GET", "students/c1", user="newcomer")
    assert (status, body) == (200, {"success": True, "students": []})


async def test_instructors_may_be_sent_in_the_query_string(api):
    query = urlencode({"instructors": json.dumps(["kevin"])})
    status, body = await api("POST", f"course/c1?{query}", user=ADMIN)
    assert (status, body) == (200, {"success": True})
    assert await instructors_of(api, "c1") == [null_person("kevin")]


@pytest.mark.parametrize("user", [INSTRUCTOR, STUDENT, OUTSIDER])
async def test_non_admin_cannot_create_a_course(exchange, api, user):
    await exchange.course()
    await exchange.students()
    assert await api("POST", "course/c2", user=user) == (403, error(NOT_ADMIN))
    assert await courses_of(api, ADMIN) == ["c1"]


async def test_non_admin_cannot_create_even_a_course_listing_themself(api):
    status, body = await api("POST", "course/c2", user="kevin", instructors='["kevin"]')
    assert (status, body) == (403, error(NOT_ADMIN))
    assert await courses_of(api, "kevin") == []


async def test_not_admin_wins_over_course_already_exists(exchange, api):
    await exchange.course()
    assert await api("POST", "course/c1", user=INSTRUCTOR) == (403, error(NOT_ADMIN))


async def test_not_admin_wins_over_undecodable_instructors(api):
    status, body = await api("POST", "course/c2", user=INSTRUCTOR, instructors="[")
    assert (status, body) == (403, error(NOT_ADMIN))


async def test_creating_an_existing_course_conflicts(exchange, api):
    await exchange.course()
    status, body = await api("POST", "course/c1", user=ADMIN, instructors='["abby"]')
    assert (status, body) == (409, error("Course already exists"))
    assert await instructors_of(api, "c1") == [null_person("kevin")]
    assert await courses_of(api, "abby") == []


async def test_course_already_exists_wins_over_undecodable_instructors(exchange, api):
    await exchange.course()
    status, body = await api("POST", "course/c1", user=ADMIN, instructors='"root"]')
    assert (status, body) == (409, error("Course already exists"))


@pytest.mark.parametrize("instructors", ['"root"]', "", "[", "kevin", "['kevin']"])
async def test_undecodable_instructors_are_rejected(api, instructors):
    status, body = await api("POST", "course/c1", user=ADMIN, instructors=instructors)
    assert (status, body) == (400, error("Instructors cannot be JSON decoded"))
    assert await courses_of(api, ADMIN) == []


# ngshare answers these with a 500 (iterating the value, or a non-str username)
@pytest.mark.parametrize("instructors", ["5", "true", "[1]", "[null]", '[["kevin"]]'])
async def test_instructors_that_are_not_a_list_of_usernames_are_rejected(api, instructors):
    status, body = await api("POST", "course/c1", user=ADMIN, instructors=instructors)
    assert (status, body) == (400, error("Instructors cannot be JSON decoded"))
    assert await courses_of(api, ADMIN) == []


async def test_course_id_with_a_space_is_url_decoded(api):
    status, body = await api("POST", "course/NBG%20101", user=ADMIN, instructors='["jane doe"]')
    assert (status, body) == (200, {"success": True})
    assert await courses_of(api, ADMIN) == ["NBG 101"]
    assert await courses_of(api, "jane doe") == ["NBG 101"]
    assert await instructors_of(api, "NBG%20101") == [null_person("jane doe")]
    assert await api("POST", "course/NBG%20101", user=ADMIN) == (
        409,
        error("Course already exists"),
    )
    assert await api("DELETE", "course/NBG%20101", user=ADMIN) == (200, {"success": True})
    assert await courses_of(api, ADMIN) == []


async def test_course_ids_differing_only_in_case_are_different_courses(api):
    assert (await api("POST", "course/c1", user=ADMIN))[0] == 200
    assert await api("POST", "course/C1", user=ADMIN) == (200, {"success": True})
    assert await courses_of(api, ADMIN) == ["C1", "c1"]


# --- DELETE /course/<c> -----------------------------------------------------


async def test_admin_deletes_a_course(exchange, api):
    await exchange.setup()
    await exchange.course("c2", instructors=("kevin",))
    assert await api("DELETE", "course/c1", user=ADMIN) == (200, {"success": True})
    assert await courses_of(api, ADMIN) == ["c2"]
    assert await courses_of(api, INSTRUCTOR) == ["c2"]
    assert await courses_of(api, STUDENT) == []


@pytest.mark.parametrize(
    ("method", "path", "user"),
    [
        ("GET", "instructors/c1", ADMIN),
        ("GET", "instructors/c1", INSTRUCTOR),
        ("GET", "students/c1", INSTRUCTOR),
        ("GET", "student/c1/s1", STUDENT),
        ("GET", "assignments/c1", STUDENT),
        ("DELETE", "course/c1", ADMIN),
    ],
)
async def test_deleted_course_is_not_found(exchange, api, method, path, user):
    await exchange.setup()
    await api("DELETE", "course/c1", user=ADMIN)
    assert await api(method, path, user=user) == (404, error("Course not found"))


@pytest.mark.parametrize("user", [INSTRUCTOR, STUDENT, OUTSIDER])
async def test_non_admin_cannot_delete_a_course(exchange, api, user):
    await exchange.course()
    await exchange.students()
    assert await api("DELETE", "course/c1", user=user) == (403, error(NOT_ADMIN))
    assert await courses_of(api, ADMIN) == ["c1"]
    assert await courses_of(api, INSTRUCTOR) == ["c1"]


async def test_not_admin_is_checked_before_the_course_lookup_on_delete(api):
    assert await api("DELETE", "course/nope", user=INSTRUCTOR) == (403, error(NOT_ADMIN))


async def test_deleting_an_unknown_course_is_not_found(exchange, api):
    await exchange.course()
    assert await api("DELETE", "course/nope", user=ADMIN) == (404, error("Course not found"))
    assert await courses_of(api, ADMIN) == ["c1"]


async def test_deleted_course_id_can_be_created_again_and_the_new_course_is_empty(exchange, api):
    await exchange.setup()
    await exchange.submit("s1")
    await api("DELETE", "course/c1", user=ADMIN)

    status, body = await api("POST", "course/c1", user=ADMIN, instructors='["irene"]')
    assert (status, body) == (200, {"success": True})
    assert await courses_of(api, ADMIN) == ["c1"]
    assert await instructors_of(api, "c1") == [null_person("irene")]
    assert await students_of(api, "c1") == []
    assert await api("GET", "assignments/c1", user="irene") == (
        200,
        {"success": True, "assignments": []},
    )
    assert await api("GET", "submissions/c1/a1", user="irene") == (
        404,
        error("Assignment not found"),
    )
    # former members have no part in the new course
    assert await courses_of(api, INSTRUCTOR) == []
    assert await courses_of(api, STUDENT) == []
    assert await api("GET", "instructors/c1", user=INSTRUCTOR) == (403, error(NOT_RELATED))
    assert await api("GET", "student/c1/s1", user=STUDENT) == (404, error("Student not found"))


async def test_deleted_course_id_can_be_created_again_without_instructors(exchange, api):
    await exchange.course()
    await api("DELETE", "course/c1", user=ADMIN)
    assert await api("POST", "course/c1", user=ADMIN) == (200, {"success": True})
    assert await instructors_of(api, "c1") == []
    assert await api("POST", "course/c1", user=ADMIN) == (409, error("Course already exists"))


async def test_deleting_one_course_leaves_the_others_intact(exchange, api):
    await exchange.course("c1")
    await exchange.students("c1")
    await exchange.course("c2", instructors=("kevin", "irene"))
    await exchange.students("c2", names=("s1", "s3"))
    await api("DELETE", "course/c1", user=ADMIN)
    assert await instructors_of(api, "c2") == [null_person("kevin"), null_person("irene")]
    assert [s["username"] for s in await students_of(api, "c2")] == ["s1", "s3"]
    assert await courses_of(api, STUDENT) == ["c2"]
