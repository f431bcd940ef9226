"""Course rosters: /instructor, /instructors, /student and /students.

The usual cast, set up by :func:`roster`: course c1 is taught by kevin (names
unset) and taken by s1 and s2 (names ``F<s>``, ``L<s>``, ``<s>@x``); course c2
is taught by irene; olivia is known to no course. Wire texts are spelled out
literally so that these tests also pin ``ngshare.exchange.errors``.
"""

import json
from urllib.parse import urlencode

import pytest

pytestmark = pytest.mark.gen_test

ADMIN = "root"
INSTRUCTOR = "kevin"
STUDENT = "s1"
OTHER_STUDENT = "s2"
OTHER_INSTRUCTOR = "irene"  # teaches c2 only
OUTSIDER = "olivia"

NOT_ADMIN = "Permission denied (not admin)"
NOT_INSTRUCTOR = "Permission denied (not course instructor)"
NOT_RELATED = "Permission denied (not related to course)"
CANNOT_MODIFY = "Permission denied (cannot modify instructors)"
CANNOT_MODIFY_OTHERS = "Permission denied (cannot modify other instructors)"

NAMES = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@x"}

OK = (200, {"success": True})


def error(message):
    return {"success": False, "message": message}


def person(username, first_name=None, last_name=None, email=None):
    return {
        "username": username,
        "first_name": first_name,
        "last_name": last_name,
        "email": email,
    }


def student(username):
    """A student as :meth:`Exchange.students` enrols them."""
    return person(username, f"F{username}", f"L{username}", f"{username}@x")


def entry(username, first_name, last_name, email):
    return {"username": username, "first_name": first_name, "last_name": last_name, "email": email}


async def roster(exchange):
    await exchange.course("c1")
    await exchange.students("c1")
    await exchange.course("c2", instructors=(OTHER_INSTRUCTOR,))


async def instructors_of(api, course="c1"):
    status, body = await api("GET", f"instructors/{course}", user=ADMIN)
    assert status == 200, body
    return body["instructors"]


async def students_of(api, course="c1"):
    status, body = await api("GET", f"students/{course}", user=ADMIN)
    assert status == 200, body
    return body["students"]


async def courses_of(api, user):
    status, body = await api("GET", "courses", user=user)
    assert status == 200, body
    return body["courses"]


async def post_students(api, students, course="c1", user=INSTRUCTOR):
    return await api("POST", f"students/{course}", user=user, students=students)


# --- anonymous callers ------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "instructor/c1/kevin"),
        ("POST", "instructor/c1/kevin"),
        ("POST", "instructor/c1/newcomer"),
        ("DELETE", "instructor/c1/kevin"),
        ("GET", "instructors/c1"),
        ("GET", "student/c1/s1"),
        ("POST", "student/c1/s1"),
        ("POST", "student/c1/newcomer"),
        ("DELETE", "student/c1/s1"),
        ("GET", "students/c1"),
        ("POST", "students/c1"),
        ("GET", "instructors/unknown"),
        ("DELETE", "student/unknown/s1"),
    ],
)
async def test_anonymous_caller_gets_login_required(exchange, api, method, path):
    await roster(exchange)
    fields = dict(NAMES) if method == "POST" else {}
    if path.startswith("students/") and method == "POST":
        fields = {"students": json.dumps([entry("newcomer", "N", "C", "n@x")])}
    assert await api(method, path, **fields) == (401, error("Login required"))
    assert await instructors_of(api) == [person("kevin")]
    assert await students_of(api) == [student("s1"), student("s2")]


# --- GET /instructor/<c>/<i> ------------------------------------------------


@pytest.mark.parametrize("user", [ADMIN, INSTRUCTOR, STUDENT, OTHER_STUDENT])
async def test_course_member_or_admin_reads_an_instructor_as_a_flat_entry(exchange, api, user):
    await roster(exchange)
    assert await api("GET", "instructor/c1/kevin", user=user) == (
        200,
        {
            "success": True,
            "username": "kevin",
            "first_name": None,
            "last_name": None,
            "email": None,
        },
    )


async def test_instructor_entry_shows_names_once_set(exchange, api):
    await roster(exchange)
    assert await api("POST", "instructor/c1/kevin", user=INSTRUCTOR, **NAMES) == OK
    assert await api("GET", "instructor/c1/kevin", user=STUDENT) == (
        200,
        {"success": True, "username": "kevin", **NAMES},
    )


@pytest.mark.parametrize("user", [OUTSIDER, OTHER_INSTRUCTOR])
async def test_outsider_cannot_read_an_instructor(exchange, api, user):
    await roster(exchange)
    assert await api("GET", "instructor/c1/kevin", user=user) == (403, error(NOT_RELATED))


async def test_reading_an_instructor_of_an_unknown_course_is_course_not_found(exchange, api):
    await roster(exchange)
    assert await api("GET", "instructor/nope/kevin", user=OUTSIDER) == (
        404,
        error("Course not found"),
    )


async def test_permission_is_checked_before_the_instructor_lookup(exchange, api):
    await roster(exchange)
    assert await api("GET", "instructor/c1/nobody", user=OUTSIDER) == (403, error(NOT_RELATED))


@pytest.mark.parametrize("target", ["nobody", STUDENT, OTHER_INSTRUCTOR])
async def test_reading_someone_who_does_not_teach_the_course_is_instructor_not_found(
    exchange, api, target
):
    await roster(exchange)
    assert await api("GET", f"instructor/c1/{target}", user=INSTRUCTOR) == (
        404,
        error("Instructor not found"),
    )


async def test_instructor_names_are_kept_per_course(exchange, api):
    await exchange.course("c1")
    await exchange.course("c2")
    await api(
        "POST", "instructor/c1/kevin", user=INSTRUCTOR, first_name="K", last_name="One", email=""
    )
    status, body = await api("GET", "instructor/c2/kevin", user=INSTRUCTOR)
    assert (status, body) == (200, {"success": True, **person("kevin")})
    status, body = await api("GET", "instructor/c1/kevin", user=INSTRUCTOR)
    assert (status, body) == (200, {"success": True, **person("kevin", "K", "One", "")})


# --- GET /instructors/<c> ---------------------------------------------------


@pytest.mark.parametrize("user", [ADMIN, INSTRUCTOR, STUDENT])
async def test_course_member_or_admin_lists_instructors(exchange, api, user):
    await roster(exchange)
    await api("POST", "instructor/c1/abby", user=ADMIN, **NAMES)
    assert await api("GET", "instructors/c1", user=user) == (
        200,
        {"success": True, "instructors": [person("kevin"), person("abby", **NAMES)]},
    )


@pytest.mark.parametrize("user", [OUTSIDER, OTHER_INSTRUCTOR])
async def test_outsider_cannot_list_instructors(exchange, api, user):
    await roster(exchange)
    assert await api("GET", "instructors/c1", user=user) == (403, error(NOT_RELATED))


async def test_listing_instructors_of_an_unknown_course_is_course_not_found(exchange, api):
    await roster(exchange)
    assert await api("GET", "instructors/nope", user=OUTSIDER) == (404, error("Course not found"))


async def test_course_without_instructors_lists_none(api):
    await api("POST", "course/c1", user=ADMIN)
    assert await api("GET", "instructors/c1", user=ADMIN) == (
        200,
        {"success": True, "instructors": []},
    )


async def test_instructors_are_listed_in_the_order_they_were_added(exchange, api):
    await exchange.course("c1", instructors=("zed", "amy"))
    await api("POST", "instructor/c1/bob", user=ADMIN, **NAMES)
    await api("POST", "instructor/c1/amy", user=ADMIN, first_name="A", last_name="", email="")
    assert [i["username"] for i in await instructors_of(api)] == ["zed", "amy", "bob"]


async def test_promoted_student_is_listed_after_the_instructors_added_before(exchange, api):
    await roster(exchange)
    await api("POST", "instructor/c1/abby", user=ADMIN, **NAMES)
    await api("POST", "instructor/c1/s1", user=ADMIN, **NAMES)
    assert [i["username"] for i in await instructors_of(api)] == ["kevin", "abby", "s1"]


# --- POST /instructor/<c>/<i> -----------------------------------------------


async def test_admin_adds_an_instructor_with_names(exchange, api):
    await roster(exchange)
    assert await api("POST", "instructor/c1/abby", user=ADMIN, **NAMES) == OK
    assert await instructors_of(api) == [person("kevin"), person("abby", **NAMES)]
    assert await courses_of(api, "abby") == ["c1"]
    status, _ = await api("GET", "students/c1", user="abby")
    assert status == 200


async def test_admin_adds_a_never_seen_user_with_empty_names(exchange, api):
    await roster(exchange)
    fields = {"first_name": "", "last_name": "", "email": ""}
    assert await api("POST", "instructor/c1/newcomer", user=ADMIN, **fields) == OK
    assert await api("GET", "instructor/c1/newcomer", user="newcomer") == (
        200,
        {"success": True, **person("newcomer", "", "", "")},
    )


async def test_admin_updates_another_instructors_names(exchange, api):
    await roster(exchange)
    assert await api("POST", "instructor/c1/kevin", user=ADMIN, **NAMES) == OK
    assert await instructors_of(api) == [person("kevin", **NAMES)]


async def test_admin_promoting_a_student_moves_them_out_of_the_students(exchange, api):
    await roster(exchange)
    assert await api("POST", "instructor/c1/s1", user=ADMIN, **NAMES) == OK
    assert await instructors_of(api) == [person("kevin"), person("s1", **NAMES)]
    assert await students_of(api) == [student("s2")]
    assert await api("GET", "student/c1/s1", user=INSTRUCTOR) == (
        404,
        error("Student not found"),
    )
    assert await courses_of(api, "s1") == ["c1"]
    # s1 now has instructor rights
    status, body = await api("GET", "students/c1", user="s1")
    assert (status, body) == (200, {"success": True, "students": [student("s2")]})


async def test_admin_may_teach_a_course_they_are_admin_of(exchange, api):
    await roster(exchange)
    assert await api("POST", f"instructor/c1/{ADMIN}", user=ADMIN, **NAMES) == OK
    assert await instructors_of(api) == [person("kevin"), person(ADMIN, **NAMES)]


async def test_instructor_updates_their_own_names(exchange, api):
    await roster(exchange)
    assert await api("POST", "instructor/c1/kevin", user=INSTRUCTOR, **NAMES) == OK
    assert await instructors_of(api) == [person("kevin", **NAMES)]
    fields = {"first_name": "Kev", "last_name": "", "email": "k@x"}
    assert await api("POST", "instructor/c1/kevin", user=INSTRUCTOR, **fields) == OK
    assert await instructors_of(api) == [person("kevin", "Kev", "", "k@x")]


async def test_instructor_cannot_modify_another_instructor(exchange, api):
    await exchange.course("c1", instructors=("kevin", "abby"))
    status, body = await api("POST", "instructor/c1/abby", user=INSTRUCTOR, **NAMES)
    assert (status, body) == (403, error(CANNOT_MODIFY_OTHERS))
    assert await instructors_of(api) == [person("kevin"), person("abby")]


@pytest.mark.parametrize("target", [OUTSIDER, "never-seen", OTHER_INSTRUCTOR])
async def test_instructor_cannot_add_a_new_instructor(exchange, api, target):
    await roster(exchange)
    status, body = await api("POST", f"instructor/c1/{target}", user=INSTRUCTOR, **NAMES)
    assert (status, body) == (403, error(CANNOT_MODIFY))
    assert await instructors_of(api) == [person("kevin")]
    assert "c1" not in await courses_of(api, target)


async def test_instructor_cannot_promote_a_student(exchange, api):
    await roster(exchange)
    status, body = await api("POST", "instructor/c1/s1", user=INSTRUCTOR, **NAMES)
    assert (status, body) == (403, error(CANNOT_MODIFY))
    assert await instructors_of(api) == [person("kevin")]
    assert await students_of(api) == [student("s1"), student("s2")]


@pytest.mark.parametrize(
    ("user", "target"),
    [
        (STUDENT, "kevin"),
        (STUDENT, STUDENT),
        (OTHER_STUDENT, "newcomer"),
        (OUTSIDER, "kevin"),
        (OUTSIDER, OUTSIDER),
        (OTHER_INSTRUCTOR, "kevin"),
        (OTHER_INSTRUCTOR, OTHER_INSTRUCTOR),
    ],
)
async def test_non_instructor_cannot_post_an_instructor(exchange, api, user, target):
    await roster(exchange)
    status, body = await api("POST", f"instructor/c1/{target}", user=user, **NAMES)
    assert (status, body) == (403, error(NOT_INSTRUCTOR))
    assert await instructors_of(api) == [person("kevin")]


async def test_course_lookup_comes_before_the_permission_check_on_post_instructor(exchange, api):
    await roster(exchange)
    status, body = await api("POST", "instructor/nope/s1", user=STUDENT)
    assert (status, body) == (404, error("Course not found"))


async def test_permission_check_comes_before_the_names_check_on_post_instructor(exchange, api):
    await roster(exchange)
    assert await api("POST", "instructor/c1/s1", user=STUDENT) == (403, error(NOT_INSTRUCTOR))


@pytest.mark.parametrize("target", ["abby", STUDENT, OUTSIDER])
async def test_names_check_comes_before_the_target_checks_on_post_instructor(exchange, api, target):
    await exchange.course("c1", instructors=("kevin", "abby"))
    await exchange.students()
    status, body = await api("POST", f"instructor/c1/{target}", user=INSTRUCTOR)
    assert (status, body) == (400, error("Please supply first name"))


MISSING_NAMES = [
    ({}, "Please supply first name"),
    ({"last_name": "L", "email": "e"}, "Please supply first name"),
    ({"first_name": "F"}, "Please supply last name"),
    ({"first_name": "F", "email": "e"}, "Please supply last name"),
    ({"first_name": "F", "last_name": "L"}, "Please supply email"),
]


@pytest.mark.parametrize(("fields", "message"), MISSING_NAMES)
async def test_instructor_names_are_checked_first_name_then_last_name_then_email(
    exchange, api, fields, message
):
    await roster(exchange)
    status, body = await api("POST", "instructor/c1/abby", user=ADMIN, **fields)
    assert (status, body) == (400, error(message))
    assert await instructors_of(api) == [person("kevin")]
    assert await courses_of(api, "abby") == []


@pytest.mark.parametrize(("fields", "message"), MISSING_NAMES)
async def test_instructor_updating_themself_must_supply_every_name(exchange, api, fields, message):
    await roster(exchange)
    await api("POST", "instructor/c1/kevin", user=INSTRUCTOR, **NAMES)
    status, body = await api("POST", "instructor/c1/kevin", user=INSTRUCTOR, **fields)
    assert (status, body) == (400, error(message))
    assert await instructors_of(api) == [person("kevin", **NAMES)]


async def test_admin_promotion_that_lacks_a_name_leaves_the_student_enrolled(exchange, api):
    await roster(exchange)
    status, body = await api("POST", "instructor/c1/s1", user=ADMIN, first_name="F", last_name="L")
    assert (status, body) == (400, error("Please supply email"))
    assert await students_of(api) == [student("s1"), student("s2")]
    assert await instructors_of(api) == [person("kevin")]


async def test_posting_an_instructor_to_an_unknown_course_is_course_not_found(api):
    assert await api("POST", "instructor/nope/kevin", user=ADMIN, **NAMES) == (
        404,
        error("Course not found"),
    )


# --- DELETE /instructor/<c>/<i> ---------------------------------------------


async def test_admin_removes_an_instructor(exchange, api):
    await exchange.course("c1", instructors=("kevin", "abby"))
    assert await api("DELETE", "instructor/c1/abby", user=ADMIN) == OK
    assert await instructors_of(api) == [person("kevin")]
    assert await courses_of(api, "abby") == []
    assert await api("GET", "instructor/c1/abby", user=INSTRUCTOR) == (
        404,
        error("Instructor not found"),
    )
    assert await api("GET", "instructors/c1", user="abby") == (403, error(NOT_RELATED))


async def test_last_instructor_can_be_removed_and_added_again(exchange, api):
    await roster(exchange)
    assert await api("DELETE", "instructor/c1/kevin", user=ADMIN) == OK
    assert await instructors_of(api) == []
    assert await api("POST", "instructor/c1/kevin", user=ADMIN, **NAMES) == OK
    assert await instructors_of(api) == [person("kevin", **NAMES)]
    assert await students_of(api) == [student("s1"), student("s2")]


async def test_removed_instructor_can_then_be_added_as_a_student(exchange, api):
    await exchange.course("c1", instructors=("kevin", "lawrence"))
    await api("DELETE", "instructor/c1/lawrence", user=ADMIN)
    assert await api("POST", "student/c1/lawrence", user=INSTRUCTOR, **NAMES) == OK
    assert await students_of(api) == [person("lawrence", **NAMES)]


@pytest.mark.parametrize("user", [INSTRUCTOR, STUDENT, OUTSIDER, OTHER_INSTRUCTOR])
async def test_non_admin_cannot_remove_an_instructor(exchange, api, user):
    await roster(exchange)
    assert await api("DELETE", "instructor/c1/kevin", user=user) == (403, error(NOT_ADMIN))
    assert await instructors_of(api) == [person("kevin")]


async def test_instructor_cannot_remove_themself(exchange, api):
    await roster(exchange)
    assert await api("DELETE", "instructor/c1/kevin", user=INSTRUCTOR) == (403, error(NOT_ADMIN))


async def test_not_admin_is_checked_before_the_course_lookup_on_delete_instructor(api):
    assert await api("DELETE", "instructor/nope/kevin", user=INSTRUCTOR) == (
        403,
        error(NOT_ADMIN),
    )


async def test_removing_an_instructor_of_an_unknown_course_is_course_not_found(api):
    assert await api("DELETE", "instructor/nope/kevin", user=ADMIN) == (
        404,
        error("Course not found"),
    )


@pytest.mark.parametrize("target", ["nobody", STUDENT, OTHER_INSTRUCTOR])
async def test_removing_someone_who_does_not_teach_the_course_is_instructor_not_found(
    exchange, api, target
):
    await roster(exchange)
    assert await api("DELETE", f"instructor/c1/{target}", user=ADMIN) == (
        404,
        error("Instructor not found"),
    )
    assert await instructors_of(api) == [person("kevin")]
    assert await students_of(api) == [student("s1"), student("s2")]


async def test_removed_instructor_keeps_their_submissions(exchange, api):
    await exchange.course("c1", instructors=("kevin", "abby"))
    await exchange.release()
    ts = await exchange.submit("abby")
    await api("DELETE", "instructor/c1/abby", user=ADMIN)
    status, body = await api("GET", "submissions/c1/a1", user=INSTRUCTOR)
    assert (status, body["submissions"]) == (200, [{"student_id": "abby", "timestamp": ts}])


# --- GET /student/<c>/<s> ---------------------------------------------------


@pytest.mark.parametrize("user", [ADMIN, INSTRUCTOR, STUDENT])
async def test_instructor_admin_or_the_student_reads_a_student_as_a_flat_entry(exchange, api, user):
    await roster(exchange)
    assert await api("GET", "student/c1/s1", user=user) == (
        200,
        {
            "success": True,
            "username": "s1",
            "first_name": "Fs1",
            "last_name": "Ls1",
            "email": "s1@x",
        },
    )


@pytest.mark.parametrize("user", [OTHER_STUDENT, OUTSIDER, OTHER_INSTRUCTOR])
async def test_others_cannot_read_a_student(exchange, api, user):
    await roster(exchange)
    assert await api("GET", "student/c1/s1", user=user) == (403, error(NOT_INSTRUCTOR))


@pytest.mark.parametrize("user", [OUTSIDER, INSTRUCTOR, OTHER_INSTRUCTOR])
async def test_non_student_asking_for_their_own_record_gets_student_not_found(exchange, api, user):
    await roster(exchange)
    assert await api("GET", f"student/c1/{user}", user=user) == (
        404,
        error("Student not found"),
    )


async def test_reading_an_unknown_student_is_student_not_found(exchange, api):
    await roster(exchange)
    assert await api("GET", "student/c1/nobody", user=INSTRUCTOR) == (
        404,
        error("Student not found"),
    )


async def test_course_lookup_comes_before_the_permission_check_on_get_student(exchange, api):
    await roster(exchange)
    assert await api("GET", "student/nope/s2", user=STUDENT) == (404, error("Course not found"))


async def test_permission_check_comes_before_the_student_lookup_on_get_student(exchange, api):
    await roster(exchange)
    assert await api("GET", "student/c1/nobody", user=STUDENT) == (403, error(NOT_INSTRUCTOR))


# --- POST /student/<c>/<s> --------------------------------------------------


@pytest.mark.parametrize("user", [INSTRUCTOR, ADMIN])
async def test_instructor_or_admin_adds_a_student(exchange, api, user):
    await roster(exchange)
    assert await api("POST", "student/c1/s3", user=user, **NAMES) == OK
    assert await students_of(api) == [student("s1"), student("s2"), person("s3", **NAMES)]


async def test_added_student_is_a_new_user_who_sees_the_course(exchange, api):
    await roster(exchange)
    await api("POST", "student/c1/newcomer", user=INSTRUCTOR, **NAMES)
    assert await courses_of(api, "newcomer") == ["c1"]
    assert await api("GET", "student/c1/newcomer", user="newcomer") == (
        200,
        {"success": True, **person("newcomer", **NAMES)},
    )


async def test_posting_an_existing_student_overwrites_their_names(exchange, api):
    await roster(exchange)
    assert await api("POST", "student/c1/s1", user=INSTRUCTOR, **NAMES) == OK
    assert await students_of(api) == [person("s1", **NAMES), student("s2")]


async def test_student_names_may_be_empty_strings(exchange, api):
    await roster(exchange)
    fields = {"first_name": "", "last_name": "", "email": ""}
    assert await api("POST", "student/c1/s3", user=INSTRUCTOR, **fields) == OK
    assert await api("GET", "student/c1/s3", user="s3") == (
        200,
        {"success": True, **person("s3", "", "", "")},
    )


async def test_student_names_may_be_sent_in_the_query_string(exchange, api):
    await roster(exchange)
    assert await api("POST", f"student/c1/s3?{urlencode(NAMES)}", user=INSTRUCTOR) == OK
    assert await students_of(api) == [student("s1"), student("s2"), person("s3", **NAMES)]


async def test_student_names_are_stripped_of_surrounding_whitespace(exchange, api):
    await roster(exchange)
    fields = {"first_name": "  Ada ", "last_name": "\tLovelace\n", "email": " ada@x "}
    assert await api("POST", "student/c1/s3", user=INSTRUCTOR, **fields) == OK
    assert (await students_of(api))[-1] == person("s3", **NAMES)


@pytest.mark.parametrize(
    ("user", "target"),
    [
        (STUDENT, STUDENT),
        (STUDENT, "newcomer"),
        (OUTSIDER, OUTSIDER),
        (OUTSIDER, "s1"),
        (OTHER_INSTRUCTOR, "newcomer"),
    ],
)
async def test_non_instructor_cannot_add_a_student(exchange, api, user, target):
    await roster(exchange)
    status, body = await api("POST", f"student/c1/{target}", user=user, **NAMES)
    assert (status, body) == (403, error(NOT_INSTRUCTOR))
    assert await students_of(api) == [student("s1"), student("s2")]


async def test_course_lookup_comes_before_the_permission_check_on_post_student(exchange, api):
    await roster(exchange)
    assert await api("POST", "student/nope/s1", user=STUDENT) == (404, error("Course not found"))


async def test_permission_check_comes_before_the_names_check_on_post_student(exchange, api):
    await roster(exchange)
    assert await api("POST", "student/c1/s1", user=STUDENT) == (403, error(NOT_INSTRUCTOR))


@pytest.mark.parametrize(("fields", "message"), MISSING_NAMES)
async def test_student_names_are_checked_first_name_then_last_name_then_email(
    exchange, api, fields, message
):
    await roster(exchange)
    status, body = await api("POST", "student/c1/s3", user=INSTRUCTOR, **fields)
    assert (status, body) == (400, error(message))
    assert await students_of(api) == [student("s1"), student("s2")]
    assert await courses_of(api, "s3") == []


async def test_updating_a_student_without_email_keeps_their_names(exchange, api):
    await roster(exchange)
    status, body = await api(
        "POST", "student/c1/s1", user=INSTRUCTOR, first_name="X", last_name="Y"
    )
    assert (status, body) == (400, error("Please supply email"))
    assert await students_of(api) == [student("s1"), student("s2")]


@pytest.mark.parametrize("user", [INSTRUCTOR, ADMIN])
async def test_instructor_cannot_be_added_as_a_student(exchange, api, user):
    await exchange.course("c1", instructors=("kevin", "abby"))
    for target in ("kevin", "abby"):
        status, body = await api("POST", f"student/c1/{target}", user=user, **NAMES)
        assert (status, body) == (409, error("Cannot add instructor as student"))
    assert await students_of(api) == []
    assert await instructors_of(api) == [person("kevin"), person("abby")]


async def test_names_check_comes_before_the_instructor_as_student_check(exchange, api):
    await roster(exchange)
    assert await api("POST", "student/c1/kevin", user=INSTRUCTOR) == (
        400,
        error("Please supply first name"),
    )


async def test_instructor_of_another_course_can_be_a_student_here(exchange, api):
    await roster(exchange)
    assert await api("POST", f"student/c1/{OTHER_INSTRUCTOR}", user=INSTRUCTOR, **NAMES) == OK
    assert await courses_of(api, OTHER_INSTRUCTOR) == ["c1", "c2"]


# --- DELETE /student/<c>/<s> ------------------------------------------------


@pytest.mark.parametrize("user", [INSTRUCTOR, ADMIN])
async def test_instructor_or_admin_removes_a_student(exchange, api, user):
    await roster(exchange)
    assert await api("DELETE", "student/c1/s1", user=user) == OK
    assert await students_of(api) == [student("s2")]
    assert await courses_of(api, "s1") == []
    assert await api("GET", "student/c1/s1", user="s1") == (404, error("Student not found"))
    assert await api("GET", "instructors/c1", user="s1") == (403, error(NOT_RELATED))


async def test_removed_student_keeps_their_submissions_in_the_submission_list(exchange, api):
    await exchange.setup()
    ts1 = await exchange.submit("s1")
    ts2 = await exchange.submit("s2")
    assert await api("DELETE", "student/c1/s1", user=INSTRUCTOR) == OK
    status, body = await api("GET", "submissions/c1/a1", user=INSTRUCTOR)
    assert status == 200
    assert body["submissions"] == [
        {"student_id": "s1", "timestamp": ts1},
        {"student_id": "s2", "timestamp": ts2},
    ]


async def test_removed_student_can_no_longer_submit(exchange, api):
    await exchange.setup()
    await api("DELETE", "student/c1/s1", user=INSTRUCTOR)
    status, body = await api("POST", "submission/c1/a1", user="s1", files="[]")
    assert (status, body) == (403, error(NOT_RELATED))


async def test_removed_student_can_be_added_again(exchange, api):
    await roster(exchange)
    await api("DELETE", "student/c1/s1", user=INSTRUCTOR)
    assert await api("POST", "student/c1/s1", user=INSTRUCTOR, **NAMES) == OK
    assert await students_of(api) == [student("s2"), person("s1", **NAMES)]


@pytest.mark.parametrize(
    ("user", "target"),
    [
        (STUDENT, STUDENT),
        (STUDENT, OTHER_STUDENT),
        (OUTSIDER, STUDENT),
        (OTHER_INSTRUCTOR, STUDENT),
    ],
)
async def test_non_instructor_cannot_remove_a_student(exchange, api, user, target):
    await roster(exchange)
    assert await api("DELETE", f"student/c1/{target}", user=user) == (403, error(NOT_INSTRUCTOR))
    assert await students_of(api) == [student("s1"), student("s2")]


async def test_course_lookup_comes_before_the_permission_check_on_delete_student(exchange, api):
    await roster(exchange)
    assert await api("DELETE", "student/nope/s1", user=STUDENT) == (
        404,
        error("Course not found"),
    )


async def test_permission_check_comes_before_the_student_lookup_on_delete_student(exchange, api):
    await roster(exchange)
    assert await api("DELETE", "student/c1/nobody", user=STUDENT) == (403, error(NOT_INSTRUCTOR))


@pytest.mark.parametrize("target", ["nobody", INSTRUCTOR, OUTSIDER])
async def test_removing_someone_who_is_not_a_student_is_student_not_found(exchange, api, target):
    await roster(exchange)
    assert await api("DELETE", f"student/c1/{target}", user=ADMIN) == (
        404,
        error("Student not found"),
    )
    assert await instructors_of(api) == [person("kevin")]
    assert await students_of(api) == [student("s1"), student("s2")]


async def test_student_can_be_removed_with_user_in_the_form_body(
    exchange, http_client, base_url, api
):
    """ngshare_exchange's course_management sends ``user`` in a DELETE's form body."""
    await roster(exchange)
    response = await http_client.fetch(
        base_url + "/api/student/c1/s1",
        method="DELETE",
        headers={"Content-Type": "application/x-www-form-urlencoded"},  # as requests sends it
        body=urlencode({"user": INSTRUCTOR}),
        allow_nonstandard_methods=True,
        raise_error=False,
    )
    assert (response.code, json.loads(response.body)) == OK
    assert await students_of(api) == [student("s2")]


# --- GET /students/<c> ------------------------------------------------------


@pytest.mark.parametrize("user", [INSTRUCTOR, ADMIN])
async def test_instructor_or_admin_lists_students(exchange, api, user):
    await roster(exchange)
    assert await api("GET", "students/c1", user=user) == (
        200,
        {"success": True, "students": [student("s1"), student("s2")]},
    )


@pytest.mark.parametrize("user", [STUDENT, OTHER_STUDENT, OUTSIDER, OTHER_INSTRUCTOR])
async def test_non_instructor_cannot_list_students(exchange, api, user):
    await roster(exchange)
    assert await api("GET", "students/c1", user=user) == (403, error(NOT_INSTRUCTOR))


async def test_student_cannot_list_students_but_may_read_instructors_and_own_record(exchange, api):
    await roster(exchange)
    assert await api("GET", "students/c1", user=STUDENT) == (403, error(NOT_INSTRUCTOR))
    assert (await api("GET", "instructors/c1", user=STUDENT))[0] == 200
    assert (await api("GET", "instructor/c1/kevin", user=STUDENT))[0] == 200
    assert (await api("GET", "student/c1/s1", user=STUDENT))[0] == 200


async def test_listing_students_of_an_unknown_course_is_course_not_found(exchange, api):
    await roster(exchange)
    assert await api("GET", "students/nope", user=STUDENT) == (404, error("Course not found"))


async def test_course_without_students_lists_none(exchange, api):
    await exchange.course()
    assert await api("GET", "students/c1", user=INSTRUCTOR) == (
        200,
        {"success": True, "students": []},
    )


async def test_students_are_listed_in_enrolment_order(exchange, api):
    await exchange.course()
    await api("POST", "student/c1/zoe", user=INSTRUCTOR, **NAMES)
    await post_students(
        api, json.dumps([entry("bob", "B", "B", "b@x"), entry("amy", "A", "A", "")])
    )
    await api("POST", "student/c1/carl", user=INSTRUCTOR, **NAMES)
    await api("POST", "student/c1/zoe", user=INSTRUCTOR, first_name="Z", last_name="", email="")
    assert [s["username"] for s in await students_of(api)] == ["zoe", "bob", "amy", "carl"]


# --- POST /students/<c> -----------------------------------------------------


@pytest.mark.parametrize("user", [INSTRUCTOR, ADMIN])
async def test_instructor_or_admin_enrols_students_in_bulk(exchange, api, user):
    await exchange.course()
    entries = [entry("s1", "A", "B", "a@x"), entry("s2", "", "", "")]
    assert await post_students(api, json.dumps(entries), user=user) == (
        200,
        {
            "success": True,
            "status": [{"username": "s1", "success": True}, {"username": "s2", "success": True}],
        },
    )
    assert await students_of(api) == [person("s1", "A", "B", "a@x"), person("s2", "", "", "")]


async def test_students_may_be_sent_in_the_query_string(exchange, api):
    await exchange.course()
    query = urlencode({"students": json.dumps([entry("amy", "A", "B", "a@x")])})
    assert await api("POST", f"students/c1?{query}", user=INSTRUCTOR) == (
        200,
        {"success": True, "status": [{"username": "amy", "success": True}]},
    )
    assert await students_of(api) == [person("amy", "A", "B", "a@x")]


async def test_bulk_enrolment_creates_unknown_users(exchange, api):
    await exchange.course()
    await post_students(api, json.dumps([entry("newcomer", "N", "C", "n@x")]))
    assert await courses_of(api, "newcomer") == ["c1"]
    assert await api("GET", "student/c1/newcomer", user="newcomer") == (
        200,
        {"success": True, **person("newcomer", "N", "C", "n@x")},
    )


async def test_bulk_enrolment_updates_existing_students_in_place(exchange, api):
    await roster(exchange)
    entries = [entry("s3", "F", "L", "e"), entry("s1", "New", "Name", "n@x")]
    status, body = await post_students(api, json.dumps(entries))
    assert (status, [s["success"] for s in body["status"]]) == (200, [True, True])
    assert await students_of(api) == [
        person("s1", "New", "Name", "n@x"),
        student("s2"),
        person("s3", "F", "L", "e"),
    ]


async def test_bulk_enrolment_reports_instructors_per_entry_in_request_order(exchange, api):
    await exchange.course("c1", instructors=("kevin", "abby"))
    entries = [
        entry("zed", "Z", "Z", "z@x"),
        entry("kevin", "K", "K", "k@x"),
        entry("amy", "A", "A", "a@x"),
        entry("abby", "B", "B", "b@x"),
    ]
    assert await post_students(api, json.dumps(entries)) == (
        200,
        {
            "success": True,
            "status": [
                {"username": "zed", "success": True},
                {
                    "username": "kevin",
                    "success": False,
                    "message": "Cannot add instructor as student",
                },
                {"username": "amy", "success": True},
                {
                    "username": "abby",
                    "success": False,
                    "message": "Cannot add instructor as student",
                },
            ],
        },
    )
    assert await students_of(api) == [
        person("zed", "Z", "Z", "z@x"),
        person("amy", "A", "A", "a@x"),
    ]
    assert await instructors_of(api) == [person("kevin"), person("abby")]


async def test_bulk_enrolment_of_only_instructors_still_succeeds(exchange, api):
    await roster(exchange)
    status, body = await post_students(
        api, json.dumps([entry("kevin", "K", "K", "k@x")]), user=ADMIN
    )
    assert (status, body) == (
        200,
        {
            "success": True,
            "status": [
                {
                    "username": "kevin",
                    "success": False,
                    "message": "Cannot add instructor as student",
                }
            ],
        },
    )
    assert await students_of(api) == [student("s1"), student("s2")]


async def test_bulk_enrolment_processes_a_repeated_username_twice_and_the_last_names_win(
    exchange, api
):
    await exchange.course()
    entries = [
        entry("amy", "First", "F", "f@x"),
        entry("bob", "B", "B", "b@x"),
        entry("amy", "Last", "L", "l@x"),
    ]
    status, body = await post_students(api, json.dumps(entries))
    assert (status, body["status"]) == (
        200,
        [
            {"username": "amy", "success": True},
            {"username": "bob", "success": True},
            {"username": "amy", "success": True},
        ],
    )
    assert await students_of(api) == [
        person("amy", "Last", "L", "l@x"),
        person("bob", "B", "B", "b@x"),
    ]


async def test_bulk_enrolment_ignores_extra_keys(exchange, api):
    await exchange.course()
    item = {**entry("amy", "A", "B", "a@x"), "id": 7, "note": None}
    assert (await post_students(api, json.dumps([item])))[0] == 200
    assert await students_of(api) == [person("amy", "A", "B", "a@x")]


@pytest.mark.parametrize("user", [STUDENT, OUTSIDER, OTHER_INSTRUCTOR])
async def test_non_instructor_cannot_enrol_students(exchange, api, user):
    await roster(exchange)
    status, body = await post_students(api, json.dumps([entry(user, "A", "B", "c")]), user=user)
    assert (status, body) == (403, error(NOT_INSTRUCTOR))
    assert await students_of(api) == [student("s1"), student("s2")]


async def test_course_lookup_comes_before_the_permission_check_on_bulk_enrolment(exchange, api):
    await roster(exchange)
    assert await api("POST", "students/nope", user=STUDENT) == (404, error("Course not found"))


async def test_permission_check_comes_before_the_students_checks(exchange, api):
    await roster(exchange)
    assert await api("POST", "students/c1", user=STUDENT) == (403, error(NOT_INSTRUCTOR))
    assert await post_students(api, "[", user=STUDENT) == (403, error(NOT_INSTRUCTOR))


async def test_missing_students_field_is_please_supply_students(exchange, api):
    await roster(exchange)
    assert await api("POST", "students/c1", user=INSTRUCTOR) == (
        400,
        error("Please supply students"),
    )


@pytest.mark.parametrize(
    ("students", "message"),
    [
        # empty is reported before JSON decoding, and an empty list after it
        ("", "Please supply students"),
        ("[]", "Please supply students"),
        ("[", "Students cannot be JSON decoded"),
        ("[{'username': 'a'}]", "Students cannot be JSON decoded"),
        ("not json", "Students cannot be JSON decoded"),
        # decodable JSON that is not a list of person entries
        ("{}", "Incorrect request format"),
        (
            '{"username": "a", "first_name": "A", "last_name": "B", "email": "e"}',
            "Incorrect request format",
        ),
        ('"amy"', "Incorrect request format"),
        ("5", "Incorrect request format"),
        ("null", "Incorrect request format"),
        ("[[]]", "Incorrect request format"),
        ('["amy"]', "Incorrect request format"),
        ("[null]", "Incorrect request format"),
        ("[{}]", "Incorrect request format"),
    ],
)
async def test_students_request_errors(exchange, api, students, message):
    await roster(exchange)
    assert await post_students(api, students) == (400, error(message))
    assert await students_of(api) == [student("s1"), student("s2")]


@pytest.mark.parametrize(
    "bad",
    [
        {"first_name": "A", "last_name": "B", "email": "e"},
        {"username": "amy", "last_name": "B", "email": "e"},
        {"username": "amy", "first_name": "A", "email": "e"},
        {"username": "amy", "first_name": "A", "last_name": "B"},
        {"username": 5, "first_name": "A", "last_name": "B", "email": "e"},
        {"username": "amy", "first_name": None, "last_name": "B", "email": "e"},
        {"username": "amy", "first_name": "A", "last_name": ["B"], "email": "e"},
        {"username": "amy", "first_name": "A", "last_name": "B", "email": None},
    ],
)
async def test_any_malformed_entry_fails_the_whole_request_and_enrols_nobody(exchange, api, bad):
    await roster(exchange)
    entries = [entry("s3", "F", "L", "e"), entry("s1", "New", "Name", "n@x"), bad]
    assert await post_students(api, json.dumps(entries)) == (
        400,
        error("Incorrect request format"),
    )
    assert await students_of(api) == [student("s1"), student("s2")]
    assert await courses_of(api, "s3") == []
    assert await courses_of(api, "amy") == []


async def test_malformed_entry_is_reported_even_after_an_instructor_entry(exchange, api):
    await roster(exchange)
    entries = [entry("kevin", "K", "K", "k"), {"username": "amy"}]
    assert await post_students(api, json.dumps(entries)) == (
        400,
        error("Incorrect request format"),
    )


async def test_whitespace_only_students_is_please_supply_students(exchange, api):
    await roster(exchange)
    assert await post_students(api, "  \n") == (400, error("Please supply students"))


# --- ids with spaces --------------------------------------------------------


async def test_course_and_student_ids_with_spaces_are_url_decoded(api):
    await api("POST", "course/NBG%20101", user=ADMIN, instructors='["prof x"]')
    assert await api("POST", "student/NBG%20101/jane%20doe", user="prof x", **NAMES) == OK
    await post_students(
        api, json.dumps([entry("john roe", "J", "R", "j@x")]), course="NBG%20101", user="prof x"
    )
    assert await students_of(api, "NBG%20101") == [
        person("jane doe", **NAMES),
        person("john roe", "J", "R", "j@x"),
    ]
    assert await courses_of(api, "jane doe") == ["NBG 101"]
    assert await api("GET", "student/NBG%20101/jane%20doe", user="jane doe") == (
        200,
        {"success": True, **person("jane doe", **NAMES)},
    )
    assert await api("GET", "instructor/NBG%20101/prof%20x", user="john roe") == (
        200,
        {"success": True, **person("prof x")},
    )
    assert await api("POST", "instructor/NBG%20101/prof%20x", user="prof x", **NAMES) == OK
    assert await api("DELETE", "student/NBG%20101/jane%20doe", user="prof x") == OK
    assert await api("DELETE", "instructor/NBG%20101/prof%20x", user=ADMIN) == OK
    assert await students_of(api, "NBG%20101") == [person("john roe", "J", "R", "j@x")]
    assert await instructors_of(api, "NBG%20101") == []
